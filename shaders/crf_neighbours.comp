#version 450
// Dense CRF lattice, step 5: each vertex's two neighbours along each of the D + 1 lattice
// directions (key - 1 in every coordinate but +D in the direction's, and the opposite), looked
// up in the hash table; NONE where the lattice has no such vertex. One invocation per vertex.
#include "common.glsl"
#include "crf_lattice.glsl"
#include "crf_lattice_keys.glsl"

layout(push_constant) uniform Push {
  uint vertices, slot_mask;
} p;

layout(std430, binding = 2) readonly buffer Table { uint table[]; };
layout(std430, binding = 3) readonly buffer VertexOfSlot { uint vertex_of_slot[]; };
layout(std430, binding = 4) readonly buffer VertexEntry { uint vertex_entry[]; };
layout(std430, binding = 5) writeonly buffer Neighbours { uint neighbours[]; };

const uint NONE = 0xffffffffu;

uint find_vertex(int key[D]) {
  uint slot = lattice_hash(key) & p.slot_mask;
  for (uint probe = 0u; probe <= p.slot_mask; ++probe) {
    const uint held = table[slot];
    if (held == 0u) return NONE;
    if (entry_has_key(held - 1u, key)) return vertex_of_slot[slot];
    slot = (slot + 1u) & p.slot_mask;
  }
  return NONE;
}

void main() {
  const uint v = flat_index();
  if (v >= p.vertices) return;
  int key[D];
  entry_key(vertex_entry[v], key);
  for (int j = 0; j < D1; ++j) {
    int down[D], up[D];
    for (int k = 0; k < D; ++k) {
      down[k] = key[k] - 1;
      up[k] = key[k] + 1;
    }
    if (j < D) {
      down[j] = key[j] + D;
      up[j] = key[j] - D;
    }
    neighbours[(v * D1 + j) * 2u] = find_vertex(down);
    neighbours[(v * D1 + j) * 2u + 1u] = find_vertex(up);
  }
}
