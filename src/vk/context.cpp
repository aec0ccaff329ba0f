#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "vk/check.hpp"
#include "vk/context_state.hpp"
#include "vk/device_query.hpp"
#include "vk/pipeline_cache.hpp"
#include "vkseg/text.hpp"

namespace vkseg {

namespace {

constexpr const char* k_validation_layer = "VK_LAYER_KHRONOS_validation";
constexpr const char* k_install_hint =
    "install a Vulkan driver (for the CPU device on Debian: apt-get install mesa-vulkan-drivers)";

bool env_flag(const char* name) {
  const char* value = std::getenv(name);
  return value && *value && std::strcmp(value, "0") != 0;
}

VKAPI_ATTR VkBool32 VKAPI_CALL on_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT,
                                                VkDebugUtilsMessageTypeFlagsEXT,
                                                const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                void* user) {
  auto* state = static_cast<vk::ContextState*>(user);
  state->validation_messages++;
  std::string message = data && data->pMessage ? data->pMessage : "(no message)";
  if (state->on_validation_message) {
    state->on_validation_message(message);
  } else {
    std::fprintf(stderr, "vkseg: validation: %s\n", message.c_str());
  }
  return VK_FALSE;
}

bool instance_layer_present(const char* name) {
  uint32_t count = 0;
  vkEnumerateInstanceLayerProperties(&count, nullptr);
  std::vector<VkLayerProperties> layers(count);
  vkEnumerateInstanceLayerProperties(&count, layers.data());
  return std::any_of(layers.begin(), layers.end(),
                     [&](const VkLayerProperties& l) { return std::strcmp(l.layerName, name) == 0; });
}

bool instance_extension_present(const char* name, const char* layer = nullptr) {
  uint32_t count = 0;
  vkEnumerateInstanceExtensionProperties(layer, &count, nullptr);
  std::vector<VkExtensionProperties> exts(count);
  vkEnumerateInstanceExtensionProperties(layer, &count, exts.data());
  return std::any_of(exts.begin(), exts.end(), [&](const VkExtensionProperties& e) {
    return std::strcmp(e.extensionName, name) == 0;
  });
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance instance) {
  uint32_t count = 0;
  vk::check(vkEnumeratePhysicalDevices(instance, &count, nullptr), "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> devices(count);
  vk::check(vkEnumeratePhysicalDevices(instance, &count, devices.data()),
            "vkEnumeratePhysicalDevices");
  return devices;
}

int type_rank(VkPhysicalDevice device) {
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(device, &props);
  switch (props.deviceType) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
    default: return 4;
  }
}

uint32_t choose_device(const std::vector<VkPhysicalDevice>& devices,
                       std::optional<uint32_t> requested) {
  if (!requested) {
    if (const char* env = std::getenv("VKSEG_DEVICE"); env && *env) {
      // strtoul would take "-18446744073709551615" for device 1.
      const std::optional<uint64_t> value = parse_decimal<uint64_t>(env);
      if (!value || *value > 1000) {
        throw Error(fmt::format("VKSEG_DEVICE='{}' is not a device index (see `vkseg devices`)", env));
      }
      requested = uint32_t(*value);
    }
  }
  if (requested) {
    if (*requested >= devices.size()) {
      throw Error(fmt::format("device {} does not exist: {} Vulkan device(s) found (see `vkseg devices`)",
                              *requested, devices.size()));
    }
    if (vk::compute_queue_family(devices[*requested]) < 0) {
      throw Error(fmt::format("device {} has no compute queue", *requested));
    }
    return *requested;
  }
  int best = -1;
  for (uint32_t i = 0; i < devices.size(); ++i) {
    if (vk::compute_queue_family(devices[i]) < 0) continue;
    if (best < 0 || type_rank(devices[i]) < type_rank(devices[uint32_t(best)])) best = int(i);
  }
  if (best < 0) throw Error(fmt::format("no Vulkan device with a compute queue; {}", k_install_hint));
  return uint32_t(best);
}

VkDebugUtilsMessengerCreateInfoEXT messenger_info(vk::ContextState* state) {
  VkDebugUtilsMessengerCreateInfoEXT info{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                         VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT;
  info.pfnUserCallback = on_debug_message;
  info.pUserData = state;
  return info;
}

VkResult fault_from_environment() {
  const char* fault = std::getenv("VKSEG_INJECT_FAULT");
  if (!fault || !*fault) return VK_SUCCESS;
  if (std::strcmp(fault, "device_lost") == 0) return VK_ERROR_DEVICE_LOST;
  if (std::strcmp(fault, "out_of_device_memory") == 0) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
  throw Error(fmt::format("VKSEG_INJECT_FAULT='{}' is not device_lost or out_of_device_memory",
                          fault));
}

// The submission time limit: the option, else VKSEG_GPU_TIMEOUT, else 600 s.
uint64_t gpu_timeout_ns(const ContextOptions& options) {
  double seconds = options.gpu_timeout_seconds;
  if (seconds <= 0) {
    seconds = 600;
    if (const char* text = std::getenv("VKSEG_GPU_TIMEOUT"); text && *text) {
      seconds = parse_decimal<double>(text).value_or(0);
      if (!(seconds > 0) || seconds > 1e9) {
        throw Error(fmt::format("VKSEG_GPU_TIMEOUT='{}' is not a positive number of seconds", text));
      }
    }
  }
  return uint64_t(seconds * 1e9);
}

void finish_setup(vk::ContextState& s, const ContextOptions& options) {
  s.injected_fault = fault_from_environment();
  s.gpu_timeout_ns = gpu_timeout_ns(options);
  vkGetPhysicalDeviceMemoryProperties(s.physical_device, &s.memory);
  if (!options.cache_dir.empty()) {
    s.pipeline_cache_file = vk::pipeline_cache_path(options.cache_dir, s.physical_device);
    s.tuning_file = vk::tuning_cache_path(options.cache_dir, s.physical_device);
  }
  s.autotune = options.autotune;
  s.retune = options.retune;
  s.pipeline_cache = vk::load_pipeline_cache(s.device, s.physical_device, s.pipeline_cache_file);
  VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool_info.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pool_info.queueFamilyIndex = s.queue_family;
  vk::check(vkCreateCommandPool(s.device, &pool_info, nullptr, &s.command_pool),
            "vkCreateCommandPool");
}

}  // namespace

namespace vk {

VkInstance create_instance(bool validation, VkDebugUtilsMessengerCreateInfoEXT* messenger) {
  std::vector<const char*> layers;
  std::vector<const char*> extensions;
  VkInstanceCreateFlags flags = 0;
  if (instance_extension_present("VK_KHR_portability_enumeration")) {
    extensions.push_back("VK_KHR_portability_enumeration");
    flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
  }
  const VkValidationFeatureEnableEXT sync_validation =
      VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
  VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  const void* next = nullptr;
  if (validation) {
    if (!instance_layer_present(k_validation_layer)) {
      throw Error(
          "validation was requested but VK_LAYER_KHRONOS_validation is not installed "
          "(on Debian: apt-get install vulkan-validationlayers)");
    }
    layers.push_back(k_validation_layer);
    extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    if (messenger) next = messenger;
    if (instance_extension_present(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME, k_validation_layer)) {
      extensions.push_back(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
      features.enabledValidationFeatureCount = 1;
      features.pEnabledValidationFeatures = &sync_validation;
      features.pNext = next;
      next = &features;
    }
  }
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "vkseg";
  app.pEngineName = "vkseg";
  app.apiVersion = VK_API_VERSION_1_2;
  VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  info.pNext = next;
  info.flags = flags;
  info.pApplicationInfo = &app;
  info.enabledLayerCount = uint32_t(layers.size());
  info.ppEnabledLayerNames = layers.data();
  info.enabledExtensionCount = uint32_t(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();
  VkInstance instance = VK_NULL_HANDLE;
  VkResult r = vkCreateInstance(&info, nullptr, &instance);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER) {
    throw VulkanError(fmt::format("no Vulkan driver found; {}", k_install_hint), int(r));
  }
  check(r, "vkCreateInstance");
  return instance;
}

ContextState::~ContextState() {
  // A hung device may still be running work that uses these objects: leave them all alone.
  if (hung) return;
  if (device) {
    // vkseg's own submissions were each waited for by their recorders; an adopted device may be
    // busy with the application's work, which is none of vkseg's business.
    if (owns_device) vkDeviceWaitIdle(device);
    for (auto& [key, pipeline] : pipelines_) destroy_pipeline(device, *pipeline);
    if (command_pool) vkDestroyCommandPool(device, command_pool, nullptr);
    if (pipeline_cache) {
      save_pipeline_cache(device, pipeline_cache, pipeline_cache_file);
      vkDestroyPipelineCache(device, pipeline_cache, nullptr);
    }
    if (owns_device) vkDestroyDevice(device, nullptr);
  }
  if (messenger) {
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroy) destroy(instance, messenger, nullptr);
  }
  if (owns_instance && instance) vkDestroyInstance(instance, nullptr);
}

const Pipeline& ContextState::pipeline(const PipelineKey& key) {
  std::lock_guard lock(pipelines_mutex_);
  auto it = pipelines_.find(key);
  if (it == pipelines_.end()) {
    it = pipelines_.emplace(key, std::make_unique<Pipeline>(create_pipeline(*this, key))).first;
  }
  return *it->second;
}

VkCommandBuffer ContextState::allocate_command_buffer() {
  VkCommandBufferAllocateInfo info{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  info.commandPool = command_pool;
  info.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  info.commandBufferCount = 1;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  check(vkAllocateCommandBuffers(device, &info, &cmd), "vkAllocateCommandBuffers");
  return cmd;
}

void ContextState::free_command_buffer(VkCommandBuffer cmd) {
  vkFreeCommandBuffers(device, command_pool, 1, &cmd);
}

void ContextState::submit_and_wait(VkCommandBuffer cmd) {
  require_not_hung();
  VkFenceCreateInfo fence_info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkFence fence = VK_NULL_HANDLE;
  check(vkCreateFence(device, &fence_info, nullptr, &fence), "vkCreateFence");
  VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &cmd;
  VkResult r = injected(true);
  if (r == VK_SUCCESS) {
    std::lock_guard lock(*queue_mutex);
    r = vkQueueSubmit(queue, 1, &submit, fence);
  }
  if (r != VK_SUCCESS) {
    vkDestroyFence(device, fence, nullptr);
    check(r, "vkQueueSubmit");
  }
  wait(fence);  // a hung fence is leaked with the rest
  vkDestroyFence(device, fence, nullptr);
}

void ContextState::require_not_hung() const {
  if (hung) {
    throw VulkanError(fmt::format("the device did not finish its work within {:g} s: the driver "
                                  "or a shader hangs, or the work is too large for this device "
                                  "(try a smaller --size; VKSEG_GPU_TIMEOUT sets the limit in "
                                  "seconds)",
                                  double(gpu_timeout_ns) * 1e-9),
                      int(VK_TIMEOUT));
  }
}

void ContextState::wait(VkFence fence) {
  const VkResult r = vkWaitForFences(device, 1, &fence, VK_TRUE, gpu_timeout_ns);
  if (r == VK_TIMEOUT) {
    hung = true;
    require_not_hung();
  }
  check(r, "running commands on the device");
}

VkResult ContextState::injected(bool submission, uint64_t bytes) const {
  if (submission && injected_fault == VK_ERROR_DEVICE_LOST) return injected_fault;
  if (!submission && injected_fault == VK_ERROR_OUT_OF_DEVICE_MEMORY && bytes > (1u << 20)) {
    return injected_fault;
  }
  return VK_SUCCESS;
}

int ContextState::find_memory_type(uint32_t type_bits, VkMemoryPropertyFlags required,
                                   VkMemoryPropertyFlags preferred) const {
  int fallback = -1;
  for (uint32_t t = 0; t < memory.memoryTypeCount; ++t) {
    if (!(type_bits & (1u << t))) continue;
    const VkMemoryPropertyFlags flags = memory.memoryTypes[t].propertyFlags;
    if ((flags & required) != required) continue;
    if ((flags & preferred) == preferred) return int(t);
    if (fallback < 0) fallback = int(t);
  }
  return fallback;
}

}  // namespace vk

Context::Context(const ContextOptions& options) : state_(std::make_unique<vk::ContextState>()) {
  vk::ContextState& s = *state_;
  s.on_validation_message = options.on_validation_message;
  s.force_staging = options.force_staging;
  const bool validation = options.validation || env_flag("VKSEG_VALIDATION");
  VkDebugUtilsMessengerCreateInfoEXT debug_info = messenger_info(&s);
  s.instance = vk::create_instance(validation, &debug_info);
  s.owns_instance = true;
  if (validation) {
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(s.instance, "vkCreateDebugUtilsMessengerEXT"));
    if (!create) throw Error("the validation layer does not provide VK_EXT_debug_utils");
    vk::check(create(s.instance, &debug_info, nullptr, &s.messenger),
              "vkCreateDebugUtilsMessengerEXT");
  }

