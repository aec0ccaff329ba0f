#version 450
// Dense CRF lattice, step 3: numbers the occupied hash slots 0..M-1 (the lattice's vertices),
// recording for each vertex the entry whose key it has and how many entries splat onto it.
// One invocation per slot.
#include "common.glsl"

layout(push_constant) uniform Push {
  uint slots;
} p;

layout(std430, binding = 0) readonly buffer Table { uint table[]; };
layout(std430, binding = 1) readonly buffer SlotCounts { uint slot_count[]; };
layout(std430, binding = 2) writeonly buffer VertexOfSlot { uint vertex_of_slot[]; };
layout(std430, binding = 3) writeonly buffer VertexEntry { uint vertex_entry[]; };
layout(std430, binding = 4) writeonly buffer VertexCount { uint vertex_splats[]; };
layout(std430, binding = 5) buffer Vertices { uint vertices; };

void main() {
  const uint s = flat_index();
  if (s >= p.slots || table[s] == 0u) return;
  const uint v = atomicAdd(vertices, 1u);
  vertex_of_slot[s] = v;
  vertex_entry[v] = table[s] - 1u;
  vertex_splats[v] = slot_count[s];
}
