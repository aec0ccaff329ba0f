#pragma once
#include <vulkan/vulkan.h>

#include <string_view>

#include "vkseg/error.hpp"

namespace vkseg::vk {

const char* result_name(VkResult result);

// Throws VulkanError "<what> failed: VK_ERROR_..." (with a hint for the common user-fixable cases).
[[noreturn]] void throw_vulkan_error(std::string_view what, VkResult result);

inline void check(VkResult result, std::string_view what) {
  if (result != VK_SUCCESS) throw_vulkan_error(what, result);
}

}  // namespace vkseg::vk
