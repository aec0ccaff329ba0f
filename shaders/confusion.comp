#version 450
// Accumulates a confusion matrix: counts[truth * classes + predicted] += 1 for every pixel whose
// truth label is a class (others, such as VOC's 255, are ignored). Predictions come from a label
// map that may be wider than the truth (a padded network output).
#include "common.glsl"

layout(push_constant) uniform Push {
  uint width, height;      // of the truth map
  uint predicted_stride;   // row length of the predicted map
  uint classes;
} p;

layout(std430, binding = 0) readonly buffer Predicted { uint predicted[]; };
layout(std430, binding = 1) readonly buffer Truth { uint truth[]; };
layout(std430, binding = 2) buffer Counts { uint counts[]; };

void main() {
  const uint i = flat_index();
  if (i >= p.width * p.height) return;
  const uint t = truth[i];
  const uint y = i / p.width, x = i % p.width;
  const uint q = predicted[y * p.predicted_stride + x];
  if (t < p.classes && q < p.classes) atomicAdd(counts[t * p.classes + q], 1u);
}
