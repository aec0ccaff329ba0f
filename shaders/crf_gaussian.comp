#version 450
// Dense CRF smoothness kernel, one axis of the exact separable Gaussian
// exp(-d^2 / (2 std^2)), truncated where it falls below exp(-8) (4 standard deviations) and cut
// at the image border. AXIS 0 filters along rows, 1 along columns. One invocation per pixel and
// four classes.
#include "common.glsl"

layout(constant_id = 3) const uint AXIS = 0;

layout(push_constant) uniform Push {
  uint width, height, quads, radius;
  float inv_two_var;  // 1 / (2 std^2)
} p;

layout(std430, binding = 0) readonly buffer Input { vec4 x[]; };    // pixels x quads
layout(std430, binding = 1) writeonly buffer Output { vec4 y[]; };

void main() {
  const uint i = flat_index();
  if (i >= p.width * p.height * p.quads) return;
  const uint pixel = i / p.quads, quad = i % p.quads;
  const int px = int(pixel % p.width), py = int(pixel / p.width);
  const int position = AXIS == 0u ? px : py;
  const int extent = int(AXIS == 0u ? p.width : p.height);
  const int step = (AXIS == 0u ? 1 : int(p.width)) * int(p.quads);
  const int lo = max(-int(p.radius), -position);
  const int hi = min(int(p.radius), extent - 1 - position);
  vec4 sum = vec4(0.0);
  for (int d = lo; d <= hi; ++d) sum += exp(-float(d * d) * p.inv_two_var) * x[uint(int(i) + d * step)];
  y[i] = sum;
}
