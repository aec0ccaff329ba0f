#pragma once
#include <vulkan/vulkan.h>

#include <string>
#include <vector>

#include "vkseg/context.hpp"

namespace vkseg::vk {

std::vector<std::string> device_extensions(VkPhysicalDevice physical_device);
bool has_extension(const std::vector<std::string>& extensions, const char* name);
// The compute queue family to use: one that writes timestamps if any does; -1 if none computes.
int compute_queue_family(VkPhysicalDevice physical_device);
// queue_family < 0: use compute_queue_family().
DeviceInfo query_device_info(VkPhysicalDevice physical_device, uint32_t index, int queue_family);

// A VkInstance for enumeration and for Contexts that own their device.
VkInstance create_instance(bool validation, VkDebugUtilsMessengerCreateInfoEXT* messenger_info);

}  // namespace vkseg::vk
