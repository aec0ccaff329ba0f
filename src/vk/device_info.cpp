// Queries what a physical device offers, for DeviceInfo and `vkseg devices`.
#include <fmt/format.h>

#include <cstring>
#include <vector>

#include "vk/check.hpp"
#include "vk/device_query.hpp"

namespace vkseg {

std::string api_version_string(uint32_t version) {
  return fmt::format("{}.{}.{}", VK_API_VERSION_MAJOR(version), VK_API_VERSION_MINOR(version),
                     VK_API_VERSION_PATCH(version));
}

namespace vk {

namespace {

const char* device_type_name(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
    default: return "other";
  }
}

}  // namespace

std::vector<std::string> device_extensions(VkPhysicalDevice physical_device) {
  uint32_t count = 0;
  check(vkEnumerateDeviceExtensionProperties(physical_device, nullptr, &count, nullptr),
        "vkEnumerateDeviceExtensionProperties");
  std::vector<VkExtensionProperties> props(count);
  check(vkEnumerateDeviceExtensionProperties(physical_device, nullptr, &count, props.data()),
        "vkEnumerateDeviceExtensionProperties");
  std::vector<std::string> names;
  for (const auto& p : props) names.emplace_back(p.extensionName);
  return names;
}

bool has_extension(const std::vector<std::string>& extensions, const char* name) {
  for (const auto& e : extensions) {
    if (e == name) return true;
  }
  return false;
}

int compute_queue_family(VkPhysicalDevice physical_device) {
  uint32_t count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(physical_device, &count, nullptr);
  std::vector<VkQueueFamilyProperties> families(count);
  vkGetPhysicalDeviceQueueFamilyProperties(physical_device, &count, families.data());
  int fallback = -1;
  for (uint32_t i = 0; i < count; ++i) {
    if (!(families[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
    if (families[i].timestampValidBits > 0) return int(i);
    if (fallback < 0) fallback = int(i);
  }
  return fallback;
}

DeviceInfo query_device_info(VkPhysicalDevice physical_device, uint32_t index,
                             int queue_family) {
  DeviceInfo info;
  info.index = index;

  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceSubgroupSizeControlProperties size_control{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES};
  VkPhysicalDeviceMaintenance3Properties maintenance3{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};

  const std::vector<std::string> extensions = device_extensions(physical_device);
  VkPhysicalDeviceProperties base;
  vkGetPhysicalDeviceProperties(physical_device, &base);
  const bool api12 = base.apiVersion >= VK_API_VERSION_1_2;
  const bool api13 = base.apiVersion >= VK_API_VERSION_1_3;
  const bool has_driver_props = api12 || has_extension(extensions, "VK_KHR_driver_properties");
  const bool has_size_control =
      api13 || has_extension(extensions, "VK_EXT_subgroup_size_control");

  props.pNext = &subgroup;
  subgroup.pNext = &maintenance3;
  void** tail = &maintenance3.pNext;
  if (has_driver_props) {
    *tail = &driver;
    tail = &driver.pNext;
  }
  if (has_size_control) {
    *tail = &size_control;
    tail = &size_control.pNext;
  }
  vkGetPhysicalDeviceProperties2(physical_device, &props);
  const VkPhysicalDeviceLimits& limits = props.properties.limits;

  info.name = props.properties.deviceName;
  info.type = device_type_name(props.properties.deviceType);
  info.vendor_id = props.properties.vendorID;
  info.device_id = props.properties.deviceID;
  info.api_version = props.properties.apiVersion;
  if (has_driver_props) {
    info.driver_name = driver.driverName;
    info.driver_info = driver.driverInfo;
  } else {
    info.driver_name = fmt::format("driver version {:#x}", props.properties.driverVersion);
  }
  info.subgroup_size = subgroup.subgroupSize;
  info.min_subgroup_size = has_size_control ? size_control.minSubgroupSize : subgroup.subgroupSize;
  info.max_subgroup_size = has_size_control ? size_control.maxSubgroupSize : subgroup.subgroupSize;
  info.max_shared_memory_bytes = limits.maxComputeSharedMemorySize;
  info.max_workgroup_invocations = limits.maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; ++i) info.max_workgroup_count[i] = limits.maxComputeWorkGroupCount[i];
  info.max_push_constant_bytes = limits.maxPushConstantsSize;
  info.max_storage_buffer_range = limits.maxStorageBufferRange;
  info.max_allocation_bytes = maintenance3.maxMemoryAllocationSize;
  info.min_storage_buffer_offset_alignment = limits.minStorageBufferOffsetAlignment;
  info.max_texel_buffer_elements = limits.maxTexelBufferElements;
  info.min_texel_buffer_offset_alignment = limits.minTexelBufferOffsetAlignment;
  info.timestamp_period_ns = limits.timestampPeriod;

  VkPhysicalDevice16BitStorageFeatures storage16{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDeviceShaderFloat16Int8Features float16{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  VkPhysicalDeviceSubgroupSizeControlFeatures size_control_features{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  features.pNext = &storage16;
  tail = &storage16.pNext;
  if (api12 || has_extension(extensions, "VK_KHR_shader_float16_int8")) {
    *tail = &float16;
    tail = &float16.pNext;
  }
  if (has_size_control) *tail = &size_control_features;
  vkGetPhysicalDeviceFeatures2(physical_device, &features);
  info.fp16_storage = storage16.storageBuffer16BitAccess;
  info.fp16_arithmetic = float16.shaderFloat16;
  info.int8_arithmetic = float16.shaderInt8;
  info.subgroup_size_control = size_control_features.subgroupSizeControl;

  VkPhysicalDeviceMemoryProperties memory;
  vkGetPhysicalDeviceMemoryProperties(physical_device, &memory);
  for (uint32_t h = 0; h < memory.memoryHeapCount; ++h) {
    if (memory.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) {
      info.device_local_bytes += memory.memoryHeaps[h].size;
    }
  }
  const VkMemoryPropertyFlags shared =
      VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
      VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  const bool integrated = props.properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU ||
                          props.properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  for (uint32_t t = 0; t < memory.memoryTypeCount && integrated; ++t) {
    if ((memory.memoryTypes[t].propertyFlags & shared) == shared) info.unified_memory = true;
  }

  if (queue_family < 0) queue_family = compute_queue_family(physical_device);
  if (queue_family >= 0) {
    uint32_t count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(physical_device, &count, nullptr);
    std::vector<VkQueueFamilyProperties> families(count);
    vkGetPhysicalDeviceQueueFamilyProperties(physical_device, &count, families.data());
    info.timestamps = families[queue_family].timestampValidBits > 0 && limits.timestampPeriod > 0;
  }
  info.push_descriptors = has_extension(extensions, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
  info.cooperative_matrix = has_extension(extensions, "VK_KHR_cooperative_matrix");
  info.cooperative_matrix_nv = has_extension(extensions, "VK_NV_cooperative_matrix");
  return info;
}

}  // namespace vk
}  // namespace vkseg
