#version 450
// vkseg: variants fp32 fp16
// y = x * scale[c] + shift[c]: inference batch norm with its statistics folded into one affine
// per channel (on the host, in double). scale and shift stay fp32 at either precision.
#include "common.glsl"

layout(push_constant) uniform Push {
  uint count;     // elements
  uint plane;     // height * width
  uint channels;
} p;

layout(std430, binding = 0) readonly buffer Input { sfloat x[]; };
layout(std430, binding = 1) readonly buffer Scale { float scale[]; };
layout(std430, binding = 2) readonly buffer Shift { float shift[]; };
layout(std430, binding = 3) writeonly buffer Output { sfloat y[]; };

void main() {
  const uint i = flat_index();
  if (i >= p.count) return;
  const uint c = (i / p.plane) % p.channels;
  y[i] = sfloat(float(x[i]) * scale[c] + shift[c]);
}
