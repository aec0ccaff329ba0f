// The permutohedral lattice of the dense CRF's appearance kernel (Adams, Baek and Davis,
// "Fast High-Dimensional Filtering Using the Permutohedral Lattice", 2010), shared by the
// crf_* shaders. Features are 5-D (x, y, r, g, b, each divided by its standard deviation); a
// pixel lies in one simplex of the lattice, whose D + 1 vertices are stored as the nearest
// remainder-0 point `greedy` plus the pixel's rank permutation. A vertex's key is its first D
// coordinates (the last is minus their sum).
const int D = 5;
const int D1 = D + 1;

// Per pixel: greedy[p * D + i] (the first D coordinates; the last follows from the sum) and
// ranks packed three bits each.
int lattice_key(int greedy_i, uint ranks, int i, int remainder) {
  const int rank = int((ranks >> (3 * i)) & 7u);
  // The canonical simplex's vertex `remainder`, read at coordinate of rank `rank`.
  return greedy_i + (rank <= D - remainder ? remainder : remainder - D1);
}

uint lattice_hash(int key[D]) {
  uint h = 0u;
  for (int i = 0; i < D; ++i) h = (h + uint(key[i])) * 2531011u;
  return h;
}
