#version 450
// vkseg: variants fp32 fp16
// Spatial padding (NCHW), one invocation per output element. Reflect mirrors once about the
// border element, which covers every pad smaller than its axis (the host refuses larger ones).
#include "common.glsl"

layout(constant_id = 3) const uint MODE = 0;  // 0 constant, 1 reflect, 2 edge (ops::PadMode)

layout(push_constant) uniform Push {
  uint count;      // output elements
  uint h, w;       // input size
  uint oh, ow;     // output size
  uint top, left;  // padding before each axis
  float value;     // constant mode's fill
} p;

layout(std430, binding = 0) readonly buffer Input { sfloat x[]; };
layout(std430, binding = 1) writeonly buffer Output { sfloat y[]; };

// The input index that output index `dst` (before padding) reads along an axis of `size`, or -1
// for constant padding.
int source(int dst, int size) {
  if (dst >= 0 && dst < size) return dst;
  if (MODE == 0) return -1;
  if (MODE == 1) return dst < 0 ? -dst : 2 * (size - 1) - dst;
  return clamp(dst, 0, size - 1);
}

void main() {
  const uint i = flat_index();
  if (i >= p.count) return;
  const uint ox = i % p.ow;
  const uint row = i / p.ow;
  const uint oy = row % p.oh;
  const uint plane = row / p.oh;
  const int sy = source(int(oy) - int(p.top), int(p.h));
  const int sx = source(int(ox) - int(p.left), int(p.w));
  y[i] = sy < 0 || sx < 0 ? sfloat(p.value) : x[(plane * p.h + uint(sy)) * p.w + uint(sx)];
}
