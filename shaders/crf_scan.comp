#version 450
// Exclusive prefix sum of `count` uint32 values in three dispatches (MODE 0, 1, 2): each
// workgroup scans a block of 1024 in shared memory and stores its total; one workgroup scans
// the totals; every block adds its total's prefix. Used to lay out the dense CRF's per-vertex
// splat lists.
#include "common.glsl"

layout(constant_id = 3) const uint MODE = 0;

layout(push_constant) uniform Push {
  uint count, blocks;
} p;

layout(std430, binding = 0) buffer Values { uint values[]; };  // scanned in place
layout(std430, binding = 1) buffer Blocks { uint block_sums[]; };

const uint LANES = 256;  // gl_WorkGroupSize.x, set by the host
const uint PER_LANE = 4;
shared uint lane_sums[LANES];

// Exclusive scan of lane_sums; returns the total.
uint scan_lanes(uint lane) {
  for (uint stride = 1u; stride < LANES; stride *= 2u) {
    barrier();
    const uint add = lane >= stride ? lane_sums[lane - stride] : 0u;
    barrier();
    lane_sums[lane] += add;
  }
  barrier();
  const uint total = lane_sums[LANES - 1u];
  barrier();
  return total;
}

void main() {
  const uint lane = gl_LocalInvocationID.x;
  if (MODE == 1u) {
    uint carry = 0u;
    for (uint base = 0u; base < p.blocks; base += LANES) {
      const uint i = base + lane;
      const uint v = i < p.blocks ? block_sums[i] : 0u;
      lane_sums[lane] = v;
      const uint total = scan_lanes(lane);
      if (i < p.blocks) block_sums[i] = carry + lane_sums[lane] - v;
      carry += total;
      barrier();
    }
    return;
  }
  const uint block = gl_WorkGroupID.x;
  const uint first = (block * LANES + lane) * PER_LANE;
  if (MODE == 2u) {
    for (uint k = 0u; k < PER_LANE; ++k) {
      if (first + k < p.count) values[first + k] += block_sums[block];
    }
    return;
  }
  uint local[PER_LANE];
  uint sum = 0u;
  for (uint k = 0u; k < PER_LANE; ++k) {
    local[k] = first + k < p.count ? values[first + k] : 0u;
    sum += local[k];
  }
  lane_sums[lane] = sum;
  const uint total = scan_lanes(lane);
  uint running = lane_sums[lane] - sum;
  for (uint k = 0u; k < PER_LANE; ++k) {
    if (first + k < p.count) values[first + k] = running;
    running += local[k];
  }
  if (lane == 0u) block_sums[block] = total;
}
