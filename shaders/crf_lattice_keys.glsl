// The lattice keys of (pixel, remainder) entries, recomputed from the pixels' simplices (written
// by crf_embed), for the shaders that compare keys: crf_insert and crf_neighbours. Bindings 0 and
// 1 are the simplices.
layout(std430, binding = 0) readonly buffer Greedy { int greedy[]; };
layout(std430, binding = 1) readonly buffer Ranks { uint ranks[]; };

void entry_key(uint entry, out int key[D]) {
  const uint pixel = entry / D1;
  const int remainder = int(entry % D1);
  const uint r = ranks[pixel];
  for (int k = 0; k < D; ++k) key[k] = lattice_key(greedy[pixel * D + k], r, k, remainder);
}

bool entry_has_key(uint entry, int key[D]) {
  int other[D];
  entry_key(entry, other);
  bool same = true;
  for (int k = 0; k < D; ++k) same = same && other[k] == key[k];
  return same;
}
