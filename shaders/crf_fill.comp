#version 450
// Dense CRF lattice, step 4: each entry takes a place in its vertex's splat list (offsets from
// the prefix sum of the vertices' splat counts) and records its vertex for slicing. The order
// within a list depends on scheduling; crf_splat sums in fixed point, so results do not.
#include "common.glsl"

layout(push_constant) uniform Push {
  uint entries;
} p;

layout(std430, binding = 0) readonly buffer SlotOfEntry { uint slot_of_entry[]; };
layout(std430, binding = 1) readonly buffer VertexOfSlot { uint vertex_of_slot[]; };
layout(std430, binding = 2) readonly buffer Offsets { uint offsets[]; };
layout(std430, binding = 3) buffer Cursors { uint cursor[]; };
layout(std430, binding = 4) writeonly buffer Splats { uint splat_entry[]; };
layout(std430, binding = 5) writeonly buffer VertexOfEntry { uint vertex_of_entry[]; };

void main() {
  const uint e = flat_index();
  if (e >= p.entries) return;
  const uint v = vertex_of_slot[slot_of_entry[e]];
  splat_entry[offsets[v] + atomicAdd(cursor[v], 1u)] = e;
  vertex_of_entry[e] = v;
}
