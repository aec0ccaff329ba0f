#version 450
// vkseg: variants fp32 fp16
// Copies one input of a channel concatenation into its channel range of the output. One
// invocation per input element.
#include "common.glsl"

layout(push_constant) uniform Push {
  uint count;         // input elements
  uint in_batch;      // input elements per batch item (c_in * h * w)
  uint out_batch;     // output elements per batch item (c_out * h * w)
  uint offset;        // first output element of this input within a batch item
} p;

layout(std430, binding = 0) readonly buffer Input { sfloat x[]; };
layout(std430, binding = 1) writeonly buffer Output { sfloat y[]; };

void main() {
  const uint i = flat_index();
  if (i >= p.count) return;
  y[(i / p.in_batch) * p.out_batch + p.offset + i % p.in_batch] = x[i];
}
