#version 450
// Dense CRF filtering, blur along one lattice direction: value + (down + up) / 2, a [1 2 1]
// kernel; a neighbour the lattice lacks holds zero. One invocation per vertex and four classes.
#include "common.glsl"
#include "crf_lattice.glsl"

layout(push_constant) uniform Push {
  uint vertices, quads, direction;
} p;

layout(std430, binding = 0) readonly buffer Neighbours { uint neighbours[]; };
layout(std430, binding = 1) readonly buffer Input { vec4 x[]; };     // vertices x quads
layout(std430, binding = 2) writeonly buffer Output { vec4 y[]; };

const uint NONE = 0xffffffffu;

void main() {
  const uint i = flat_index();
  if (i >= p.vertices * p.quads) return;
  const uint v = i / p.quads, quad = i % p.quads;
  const uint down = neighbours[(v * D1 + p.direction) * 2u];
  const uint up = neighbours[(v * D1 + p.direction) * 2u + 1u];
  const vec4 a = down == NONE ? vec4(0.0) : x[down * p.quads + quad];
  const vec4 b = up == NONE ? vec4(0.0) : x[up * p.quads + quad];
  y[i] = x[i] + 0.5 * (a + b);
}
