#version 450
// vkseg: variants fp32 fp16
// Label map: the index of the largest channel of each pixel, the first one on ties, and the first
// NaN if there is one (torch.argmax). One invocation per pixel; neighbouring lanes read
// neighbouring pixels of the same channel plane. With COUNT_NON_FINITE, every pixel with a NaN or
// infinite score adds one to `non_finite`, so that callers can refuse labels made from them.
#include "common.glsl"

layout(constant_id = 3) const bool COUNT_NON_FINITE = false;

layout(push_constant) uniform Push {
  uint pixels;  // n * h * w
  uint c, hw;
} p;

layout(std430, binding = 0) readonly buffer Input { sfloat x[]; };
layout(std430, binding = 1) writeonly buffer Labels { uint labels[]; };
layout(std430, binding = 2) buffer Count { uint non_finite; };

// Tested on the bits so no compiler can fold it away under fast-math assumptions.
bool is_nan(float v) { return (floatBitsToUint(v) & 0x7fffffffu) > 0x7f800000u; }
bool is_inf(float v) { return (floatBitsToUint(v) & 0x7fffffffu) == 0x7f800000u; }

void main() {
  const uint i = flat_index();
  if (i >= p.pixels) return;
  const uint n = i / p.hw;
  const uint base = n * p.c * p.hw + i % p.hw;
  uint best_index = 0;
  float best = float(x[base]);
  bool finite = !is_nan(best) && !is_inf(best);
  if (!is_nan(best)) {
    for (uint c = 1; c < p.c; ++c) {
      const float v = float(x[base + c * p.hw]);
      finite = finite && !is_inf(v);
      if (is_nan(v)) {
        best_index = c;
        finite = false;
        break;
      }
      if (v > best) {  // strictly greater keeps the first index on ties
        best = v;
        best_index = c;
      }
    }
  }
  labels[i] = best_index;
  if (COUNT_NON_FINITE && !finite) atomicAdd(non_finite, 1u);
}
