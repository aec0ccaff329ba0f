#include "vk/check.hpp"

#include <fmt/format.h>

namespace vkseg::vk {

const char* result_name(VkResult result) {
  switch (result) {
#define VKSEG_RESULT(name) \
  case name:               \
    return #name;
    VKSEG_RESULT(VK_SUCCESS)
    VKSEG_RESULT(VK_NOT_READY)
    VKSEG_RESULT(VK_TIMEOUT)
    VKSEG_RESULT(VK_INCOMPLETE)
    VKSEG_RESULT(VK_ERROR_OUT_OF_HOST_MEMORY)
    VKSEG_RESULT(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    VKSEG_RESULT(VK_ERROR_INITIALIZATION_FAILED)
    VKSEG_RESULT(VK_ERROR_DEVICE_LOST)
    VKSEG_RESULT(VK_ERROR_MEMORY_MAP_FAILED)
    VKSEG_RESULT(VK_ERROR_LAYER_NOT_PRESENT)
    VKSEG_RESULT(VK_ERROR_EXTENSION_NOT_PRESENT)
    VKSEG_RESULT(VK_ERROR_FEATURE_NOT_PRESENT)
    VKSEG_RESULT(VK_ERROR_INCOMPATIBLE_DRIVER)
    VKSEG_RESULT(VK_ERROR_TOO_MANY_OBJECTS)
    VKSEG_RESULT(VK_ERROR_FORMAT_NOT_SUPPORTED)
    VKSEG_RESULT(VK_ERROR_FRAGMENTED_POOL)
    VKSEG_RESULT(VK_ERROR_OUT_OF_POOL_MEMORY)
    VKSEG_RESULT(VK_ERROR_INVALID_EXTERNAL_HANDLE)
    VKSEG_RESULT(VK_ERROR_FRAGMENTATION)
    VKSEG_RESULT(VK_PIPELINE_COMPILE_REQUIRED)
#undef VKSEG_RESULT
    default:
      return "unknown VkResult";
  }
}

void throw_vulkan_error(std::string_view what, VkResult result) {
  std::string hint;
  switch (result) {
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
    case VK_ERROR_OUT_OF_HOST_MEMORY:
      hint = " (try a smaller input size or batch)";
      break;
    case VK_ERROR_DEVICE_LOST:
      hint = " (the GPU driver reset the device; results are lost)";
      break;
    case VK_ERROR_INCOMPATIBLE_DRIVER:
      hint = " (no usable Vulkan driver; on Debian: apt-get install mesa-vulkan-drivers)";
      break;
    default:
      break;
  }
  throw VulkanError(fmt::format("{} failed: {}{}", what, result_name(result), hint), int(result));
}

}  // namespace vkseg::vk
