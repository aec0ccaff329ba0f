#version 450
// vkseg: variants fp32 fp16
// y = max(x, 0), element-wise; x and y may be the same range.
#include "common.glsl"

layout(push_constant) uniform Push { uint count; } p;
layout(std430, binding = 0) readonly buffer Input { sfloat x[]; };
layout(std430, binding = 1) writeonly buffer Output { sfloat y[]; };

void main() {
  const uint i = flat_index();
  if (i >= p.count) return;
  y[i] = sfloat(max(float(x[i]), 0.0));
}
