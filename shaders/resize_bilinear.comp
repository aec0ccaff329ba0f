#version 450
// vkseg: variants fp32 fp16
// Bilinear resize with PyTorch's index arithmetic (upsample_bilinear2d with an output size).
// One invocation per output element.
#include "common.glsl"

layout(constant_id = 3) const bool ALIGN_CORNERS = false;

layout(push_constant) uniform Push {
  uint count;          // output elements
  uint h, w;           // input size
  uint oh, ow;         // output size
  float scale_y, scale_x;  // computed on the host as PyTorch does, in float
} p;

layout(std430, binding = 0) readonly buffer Input { sfloat x[]; };
layout(std430, binding = 1) writeonly buffer Output { sfloat y[]; };

// Source coordinate of output index `dst`: the lower tap, the upper tap and the upper weight.
void source_taps(uint dst, float scale, uint size, out uint i0, out uint i1, out float lambda) {
  // precise: no fused multiply-add, so the rounding matches PyTorch's separate fp32 operations.
  precise const float src = ALIGN_CORNERS ? float(dst) * scale
                                  : max((float(dst) + 0.5) * scale - 0.5, 0.0);
  i0 = min(uint(src), size - 1);  // src >= 0, so truncation is floor
  i1 = min(i0 + 1, size - 1);
  lambda = src - float(i0);
}

void main() {
  const uint i = flat_index();
  if (i >= p.count) return;
  const uint ox = i % p.ow;
  const uint row = i / p.ow;
  const uint oy = row % p.oh;
  const uint plane = row / p.oh;
  uint y0, y1, x0, x1;
  float ly, lx;
  source_taps(oy, p.scale_y, p.h, y0, y1, ly);
  source_taps(ox, p.scale_x, p.w, x0, x1, lx);
  const uint base = plane * p.h * p.w;
  const float top =
      (1.0 - lx) * float(x[base + y0 * p.w + x0]) + lx * float(x[base + y0 * p.w + x1]);
  const float bottom =
      (1.0 - lx) * float(x[base + y1 * p.w + x0]) + lx * float(x[base + y1 * p.w + x1]);
  y[i] = sfloat((1.0 - ly) * top + ly * bottom);
}
