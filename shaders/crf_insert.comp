#version 450
// Dense CRF lattice, step 2: every (pixel, simplex vertex) pair inserts its vertex's key into an
// open-addressing hash table. A slot holds 1 + the entry (pixel * (D + 1) + remainder) that
// claimed it first, so keys are compared by recomputing them from the pixels' simplices: no
// key has to be written and published atomically. One invocation per entry.
#include "common.glsl"
#include "crf_lattice.glsl"
#include "crf_lattice_keys.glsl"

layout(push_constant) uniform Push {
  uint entries, slot_mask;
} p;

layout(std430, binding = 2) buffer Table { uint table[]; };
layout(std430, binding = 3) buffer SlotCounts { uint slot_count[]; };
layout(std430, binding = 4) writeonly buffer SlotOfEntry { uint slot_of_entry[]; };

void main() {
  const uint e = flat_index();
  if (e >= p.entries) return;
  int key[D];
  entry_key(e, key);
  uint slot = lattice_hash(key) & p.slot_mask;
  // The table has at least twice as many slots as entries, so an empty slot is always found.
  for (uint probe = 0u; probe <= p.slot_mask; ++probe) {
    const uint held = atomicCompSwap(table[slot], 0u, e + 1u);
    if (held == 0u) break;
    if (entry_has_key(held - 1u, key)) break;
    slot = (slot + 1u) & p.slot_mask;
  }
  atomicAdd(slot_count[slot], 1u);
  slot_of_entry[e] = slot;
}
