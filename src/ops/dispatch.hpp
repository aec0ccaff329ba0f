#pragma once
#include <algorithm>
#include <cstdint>
#include <string>

#include <vulkan/vulkan.h>

#include "ops/tensor.hpp"
#include "vk/buffer.hpp"
#include "vkseg/context.hpp"
#include "vkseg/precision.hpp"

namespace vkseg::ops {

// Workgroup size of the one-invocation-per-element shaders (flat_index() in common.glsl).
constexpr uint32_t k_flat_local_size = 64;

// Throws Error("<op>: ...") when `precision` is fp16 and the device lacks 16-bit storage buffers.
void require_precision(const Context& context, const char* op, Precision precision);
// The embedded shader that computes `shader` at `precision`: "<shader>" or "<shader>_fp16" (see
// cmake/Shaders.cmake), after require_precision.
std::string shader_variant(const Context& context, const char* op, const char* shader,
                           Precision precision);

// Workgroups for `invocations` flat invocations, folded into x and y so large tensors stay
// within maxComputeWorkGroupCount[0].
struct FlatGrid {
  uint32_t x = 1, y = 1;
};
FlatGrid flat_grid(const DeviceInfo& info, uint64_t invocations,
                   uint32_t local_size = k_flat_local_size);

// The format a shader reads activations of this element type (or precision) in through a
// uniform texel buffer (a samplerBuffer): R32F or R16F, each a format every Vulkan device
// supports there.
inline VkFormat activation_texel_format(DType type) {
  return type == DType::F16 ? VK_FORMAT_R16_SFLOAT : VK_FORMAT_R32_SFLOAT;
}
inline VkFormat activation_texel_format(Precision precision) {
  return activation_texel_format(storage_type(precision));
}
// The same with texels of 4 consecutive activations (RGBA32F or RGBA16F, also formats every
// device reads there), for shaders that fetch 4 at a time.
inline VkFormat activation_texel4_format(DType type) {
  return type == DType::F16 ? VK_FORMAT_R16G16B16A16_SFLOAT : VK_FORMAT_R32G32B32A32_SFLOAT;
}

// A range of `view` bound as a texel buffer: it starts at the aligned offset at or before
// element `first` and ends past element `first + count - 1`; `first_texel` is where element
// `first` lies in it. units_per_texel_window keeps it within maxTexelBufferElements.
struct TexelWindow {
  vk::BufferView view;
  uint32_t first_texel = 0;
};
TexelWindow texel_window(const DeviceInfo& info, const vk::BufferView& view, uint64_t first,
                         uint64_t count, uint32_t element_bytes);
// How many units of `unit_elements` elements one texel window holds (at least one).
uint64_t units_per_texel_window(const DeviceInfo& info, uint64_t unit_elements,
                                uint32_t element_bytes);
// Calls visit(first, count, window) for consecutive runs of the units begin .. end - 1 (of
// `unit_elements` elements each) of `view`, each run as many as one texel window holds: one
// dispatch per run for shaders that read a range of planes or channels.
template <class Visit>
void for_each_texel_window(const DeviceInfo& info, const vk::BufferView& view,
                           uint64_t unit_elements, uint32_t element_bytes, uint64_t begin,
                           uint64_t end, Visit visit) {
  const uint64_t step = units_per_texel_window(info, unit_elements, element_bytes);
  for (uint64_t first = begin, count = 0; first < end; first += count) {
    count = std::min(end - first, step);
    visit(first, count,
          texel_window(info, view, first * unit_elements, count * unit_elements, element_bytes));
  }
}

inline uint32_t ceil_div(uint64_t a, uint64_t b) { return uint32_t((a + b - 1) / b); }
inline uint32_t round_up(uint32_t v, uint32_t m) { return ceil_div(v, m) * m; }

// The offset alignment at which any range can be bound as a storage or a texel buffer (at
// least 256 bytes), and `bytes` rounded up to it.
uint64_t binding_alignment(const DeviceInfo& info);
inline uint64_t align_to_binding(const DeviceInfo& info, uint64_t bytes) {
  const uint64_t a = binding_alignment(info);
  return (bytes + a - 1) / a * a;
}

// Whether compute shaders can shuffle within groups of 8 lanes (subgroups of at least 8 with
// the shuffle operations): what the register-blocked and packed GEMMs use to share weights.
bool has_subgroup_shuffle(const Context& context);

}  // namespace vkseg::ops
