#pragma once
#include <cstdint>

#include "vkseg/context.hpp"

namespace vkseg::ops {

// Workgroup size of the one-invocation-per-element shaders (flat_index() in common.glsl).
constexpr uint32_t k_flat_local_size = 64;

// Workgroups for `invocations` flat invocations, folded into x and y so large tensors stay
// within maxComputeWorkGroupCount[0].
struct FlatGrid {
  uint32_t x = 1, y = 1;
};
FlatGrid flat_grid(const DeviceInfo& info, uint64_t invocations,
                   uint32_t local_size = k_flat_local_size);

inline uint32_t ceil_div(uint64_t a, uint64_t b) { return uint32_t((a + b - 1) / b); }

}  // namespace vkseg::ops
