#version 450
// An application's frame, copied out of its RGBA8 or BGRA8 image as packed texels, into the
// network's NCHW float input: the model's preprocessing (value = pixel * scale - offset per
// channel, channels in the model's order) and zero padding up to the padded size, as
// preprocess_image() does on the host.
#include "common.glsl"

layout(push_constant) uniform Push {
  uint width, height;                // of the frame
  uint padded_width, padded_height;  // of the network input
  uint source_byte[3];               // byte of the texel each model channel reads
  float scale[3], offset[3];
} p;

layout(std430, binding = 0) readonly buffer Texels { uint texels[]; };
layout(std430, binding = 1) writeonly buffer Input { float values[]; };

void main() {
  const uint i = flat_index();
  const uint plane = p.padded_width * p.padded_height;
  if (i >= plane) return;
  const uint y = i / p.padded_width, x = i % p.padded_width;
  const bool inside = x < p.width && y < p.height;
  const uint texel = inside ? texels[y * p.width + x] : 0u;
  for (uint c = 0; c < 3; ++c) {
    // precise: no fused multiply-add, so the values equal the host's to the bit.
    precise float value = float((texel >> (8u * p.source_byte[c])) & 0xffu) * p.scale[c];
    precise float shifted = value - p.offset[c];
    values[c * plane + i] = inside ? shifted : 0.0;
  }
}