  const std::vector<VkPhysicalDevice> devices = physical_devices(s.instance);
  if (devices.empty()) throw Error(fmt::format("no Vulkan device found; {}", k_install_hint));
  const uint32_t index = choose_device(devices, options.device_index);
  s.physical_device = devices[index];
  s.queue_family = uint32_t(vk::compute_queue_family(s.physical_device));
  s.info = vk::query_device_info(s.physical_device, index, int(s.queue_family));
  if (s.info.api_version < VK_API_VERSION_1_1) {
    throw Error(fmt::format("device '{}' supports Vulkan {}; vkseg needs 1.1", s.info.name,
                            api_version_string(s.info.api_version)));
  }

  const std::vector<std::string> available = vk::device_extensions(s.physical_device);
  std::vector<const char*> extensions;
  if (s.info.push_descriptors) extensions.push_back(VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
  if (vk::has_extension(available, "VK_KHR_portability_subset")) {
    extensions.push_back("VK_KHR_portability_subset");
  }
  const bool api12 = s.info.api_version >= VK_API_VERSION_1_2;
  if (!api12 && vk::has_extension(available, "VK_KHR_shader_float16_int8")) {
    extensions.push_back("VK_KHR_shader_float16_int8");
  }

  VkPhysicalDevice16BitStorageFeatures storage16{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  storage16.storageBuffer16BitAccess = s.info.fp16_storage;
  VkPhysicalDeviceShaderFloat16Int8Features float16{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  float16.shaderFloat16 = s.info.fp16_arithmetic;
  float16.shaderInt8 = s.info.int8_arithmetic;
  if (s.info.fp16_arithmetic || s.info.int8_arithmetic) storage16.pNext = &float16;
  // Timeline semaphores, where the device has them, so applications can pass them to
  // Session::submit.
  VkPhysicalDeviceTimelineSemaphoreFeatures timeline{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES};
  if (api12) {
    VkPhysicalDeviceFeatures2 query{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    query.pNext = &timeline;
    vkGetPhysicalDeviceFeatures2(s.physical_device, &query);
    timeline.pNext = nullptr;
    if (timeline.timelineSemaphore) {
      timeline.pNext = storage16.pNext;
      storage16.pNext = &timeline;
      s.timeline_semaphores = true;
    }
  }

  const float priority = 1.0f;
  VkDeviceQueueCreateInfo queue_info{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  queue_info.queueFamilyIndex = s.queue_family;
  queue_info.queueCount = 1;
  queue_info.pQueuePriorities = &priority;
  VkDeviceCreateInfo device_info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  device_info.pNext = &storage16;
  device_info.queueCreateInfoCount = 1;
  device_info.pQueueCreateInfos = &queue_info;
  device_info.enabledExtensionCount = uint32_t(extensions.size());
  device_info.ppEnabledExtensionNames = extensions.data();
  vk::check(vkCreateDevice(s.physical_device, &device_info, nullptr, &s.device), "vkCreateDevice");
  s.owns_device = true;
  vkGetDeviceQueue(s.device, s.queue_family, 0, &s.queue);
  if (s.info.push_descriptors) {
    s.push_descriptor_fn = reinterpret_cast<PFN_vkCmdPushDescriptorSetKHR>(
        vkGetDeviceProcAddr(s.device, "vkCmdPushDescriptorSetKHR"));
  }
  finish_setup(s, options);
}

namespace {

struct EnabledFeatures {
  bool storage_buffer_16bit = false, shader_float16 = false, shader_int8 = false;
  bool subgroup_size_control = false, timeline_semaphore = false;
};

// The features an adopting application says it enabled, from its VkDeviceCreateInfo::pNext chain.
EnabledFeatures enabled_features(const void* chain) {
  EnabledFeatures f;
  for (auto* s = static_cast<const VkBaseInStructure*>(chain); s; s = s->pNext) {
    switch (s->sType) {
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES:
        f.storage_buffer_16bit |=
            reinterpret_cast<const VkPhysicalDeviceVulkan11Features*>(s)->storageBuffer16BitAccess;
        break;
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES:
        f.storage_buffer_16bit |=
            reinterpret_cast<const VkPhysicalDevice16BitStorageFeatures*>(s)->storageBuffer16BitAccess;
        break;
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES: {
        const auto* v12 = reinterpret_cast<const VkPhysicalDeviceVulkan12Features*>(s);
        f.shader_float16 |= v12->shaderFloat16;
        f.shader_int8 |= v12->shaderInt8;
        f.timeline_semaphore |= v12->timelineSemaphore;
        break;
      }
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES: {
        const auto* fi = reinterpret_cast<const VkPhysicalDeviceShaderFloat16Int8Features*>(s);
        f.shader_float16 |= fi->shaderFloat16;
        f.shader_int8 |= fi->shaderInt8;
        break;
      }
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES:
        f.timeline_semaphore |=
            reinterpret_cast<const VkPhysicalDeviceTimelineSemaphoreFeatures*>(s)->timelineSemaphore;
        break;
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES:
        f.subgroup_size_control |=
            reinterpret_cast<const VkPhysicalDeviceVulkan13Features*>(s)->subgroupSizeControl;
        break;
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES:
        f.subgroup_size_control |= reinterpret_cast<const VkPhysicalDeviceSubgroupSizeControlFeatures*>(s)
                                       ->subgroupSizeControl;
        break;
      default:
        break;
    }
  }
  return f;
}

}  // namespace

Context::Context(Adopt, const ExternalDevice& external, const ContextOptions& options)
    : state_(std::make_unique<vk::ContextState>()) {
  if (!external.instance || !external.physical_device || !external.device || !external.queue) {
    throw Error("adopting a device needs its VkInstance, VkPhysicalDevice, VkDevice and VkQueue");
  }
  vk::ContextState& s = *state_;
  s.on_validation_message = options.on_validation_message;
  s.force_staging = options.force_staging;
  s.instance = external.instance;
  s.physical_device = external.physical_device;
  s.device = external.device;
  s.queue = external.queue;
  s.queue_family = external.queue_family_index;
  uint32_t family_count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(s.physical_device, &family_count, nullptr);
  std::vector<VkQueueFamilyProperties> families(family_count);
  vkGetPhysicalDeviceQueueFamilyProperties(s.physical_device, &family_count, families.data());
  if (s.queue_family >= family_count ||
      !(families[s.queue_family].queueFlags & VK_QUEUE_COMPUTE_BIT)) {
    throw Error(fmt::format("queue family {} of the adopted device cannot run compute work",
                            s.queue_family));
  }
  const std::vector<VkPhysicalDevice> devices = physical_devices(s.instance);
  const auto found = std::find(devices.begin(), devices.end(), s.physical_device);
  const uint32_t index = found == devices.end() ? 0 : uint32_t(found - devices.begin());
  s.info = vk::query_device_info(s.physical_device, index, int(s.queue_family));
  // Only what the application enabled may be used: features vkseg cannot see are assumed off.
  const EnabledFeatures enabled = enabled_features(external.enabled_features);
  s.info.fp16_storage = s.info.fp16_storage && enabled.storage_buffer_16bit;
  s.info.fp16_arithmetic = s.info.fp16_arithmetic && enabled.shader_float16;
  s.info.int8_arithmetic = s.info.int8_arithmetic && enabled.shader_int8;
  s.info.subgroup_size_control = s.info.subgroup_size_control && enabled.subgroup_size_control;
  s.timeline_semaphores = enabled.timeline_semaphore;
  if (external.queue_mutex) s.queue_mutex = external.queue_mutex;
  s.info.push_descriptors = std::find(external.enabled_device_extensions.begin(),
                                      external.enabled_device_extensions.end(),
                                      VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME) !=
                            external.enabled_device_extensions.end();
  if (s.info.push_descriptors) {
    s.push_descriptor_fn = reinterpret_cast<PFN_vkCmdPushDescriptorSetKHR>(
        vkGetDeviceProcAddr(s.device, "vkCmdPushDescriptorSetKHR"));
  }
  finish_setup(s, options);
}

std::unique_ptr<Context> Context::adopt(const ExternalDevice& external,
                                        const ContextOptions& options) {
  return std::unique_ptr<Context>(new Context(Adopt{}, external, options));
}

Context::~Context() = default;

const DeviceInfo& Context::info() const { return state_->info; }
VkInstance Context::instance() const { return state_->instance; }
VkPhysicalDevice Context::physical_device() const { return state_->physical_device; }
VkDevice Context::device() const { return state_->device; }
VkQueue Context::queue() const { return state_->queue; }
uint32_t Context::queue_family_index() const { return state_->queue_family; }
bool Context::owns_device() const { return state_->owns_device; }
uint64_t Context::validation_message_count() const { return state_->validation_messages; }
std::vector<TuningRecord> Context::tuning_records() const {
  std::lock_guard lock(state_->tuning_mutex);
  return state_->tuning_records;
}
uint64_t Context::allocated_device_bytes() const { return state_->allocated_bytes; }
uint64_t Context::peak_device_bytes() const { return state_->peak_allocated_bytes; }
void Context::reset_peak_memory() { state_->peak_allocated_bytes = state_->allocated_bytes.load(); }

std::string default_cache_dir() { return vk::default_cache_dir(); }

std::vector<DeviceInfo> list_devices() {
  VkInstance instance = vk::create_instance(false, nullptr);
  std::vector<DeviceInfo> result;
  try {
    const std::vector<VkPhysicalDevice> devices = physical_devices(instance);
    for (uint32_t i = 0; i < devices.size(); ++i) {
      result.push_back(vk::query_device_info(devices[i], i, -1));
    }
  } catch (...) {
    vkDestroyInstance(instance, nullptr);
    throw;
  }
  vkDestroyInstance(instance, nullptr);
  return result;
}

}  // namespace vkseg
