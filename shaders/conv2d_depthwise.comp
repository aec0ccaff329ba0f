#version 450
// vkseg: variants fp32 fp16
// Depthwise 2-D convolution (NCHW; groups = input channels = output channels). Each invocation
// computes four neighbouring outputs of one row of one channel: lanes walk the row, so
// neighbouring lanes load neighbouring inputs, and every weight load is uniform across the
// workgroup. No private arrays: a CPU device (lavapipe) would keep them in scratch memory and
// gather from it, which costs more than the arithmetic; the four sums are a vec4's components.
#include "common.glsl"

layout(constant_id = 3) const int KH = 3;
layout(constant_id = 4) const int KW = 3;
layout(constant_id = 5) const int SH = 1;
layout(constant_id = 6) const int SW = 1;
layout(constant_id = 7) const int PH = 0;
layout(constant_id = 8) const int PW = 0;
layout(constant_id = 9) const int DH = 1;
layout(constant_id = 10) const int DW = 1;
layout(constant_id = 11) const bool HAS_BIAS = true;
#define ACT_ID 12
#include "activation.glsl"

layout(push_constant) uniform Push {
  uint c, h, w;        // channels and input size
  uint oh, ow;         // output size
  uint c_begin, c_count;  // channels of this dispatch; the weight binding starts at c_begin
  uint row_blocks;     // blocks of four outputs per row
} p;

layout(std430, binding = 0) readonly buffer Input { sfloat x[]; };
layout(std430, binding = 1) readonly buffer Weight { sfloat wt[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };  // fp32 at every precision
layout(std430, binding = 3) writeonly buffer Output { sfloat y[]; };

// Input (iy, ix) of this channel's plane, or the zero padding around it. Padding is zeros
// multiplied by the weights, not skipped: a NaN or infinite weight then makes every output it
// covers NaN, as PyTorch's convolution does.
float tap(uint row, bool row_inside, int ix) {
  return row_inside && ix >= 0 && ix < int(p.w) ? float(x[row + uint(ix)]) : 0.0;
}

void main() {
  const uint block = gl_GlobalInvocationID.x;
  const uint oy = gl_GlobalInvocationID.y;
  if (block >= p.row_blocks || oy >= p.oh) return;
  const uint local_channel = gl_GlobalInvocationID.z % p.c_count;
  const uint n = gl_GlobalInvocationID.z / p.c_count;
  const uint ch = p.c_begin + local_channel;
  vec4 acc = vec4(HAS_BIAS ? bias[ch] : 0.0);
  const uint plane = (n * p.c + ch) * p.h * p.w;
  const uint weights = local_channel * uint(KH * KW);
  const int ix0 = int(block * 4) * SW - PW;
  for (int ky = 0; ky < KH; ++ky) {
    const int iy = int(oy) * SH - PH + ky * DH;
    const bool row_inside = iy >= 0 && iy < int(p.h);
    const uint row = plane + uint(max(iy, 0)) * p.w;
    for (int kx = 0; kx < KW; ++kx) {
      const float w = float(wt[weights + uint(ky * KW + kx)]);
      const int ix = ix0 + kx * DW;
      acc += w * vec4(tap(row, row_inside, ix), tap(row, row_inside, ix + SW),
                      tap(row, row_inside, ix + 2 * SW), tap(row, row_inside, ix + 3 * SW));
    }
  }
  const uint out_row = ((n * p.c + ch) * p.oh + oy) * p.ow;
  const uint ox = block * 4;
  y[out_row + ox] = sfloat(activate(acc.x));
  if (ox + 1 < p.ow) y[out_row + ox + 1] = sfloat(activate(acc.y));
  if (ox + 2 < p.ow) y[out_row + ox + 2] = sfloat(activate(acc.z));
  if (ox + 3 < p.ow) y[out_row + ox + 3] = sfloat(activate(acc.w));
}
