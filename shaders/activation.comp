#version 450
// vkseg: variants fp32 fp16
// y = f(x), element-wise, f one of activation.glsl's; x and y may be the same range.
#include "common.glsl"
#define ACT_ID 3
#include "activation.glsl"

layout(push_constant) uniform Push { uint count; } p;
layout(std430, binding = 0) readonly buffer Input { sfloat x[]; };
layout(std430, binding = 1) writeonly buffer Output { sfloat y[]; };

void main() {
  const uint i = flat_index();
  if (i >= p.count) return;
  y[i] = sfloat(activate(float(x[i])));
}
