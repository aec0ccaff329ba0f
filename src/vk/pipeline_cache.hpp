#pragma once
#include <vulkan/vulkan.h>

#include <string>

#include "vkseg/context.hpp"

namespace vkseg::vk {

// The on-disk VkPipelineCache, so a second process skips shader compilation. One file per
// device and driver: <dir>/pipelines-<vendor>-<device>-<driver version>-<pipelineCacheUUID>.bin.
std::string pipeline_cache_path(const std::string& dir, VkPhysicalDevice physical_device);
// Where conv2d autotuning results for the same device and driver live in `dir`.
std::string tuning_cache_path(const std::string& dir, VkPhysicalDevice physical_device);

// Creates the cache from the file when it holds data for this very device and driver (checked
// against the header Vulkan defines); otherwise, or when the file is missing or unreadable, an
// empty cache. Never fails because of the file.
VkPipelineCache load_pipeline_cache(VkDevice device, VkPhysicalDevice physical_device,
                                    const std::string& path);

// Writes the cache through a temporary file; a failure is ignored (the cache is an optimisation).
void save_pipeline_cache(VkDevice device, VkPipelineCache cache, const std::string& path);

// The directory for the cache: VKSEG_CACHE_DIR, else $XDG_CACHE_HOME/vkseg, else ~/.cache/vkseg.
std::string default_cache_dir();

}  // namespace vkseg::vk
