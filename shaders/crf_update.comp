#version 450
// Dense CRF mean-field update with Potts compatibility and symmetrically normalised kernels, as
// Krähenbühl's densecrf 2.x computes it (the settings DeepLab published are tuned for it):
// Q(l) = softmax_l(logit(l) + w_a * n_a * A(l) + w_s * n_s * S(l)), where A and S are the last
// n_a * Q and n_s * Q filtered with the appearance and smoothness kernels, and n = (kernel
// filtered over ones)^-1/2 per pixel. With FIRST, Q = softmax(logits). Also writes n_a * Q and
// n_s * Q for the next filtering. The logits are the network's, at its (padded) size; the CRF
// covers the image's top-left width x height. One invocation per pixel, every class.
#include "common.glsl"

layout(constant_id = 3) const bool FIRST = false;

layout(push_constant) uniform Push {
  uint width, pixels, classes, quads, logits_width, logits_plane;
  float appearance_weight, smoothness_weight;
} p;

layout(std430, binding = 0) readonly buffer Logits { float logits[]; };
layout(std430, binding = 1) readonly buffer NormA { float appearance_normaliser[]; };
layout(std430, binding = 2) readonly buffer NormS { float smoothness_normaliser[]; };
// Filtered and scaled planes are pixel-major, classes padded to a multiple of four (the padding
// is written as zeros); the probabilities are class planes, as the logits.
layout(std430, binding = 3) readonly buffer Appearance { float appearance[]; };
layout(std430, binding = 4) readonly buffer Smoothness { float smoothness[]; };
layout(std430, binding = 5) buffer Probabilities { float q[]; };
layout(std430, binding = 6) writeonly buffer ScaledA { float scaled_appearance[]; };
layout(std430, binding = 7) writeonly buffer ScaledS { float scaled_smoothness[]; };

void main() {
  const uint i = flat_index();
  if (i >= p.pixels) return;
  const uint source = (i / p.width) * p.logits_width + i % p.width;
  const float na = appearance_normaliser[i], ns = smoothness_normaliser[i];
  const uint packed = i * p.quads * 4u;
  // The scores go into q first, then become probabilities in place: each is computed once.
  float largest = -3.402823466e38;
  bool nan = false;
  for (uint c = 0u; c < p.classes; ++c) {
    float z = logits[c * p.logits_plane + source];
    if (!FIRST) {
      z += p.appearance_weight * na * appearance[packed + c] + p.smoothness_weight * ns * smoothness[packed + c];
    }
    q[c * p.pixels + i] = z;
    nan = nan || isnan(z);
    largest = max(largest, z);
  }
  float sum = 0.0;
  for (uint c = 0u; c < p.classes; ++c) sum += exp(q[c * p.pixels + i] - largest);
  // NaN scores give NaN probabilities, whatever max() makes of them.
  const float inv = nan ? uintBitsToFloat(0x7fc00000u) : 1.0 / sum;
  for (uint c = 0u; c < p.classes; ++c) {
    const float value = exp(q[c * p.pixels + i] - largest) * inv;
    q[c * p.pixels + i] = value;
    scaled_appearance[packed + c] = na * value;
    scaled_smoothness[packed + c] = ns * value;
  }
  for (uint c = p.classes; c < p.quads * 4u; ++c) {
    scaled_appearance[packed + c] = 0.0;
    scaled_smoothness[packed + c] = 0.0;
  }
}
