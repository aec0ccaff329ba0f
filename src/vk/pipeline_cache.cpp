#include "vk/pipeline_cache.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "io/file_io.hpp"
#include "vk/check.hpp"
#include "vk/shader_registry.hpp"

namespace vkseg::vk {

namespace {

VkPhysicalDeviceProperties properties(VkPhysicalDevice physical_device) {
  VkPhysicalDeviceProperties p;
  vkGetPhysicalDeviceProperties(physical_device, &p);
  return p;
}

// The header every pipeline cache starts with (VkPipelineCacheHeaderVersionOne).
bool matches_device(const std::vector<char>& data, const VkPhysicalDeviceProperties& p) {
  VkPipelineCacheHeaderVersionOne header;
  if (data.size() < sizeof header) return false;
  std::memcpy(&header, data.data(), sizeof header);
  return header.headerSize >= sizeof header && header.headerSize <= data.size() &&
         header.headerVersion == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
         header.vendorID == p.vendorID && header.deviceID == p.deviceID &&
         std::memcmp(header.pipelineCacheUUID, p.pipelineCacheUUID, VK_UUID_SIZE) == 0;
}

}  // namespace

std::string default_cache_dir() {
  if (const char* dir = std::getenv("VKSEG_CACHE_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    return (std::filesystem::path(xdg) / "vkseg").string();
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return (std::filesystem::path(home) / ".cache" / "vkseg").string();
  }
  return {};
}

namespace {

// vendor-device-driver version-pipeline cache UUID: what makes compiled code and timings valid.
std::string device_key(VkPhysicalDevice physical_device) {
  const VkPhysicalDeviceProperties p = properties(physical_device);
  std::string uuid;
  for (uint8_t b : p.pipelineCacheUUID) uuid += fmt::format("{:02x}", b);
  return fmt::format("{:04x}-{:04x}-{:x}-{}", p.vendorID, p.deviceID, p.driverVersion, uuid);
}

}  // namespace

std::string pipeline_cache_path(const std::string& dir, VkPhysicalDevice physical_device) {
  return (std::filesystem::path(dir) / ("pipelines-" + device_key(physical_device) + ".bin"))
      .string();
}

// FNV-1a over every embedded shader's name and SPIR-V: choices timed with other shaders (another
// vkseg version) are not reused.
std::string shaders_digest() {
  uint64_t h = 14695981039346656037ull;
  auto mix = [&](const void* data, size_t bytes) {
    for (size_t i = 0; i < bytes; ++i) h = (h ^ static_cast<const uint8_t*>(data)[i]) * 1099511628211ull;
  };
  for (const EmbeddedShader& shader : embedded_shaders()) {
    mix(shader.name, std::strlen(shader.name));
    mix(shader.words, shader.word_count * sizeof(uint32_t));
  }
  return fmt::format("{:016x}", h);
}

std::string tuning_cache_path(const std::string& dir, VkPhysicalDevice physical_device) {
  static const std::string digest = shaders_digest();
  return (std::filesystem::path(dir) /
          ("conv2d-tuning-" + device_key(physical_device) + "-" + digest + ".json"))
      .string();
}

VkPipelineCache load_pipeline_cache(VkDevice device, VkPhysicalDevice physical_device,
                                    const std::string& path) {
  std::vector<char> data;
  if (!path.empty()) {
    std::ifstream in(path, std::ios::binary);
    if (in) data.assign(std::istreambuf_iterator<char>(in), {});
    if (!matches_device(data, properties(physical_device))) data.clear();
  }
  VkPipelineCacheCreateInfo info{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  info.initialDataSize = data.size();
  info.pInitialData = data.empty() ? nullptr : data.data();
  VkPipelineCache cache = VK_NULL_HANDLE;
  if (vkCreatePipelineCache(device, &info, nullptr, &cache) == VK_SUCCESS) return cache;
  info.initialDataSize = 0;  // a driver that rejects the data still gets an empty cache
  info.pInitialData = nullptr;
  check(vkCreatePipelineCache(device, &info, nullptr, &cache), "vkCreatePipelineCache");
  return cache;
}

void save_pipeline_cache(VkDevice device, VkPipelineCache cache, const std::string& path) {
  size_t size = 0;
  if (path.empty() || vkGetPipelineCacheData(device, cache, &size, nullptr) != VK_SUCCESS) return;
  std::vector<char> data(size);
  if (vkGetPipelineCacheData(device, cache, &size, data.data()) != VK_SUCCESS) return;
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), error);
  try {
    io::write_file_atomically(path, {reinterpret_cast<const uint8_t*>(data.data()), size});
  } catch (const Error&) {
    // The cache only saves time later; a run that cannot write it has lost nothing.
  }
}

}  // namespace vkseg::vk
