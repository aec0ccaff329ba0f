#version 450
// vkseg: variants fp32 fp16
// Global average or max pooling (NCHW -> NC11). A plane is reduced by `lanes` invocations (a
// power of two, at most the workgroup size): each combines the plane's elements `lanes` apart,
// then a tree in shared memory combines the lanes. A workgroup reduces workgroup size / lanes
// planes side by side. Only barriers order the steps, so any subgroup size works.
#include "common.glsl"

layout(constant_id = 3) const bool MAX = false;

layout(push_constant) uniform Push {
  uint planes;      // n * c
  uint plane_size;  // h * w
  uint lanes;       // invocations per plane
} p;

layout(std430, binding = 0) readonly buffer Input { sfloat x[]; };
layout(std430, binding = 1) writeonly buffer Output { sfloat y[]; };

shared float partial[gl_WorkGroupSize.x];

// max() leaves NaN handling undefined; once a is NaN, nothing compares greater.
float combine(float a, float b) { return MAX ? (b > a || isnan(b) ? b : a) : a + b; }

void main() {
  const uint local = gl_LocalInvocationID.x;
  const uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  const uint plane = group * (gl_WorkGroupSize.x / p.lanes) + local / p.lanes;
  const uint lane = local % p.lanes;
  float acc = MAX ? uintBitsToFloat(0xff800000u) : 0.0;  // -inf or 0: the identity
  if (plane < p.planes) {
    const uint base = plane * p.plane_size;
    for (uint k = lane; k < p.plane_size; k += p.lanes) acc = combine(acc, float(x[base + k]));
  }
  partial[local] = acc;
  barrier();
  // p.lanes is uniform, so every invocation reaches every barrier.
  for (uint step = p.lanes / 2; step > 0; step /= 2) {
    if (lane < step) partial[local] = combine(partial[local], partial[local + step]);
    barrier();
  }
  if (lane == 0 && plane < p.planes) {
    y[plane] = sfloat(MAX ? partial[local] : partial[local] / float(p.plane_size));
  }
}
