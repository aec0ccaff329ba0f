#version 450
// vkseg: variants fp32 fp16
// 2-D max pooling (NCHW), one invocation per output element. Padding acts as -inf, so a
// window only ever takes the input elements it covers; a NaN anywhere in it wins, as in PyTorch.
#include "common.glsl"

layout(constant_id = 3) const int KH = 2;
layout(constant_id = 4) const int KW = 2;
layout(constant_id = 5) const int SH = 2;
layout(constant_id = 6) const int SW = 2;
layout(constant_id = 7) const int PH = 0;
layout(constant_id = 8) const int PW = 0;
layout(constant_id = 9) const int DH = 1;
layout(constant_id = 10) const int DW = 1;

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
  const int y0 = int(pixel / p.ow) * SH - PH;
  const int x0 = int(pixel % p.ow) * SW - PW;
  const uint in_base = plane * p.h * p.w;

  float m = uintBitsToFloat(0xff800000u);  // -inf
  for (int ky = 0; ky < KH; ++ky) {
    const int iy = y0 + ky * DH;
    if (iy < 0 || iy >= int(p.h)) continue;
    for (int kx = 0; kx < KW; ++kx) {
      const int ix = x0 + kx * DW;
      if (ix < 0 || ix >= int(p.w)) continue;
      const float v = float(x[in_base + uint(iy) * p.w + uint(ix)]);
      // max() leaves NaN handling undefined; once m is NaN, nothing compares greater.
      if (v > m || isnan(v)) m = v;
    }
  }
  y[i] = sfloat(m);
}
