#version 450
// Dense CRF kernel normalisation: n = (k * 1)^-1/2 per pixel, from a kernel filtered over a
// plane of ones (one class, padded to four: x holds it). crf_update applies n on both sides of
// the filtering: densecrf's symmetric normalisation. One invocation per pixel.
#include "common.glsl"

layout(push_constant) uniform Push {
  uint pixels;
} p;

layout(std430, binding = 0) readonly buffer Filtered { vec4 filtered[]; };
layout(std430, binding = 1) writeonly buffer Normalisers { float normaliser[]; };

void main() {
  const uint i = flat_index();
  if (i >= p.pixels) return;
  normaliser[i] = inversesqrt(filtered[i].x + 1e-20);
}
