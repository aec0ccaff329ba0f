#version 450
// vkseg: variants fp32 fp16
#extension GL_EXT_control_flow_attributes : enable
// Global average or max pooling (NCHW -> NC11). A plane is reduced by `lanes` invocations (a
// power of two, at most the workgroup size): each combines the plane's elements `lanes` apart
// into four partial results (independent chains, and shorter ones for the sum's rounding), then
// a tree in shared memory combines the lanes. A workgroup reduces workgroup size / lanes planes
// side by side. Only barriers order the steps, so any subgroup size works. The input is a texel
// buffer: on a CPU device (lavapipe) a texel fetch is one gather where a storage-buffer load is a
// loop over lanes, and there the host gives each plane one lane, which leaves one barrier.
#include "common.glsl"

layout(constant_id = 3) const bool MAX = false;

// A dispatch reduces consecutive planes (image * channels + channel).
layout(push_constant) uniform Push {
  uint planes;        // planes of this dispatch
  uint plane_size;    // h * w
  uint lanes;         // invocations per plane
  uint input_first;   // the texel of the first plane
  uint output_plane;  // the first one's output plane
} p;

layout(binding = 0) uniform samplerBuffer x;  // the input (R32F or R16F texels)
layout(std430, binding = 1) writeonly buffer Output { sfloat y[]; };

shared float partial[gl_WorkGroupSize.x];

// max() leaves NaN handling undefined; once a is NaN, nothing compares greater.
float combine(float a, float b) { return MAX ? (b > a || isnan(b) ? b : a) : a + b; }

void main() {
  const uint local = gl_LocalInvocationID.x;
  const uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  const uint plane = group * (gl_WorkGroupSize.x / p.lanes) + local / p.lanes;
  const uint lane = local % p.lanes;
  const float identity = MAX ? uintBitsToFloat(0xff800000u) : 0.0;  // -inf or 0
  float acc[4] = float[4](identity, identity, identity, identity);
  if (plane < p.planes) {
    const int base = int(p.input_first + plane * p.plane_size);
    const uint stride = 4 * p.lanes;
    uint k = lane;
    for (; k + 3 * p.lanes < p.plane_size; k += stride) {
      [[unroll]] for (uint j = 0; j < 4; ++j) {
        acc[j] = combine(acc[j], texelFetch(x, base + int(k + j * p.lanes)).x);
      }
    }
    for (; k < p.plane_size; k += p.lanes) acc[0] = combine(acc[0], texelFetch(x, base + int(k)).x);
  }
  partial[local] = combine(combine(acc[0], acc[1]), combine(acc[2], acc[3]));
  barrier();
  // p.lanes is uniform, so every invocation reaches every barrier.
  for (uint step = p.lanes / 2; step > 0; step /= 2) {
    if (lane < step) partial[local] = combine(partial[local], partial[local + step]);
    barrier();
  }
  if (lane == 0 && plane < p.planes) {
    y[p.output_plane + plane] =
        sfloat(MAX ? partial[local] : partial[local] / float(p.plane_size));
  }
}
