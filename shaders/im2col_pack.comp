#version 450
#extension GL_EXT_control_flow_attributes : enable
// Packs the im2col matrix of a convolution (groups = 1) for gemm_packed.comp: row k = (channel,
// kernel row, kernel column), column = output pixel, K/4 x N texels of 4 consecutive k, with zeros
// for padding and for the rows past K. Columns col0 .. col0 + n - 1 of one image.
#include "common.glsl"

layout(constant_id = 3) const int KH = 3;
layout(constant_id = 4) const int KW = 3;
layout(constant_id = 5) const int SH = 1;
layout(constant_id = 6) const int SW = 1;
layout(constant_id = 7) const int PH = 0;
layout(constant_id = 8) const int PW = 0;
layout(constant_id = 9) const int DH = 1;
layout(constant_id = 10) const int DW = 1;

layout(push_constant) uniform Push {
  uint c, h, w;  // input channels and size
  uint ow;       // output width
  uint image;    // first texel of the image in the input
  uint col0, n;  // output pixels packed: col0 .. col0 + n - 1
  uint k, k4;    // rows (c * KH * KW) and texel rows
} p;

layout(binding = 0) uniform samplerBuffer x;  // the input, NCHW (R32F or R16F texels)
layout(std430, binding = 1) writeonly buffer Packed { vec4 packed[]; };

void main() {
  const uint i = flat_index();
  if (i >= p.k4 * p.n) return;
  const uint k4 = i / p.n, col = i % p.n;
  const uint pixel = p.col0 + col;
  const int oy = int(pixel / p.ow), ox = int(pixel % p.ow);
  vec4 v = vec4(0.0);
  [[unroll]] for (int j = 0; j < 4; ++j) {
    const uint k = k4 * 4 + j;
    if (k >= p.k) break;
    const uint ic = k / (KH * KW), tap = k % (KH * KW);
    const int iy = oy * SH - PH + int(tap / KW) * DH;
    const int ix = ox * SW - PW + int(tap % KW) * DW;
    if (iy >= 0 && iy < int(p.h) && ix >= 0 && ix < int(p.w)) {
      v[j] = texelFetch(x, int(p.image + (ic * p.h + uint(iy)) * p.w + uint(ix))).x;
    }
  }
  packed[i] = v;
}
