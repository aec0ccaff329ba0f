#version 450
// Blends the class colours over an application's image (its texels copied out as packed RGBA8
// or BGRA8): out = (1 - alpha) * pixel + alpha * colour, rounded half away from zero, for every
// pixel labelled other than 0 (background), as blend_overlay() does on the host. Alpha bytes are
// kept.
#include "common.glsl"

layout(push_constant) uniform Push {
  uint width, height;  // of the image
  uint row_width;      // of the label map
  uint classes;
  uint bgra;           // 1: texel bytes are B, G, R, A
  float alpha;
} p;

layout(std430, binding = 0) buffer Texels { uint texels[]; };
layout(std430, binding = 1) readonly buffer Labels { uint labels[]; };
layout(std430, binding = 2) readonly buffer Colours { uint colours[]; };  // R | G << 8 | B << 16

void main() {
  const uint i = flat_index();
  if (i >= p.width * p.height) return;
  const uint label = labels[(i / p.width) * p.row_width + i % p.width];
  if (label == 0u || label >= p.classes) return;
  const uint texel = texels[i];
  const uint colour = colours[label];
  uint blended = texel & 0xff000000u;
  for (uint c = 0; c < 3; ++c) {
    const uint byte_index = p.bgra != 0u ? 2u - c : c;
    const float pixel = float((texel >> (8u * byte_index)) & 0xffu);
    precise float kept = (1.0 - p.alpha) * pixel;
    precise float added = p.alpha * float((colour >> (8u * c)) & 0xffu);
    precise float value = kept + added;
    const float whole = floor(value);
    const uint rounded = uint(whole) + (value - whole >= 0.5 ? 1u : 0u);
    blended |= min(rounded, 255u) << (8u * byte_index);
  }
  texels[i] = blended;
}
