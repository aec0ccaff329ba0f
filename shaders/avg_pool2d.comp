#version 450
// vkseg: variants fp32 fp16
// 2-D average pooling (NCHW) with PyTorch's divisor, one invocation per output element. The
// window is clipped to the padded input for the divisor with COUNT_PAD and to the input for the
// sum (and the divisor without COUNT_PAD); padding at most half the kernel keeps it non-empty.
#include "common.glsl"

layout(constant_id = 3) const int KH = 2;
layout(constant_id = 4) const int KW = 2;
layout(constant_id = 5) const int SH = 2;
layout(constant_id = 6) const int SW = 2;
layout(constant_id = 7) const int PAD_TOP = 0;
layout(constant_id = 8) const int PAD_LEFT = 0;
layout(constant_id = 9) const int PAD_BOTTOM = 0;
layout(constant_id = 10) const int PAD_RIGHT = 0;
layout(constant_id = 11) const bool COUNT_PAD = true;

layout(push_constant) uniform Push {
  uint h, w;    // input size
  uint oh, ow;  // output size
  uint count;   // output elements: n * c * oh * ow
} p;

layout(std430, binding = 0) readonly buffer Input { sfloat x[]; };
layout(std430, binding = 1) writeonly buffer Output { sfloat y[]; };

void main() {
  const uint i = flat_index();
  if (i >= p.count) return;
  const uint plane = i / (p.oh * p.ow);
  const uint pixel = i % (p.oh * p.ow);
  int y0 = int(pixel / p.ow) * SH - PAD_TOP;
  int x0 = int(pixel % p.ow) * SW - PAD_LEFT;
  int y1 = min(y0 + KH, int(p.h) + PAD_BOTTOM);
  int x1 = min(x0 + KW, int(p.w) + PAD_RIGHT);
  const int padded_count = (y1 - y0) * (x1 - x0);
  y0 = max(y0, 0);
  x0 = max(x0, 0);
  y1 = min(y1, int(p.h));
  x1 = min(x1, int(p.w));
  const uint in_base = plane * p.h * p.w;

  float sum = 0.0;
  for (int iy = y0; iy < y1; ++iy) {
    const uint row = in_base + uint(iy) * p.w;
    for (int ix = x0; ix < x1; ++ix) sum += float(x[row + uint(ix)]);
  }
  const int divisor = COUNT_PAD ? padded_count : (y1 - y0) * (x1 - x0);
  y[i] = sfloat(sum / float(divisor));
}
