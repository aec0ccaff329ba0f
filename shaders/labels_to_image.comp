#version 450
// The label map (uint32 per pixel, rows of the padded network width) packed into the texel
// rows of an R8_UINT or R16_UINT image of the frame's size, for a buffer-to-image copy: each
// invocation writes one 32-bit word, 4 labels (R8) or 2 (R16).
#include "common.glsl"

layout(constant_id = 3) const uint bytes_per_label = 1;

layout(push_constant) uniform Push {
  uint width, height;  // of the frame
  uint row_width;      // of the label map
} p;

layout(std430, binding = 0) readonly buffer Labels { uint labels[]; };
layout(std430, binding = 1) writeonly buffer Packed { uint words[]; };

void main() {
  const uint w = flat_index();
  const uint per_word = 4u / bytes_per_label;
  const uint pixels = p.width * p.height;
  if (w * per_word >= pixels) return;
  uint word = 0u;
  for (uint k = 0; k < per_word; ++k) {
    const uint i = w * per_word + k;
    if (i >= pixels) break;
    const uint label = labels[(i / p.width) * p.row_width + i % p.width];
    word |= label << (8u * bytes_per_label * k);
  }
  words[w] = word;
}
