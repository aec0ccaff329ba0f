#version 450
// Dense CRF filtering, slice: each pixel's filtered value, interpolated from its simplex's
// vertices with its barycentric weights and scaled by 1 / (1 + 2^-D), the gain of the D + 1
// blurs (Adams et al.). One invocation per pixel and four classes.
#include "common.glsl"
#include "crf_lattice.glsl"

layout(push_constant) uniform Push {
  uint pixels, quads;
} p;

layout(std430, binding = 0) readonly buffer VertexOfEntry { uint vertex_of_entry[]; };
layout(std430, binding = 1) readonly buffer Barycentric { float barycentric[]; };
layout(std430, binding = 2) readonly buffer Values { vec4 values[]; };       // vertices x quads
layout(std430, binding = 3) writeonly buffer Output { vec4 filtered[]; };    // pixels x quads

void main() {
  const uint i = flat_index();
  if (i >= p.pixels * p.quads) return;
  const uint pixel = i / p.quads, quad = i % p.quads;
  vec4 sum = vec4(0.0);
  for (int r = 0; r < D1; ++r) {
    const uint e = pixel * D1 + r;
    sum += barycentric[e] * values[vertex_of_entry[e] * p.quads + quad];
  }
  filtered[i] = sum * (1.0 / (1.0 + exp2(-float(D))));
}
