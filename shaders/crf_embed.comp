#version 450
// Dense CRF lattice, step 1: each pixel's feature vector (x, y, r, g, b divided by their standard
// deviations) elevated onto the permutohedral hyperplane; its simplex (nearest remainder-0
// point and rank permutation) and barycentric weights. One invocation per pixel.
#include "common.glsl"
#include "crf_lattice.glsl"

layout(push_constant) uniform Push {
  uint pixels, width;
  float inv_xy_std, inv_rgb_std;
} p;

layout(std430, binding = 0) readonly buffer Image { uint rgba[]; };  // R in the low byte
layout(std430, binding = 1) writeonly buffer Greedy { int greedy[]; };
layout(std430, binding = 2) writeonly buffer Ranks { uint ranks[]; };
layout(std430, binding = 3) writeonly buffer Barycentric { float barycentric[]; };

void main() {
  const uint i = flat_index();
  if (i >= p.pixels) return;
  const uint colour = rgba[i];
  float f[D];
  f[0] = float(i % p.width) * p.inv_xy_std;
  f[1] = float(i / p.width) * p.inv_xy_std;
  f[2] = float(colour & 255u) * p.inv_rgb_std;
  f[3] = float((colour >> 8) & 255u) * p.inv_rgb_std;
  f[4] = float((colour >> 16) & 255u) * p.inv_rgb_std;

  // Scaled so that the lattice's [1 2 1] blurs, one along each of the D + 1 directions,
  // approximate a Gaussian of standard deviation 1 in feature space.
  const float inv_std = sqrt(2.0 / 3.0) * float(D1);
  float scaled[D];
  for (int k = 0; k < D; ++k) scaled[k] = f[k] * inv_std / sqrt(float((k + 1) * (k + 2)));
  float elevated[D1];
  elevated[D] = -float(D) * scaled[D - 1];
  for (int k = D - 1; k > 0; --k) {
    elevated[k] = elevated[k + 1] - float(k) * scaled[k - 1] + float(k + 2) * scaled[k];
  }
  elevated[0] = elevated[1] + 2.0 * scaled[0];

  // The nearest remainder-0 point, coordinate by coordinate, then fixed up onto the hyperplane.
  int nearest[D1];
  int rank[D1];
  int sum = 0;
  for (int k = 0; k < D1; ++k) {
    const float v = elevated[k] / float(D1);
    const float up = ceil(v) * float(D1);
    const float down = floor(v) * float(D1);
    nearest[k] = int(up - elevated[k] < elevated[k] - down ? up : down);
    sum += nearest[k];
    rank[k] = 0;
  }
  sum /= D1;
  for (int k = 0; k < D; ++k) {
    const float dk = elevated[k] - float(nearest[k]);
    for (int j = k + 1; j < D1; ++j) {
      if (dk < elevated[j] - float(nearest[j])) {
        rank[k]++;
      } else {
        rank[j]++;
      }
    }
  }
  if (sum > 0) {
    for (int k = 0; k < D1; ++k) {
      if (rank[k] >= D1 - sum) {
        nearest[k] -= D1;
        rank[k] += sum - D1;
      } else {
        rank[k] += sum;
      }
    }
  } else if (sum < 0) {
    for (int k = 0; k < D1; ++k) {
      if (rank[k] < -sum) {
        nearest[k] += D1;
        rank[k] += D1 + sum;
      } else {
        rank[k] += sum;
      }
    }
  }

  float weights[D1 + 1];
  for (int k = 0; k < D1 + 1; ++k) weights[k] = 0.0;
  for (int k = 0; k < D1; ++k) {
    const float v = (elevated[k] - float(nearest[k])) / float(D1);
    weights[D - rank[k]] += v;
    weights[D1 - rank[k]] -= v;
  }
  weights[0] += 1.0 + weights[D1];

  uint packed = 0u;
  for (int k = 0; k < D1; ++k) packed |= uint(rank[k]) << (3 * k);
  ranks[i] = packed;
  for (int k = 0; k < D; ++k) greedy[i * D + k] = nearest[k];
  for (int k = 0; k < D1; ++k) barycentric[i * D1 + k] = weights[k];
}
