#version 450
// vkseg: variants fp32 fp16
// Resize of height and width (ONNX Resize, nearest or linear) with PyTorch's index arithmetic
// (upsample_nearest2d, and upsample_bilinear2d as its CPU kernel computes) from a scale computed
// on the host as PyTorch does. One invocation per output pixel of up to PLANES planes: the taps
// and weights, which cost more than the reads, are computed once for all of them. The input is
// a texel buffer: on a CPU device (lavapipe) a texel fetch is one gather where a storage-buffer
// load is a loop over lanes.
#include "common.glsl"

layout(constant_id = 3) const uint MODE = 1;       // ops::ResizeMode: 0 nearest, 1 linear
layout(constant_id = 4) const uint TRANSFORM = 0;  // ops::CoordinateTransform
layout(constant_id = 5) const uint ROUNDING = 0;   // ops::NearestRounding
layout(constant_id = 6) const uint PLANES = 8;     // planes per invocation

const uint HALF_PIXEL = 0, PYTORCH_HALF_PIXEL = 1, ALIGN_CORNERS = 2, ASYMMETRIC = 3;
const uint ROUND_PREFER_FLOOR = 0, ROUND_PREFER_CEIL = 1, FLOOR = 2;

// A dispatch resizes consecutive planes (image * channels + channel).
layout(push_constant) uniform Push {
  uint count;              // invocations: output pixels times blocks of PLANES planes
  uint h, w;               // input size
  uint oh, ow;             // output size
  float scale_y, scale_x;  // input units per output unit, computed on the host as PyTorch does
  uint input_first;        // the texel of the first plane
  uint planes;             // planes of this dispatch
  uint output_plane;       // the first one's output plane
} p;

layout(binding = 0) uniform samplerBuffer x;  // the input (R32F or R16F texels)
layout(std430, binding = 1) writeonly buffer Output { sfloat y[]; };

// Nearest mode's input coordinate of output index `dst` along an axis of `out_size` outputs, in
// fp32 as PyTorch's upsample_nearest2d computes it.
float source_coordinate(uint dst, float scale, uint out_size) {
  // precise: no fused multiply-add, so the rounding matches separate fp32 operations.
  precise float src;
  if (TRANSFORM == ALIGN_CORNERS || TRANSFORM == ASYMMETRIC) {
    src = float(dst) * scale;
  } else if (TRANSFORM == PYTORCH_HALF_PIXEL && out_size == 1) {
    src = 0.0;
  } else {
    src = (float(dst) + 0.5) * scale - 0.5;
  }
  return src;
}

// The input index nearest mode reads, clamped to the axis of `size`.
uint nearest_index(uint dst, float scale, uint out_size, uint size) {
  const float src = source_coordinate(dst, scale, out_size);
  // Exact for every coordinate: +-0.5 only rounds where the result cannot cross an integer.
  const float index = ROUNDING == ROUND_PREFER_FLOOR ? ceil(src - 0.5)
                    : ROUNDING == ROUND_PREFER_CEIL  ? floor(src + 0.5)
                    : ROUNDING == FLOOR              ? floor(src)
                                                     : ceil(src);
  return uint(clamp(index, 0.0, float(size - 1)));
}

// a * b = p + e exactly (Dekker's product with Veltkamp's split into 12-bit halves), in fp32
// without fused multiply-adds.
void exact_product(float a, float b, out float p, out float e) {
  precise const float ca = 4097.0 * a, cb = 4097.0 * b;
  precise const float ah = ca - (ca - a), bh = cb - (cb - b);
  precise const float al = a - ah, bl = b - bh;
  precise const float product = a * b;
  precise const float error = ((ah * bh - product) + ah * bl + al * bh) + al * bl;
  p = product;
  e = error;
}

// Linear mode's lower tap, upper tap and upper weight with PyTorch's CPU arithmetic: the
// coordinate in double from the fp32 scale (exact, so here the unevaluated sum q + e), clamped to
// zero, and its fraction rounded once to fp32.
void linear_taps(uint dst, float scale, uint out_size, uint size, out uint i0, out uint i1,
                 out float lambda) {
  const bool centres =
      TRANSFORM == HALF_PIXEL || (TRANSFORM == PYTORCH_HALF_PIXEL && out_size > 1);
  float p, e;
  exact_product(scale, float(dst) + (centres ? 0.5 : 0.0), p, e);
  if (TRANSFORM == PYTORCH_HALF_PIXEL && out_size == 1) p = e = 0.0;
  // Exact where p >= 1/4, and well below zero (beyond |e|) where not.
  precise const float q = centres ? p - 0.5 : p;
  float whole = floor(q);
  if (whole == q && e < 0.0) whole -= 1.0;
  if (whole < 0.0) {
    i0 = 0;
    lambda = 0.0;
  } else {
    i0 = min(uint(whole), size - 1);
    precise const float fraction = (q - whole) + e;  // q - whole is exact: one rounding
    lambda = fraction;
  }
  i1 = min(i0 + 1, size - 1);
}

float input_at(uint plane, uint iy, uint ix) {
  return texelFetch(x, int(p.input_first + (plane * p.h + iy) * p.w + ix)).x;
}

void main() {
  const uint i = flat_index();
  if (i >= p.count) return;
  const uint pixels = p.oh * p.ow;
  const uint pixel = i % pixels;
  const uint first = i / pixels * PLANES;
  const uint last = min(first + PLANES, p.planes);
  const uint ox = pixel % p.ow, oy = pixel / p.ow;
  const uint target = (p.output_plane + first) * pixels + pixel;
  if (MODE == 0) {
    const uint sy = nearest_index(oy, p.scale_y, p.oh, p.h);
    const uint sx = nearest_index(ox, p.scale_x, p.ow, p.w);
    for (uint plane = first; plane < last; ++plane) {
      y[target + (plane - first) * pixels] = sfloat(input_at(plane, sy, sx));
    }
    return;
  }
  uint y0, y1, x0, x1;
  float ly, lx;
  linear_taps(oy, p.scale_y, p.oh, p.h, y0, y1, ly);
  linear_taps(ox, p.scale_x, p.ow, p.w, x0, x1, lx);
  for (uint plane = first; plane < last; ++plane) {
    // In PyTorch's order, each operation rounded on its own.
    precise const float top =
        (1.0 - lx) * input_at(plane, y0, x0) + lx * input_at(plane, y0, x1);
    precise const float bottom =
        (1.0 - lx) * input_at(plane, y1, x0) + lx * input_at(plane, y1, x1);
    precise const float value = (1.0 - ly) * top + ly * bottom;
    y[target + (plane - first) * pixels] = sfloat(value);
  }
}
