#pragma once
#include <cstdint>
#include <string>

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

inline uint32_t ceil_div(uint64_t a, uint64_t b) { return uint32_t((a + b - 1) / b); }

}  // namespace vkseg::ops
