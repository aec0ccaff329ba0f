#pragma once
#include <vulkan/vulkan.h>

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

namespace vkseg::vk {

// Identifies one compute pipeline. Every shader declares its workgroup size with
// local_size_{x,y,z}_id = 0, 1, 2, so specialization[0..2] is the workgroup size and the rest are
// the shader's own constants (constant_id 3, 4, ...), each 32 bits (int, uint or float bits).
struct PipelineKey {
  std::string shader;
  std::vector<uint32_t> specialization;
  uint32_t binding_count = 0;  // buffers at bindings 0..n-1 of set 0: storage buffers, except
  uint32_t push_bytes = 0;
  uint32_t texel_bindings = 0;  // bit i set: binding i is a uniform texel buffer
  auto operator<=>(const PipelineKey&) const = default;
};

struct Pipeline {
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  uint32_t binding_count = 0;
  uint32_t texel_bindings = 0;
  uint32_t push_bytes = 0;
  uint32_t local_size[3] = {1, 1, 1};
  std::string name;
};

class ContextState;
Pipeline create_pipeline(ContextState& state, const PipelineKey& key);
void destroy_pipeline(VkDevice device, Pipeline& pipeline);

inline uint32_t float_bits(float value) {
  uint32_t bits;
  static_assert(sizeof bits == sizeof value);
  __builtin_memcpy(&bits, &value, sizeof bits);
  return bits;
}

}  // namespace vkseg::vk
