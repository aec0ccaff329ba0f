#version 450
// vkseg: variants fp32 fp16
// Softmax over channels: y = exp(x - max) / sum(exp(x - max)) per pixel, so large logits cannot
// overflow. One invocation per pixel; the exponentials are recomputed in the last pass rather
// than stored, which keeps the output write-only.
#include "common.glsl"

layout(push_constant) uniform Push {
  uint pixels;  // n * h * w
  uint c, hw;
} p;

layout(std430, binding = 0) readonly buffer Input { sfloat x[]; };
layout(std430, binding = 1) writeonly buffer Output { sfloat y[]; };

void main() {
  const uint i = flat_index();
  if (i >= p.pixels) return;
  const uint base = (i / p.hw) * p.c * p.hw + i % p.hw;
  float m = float(x[base]);
  for (uint c = 1; c < p.c; ++c) m = max(m, float(x[base + c * p.hw]));
  float sum = 0.0;
  for (uint c = 0; c < p.c; ++c) sum += exp(float(x[base + c * p.hw]) - m);
  const float inv = 1.0 / sum;
  for (uint c = 0; c < p.c; ++c) y[base + c * p.hw] = sfloat(exp(float(x[base + c * p.hw]) - m) * inv);
}
