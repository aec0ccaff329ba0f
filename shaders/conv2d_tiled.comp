#version 450
// vkseg: variants fp32 fp16
// Implicit-GEMM 2-D convolution (NCHW) with shared-memory tiles: the variant for GPUs.
//
// GEMM view: M = output channels, N = output pixels of one image, K = in_channels/groups * KH *
// KW. A workgroup computes a TM x TN output tile, staging TK-deep slices of the weights (M x K)
// and of the im2col matrix (K x N, gathered on the fly, never stored) in shared memory; each
// invocation accumulates an RM x RN register block, strided across the tile so neighbouring
// invocations read neighbouring shared-memory words. POINTWISE (1x1, stride 1, no padding) reads
// the input as a plain K x N matrix.
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
layout(constant_id = 15) const uint TM = 64;
layout(constant_id = 16) const uint TN = 64;
layout(constant_id = 17) const uint TK = 16;
layout(constant_id = 18) const uint RM = 4;
layout(constant_id = 19) const uint RN = 4;
layout(constant_id = 20) const bool POINTWISE = false;

const uint THREADS_N = TN / RN;
const uint THREADS_M = TM / RM;
const uint THREADS = THREADS_M * THREADS_N;  // the workgroup size the host sets
const uint TAPS = KH * KW;

layout(push_constant) uniform Push {
  uint c, h, w;           // input channels and size
  uint oc, oh, ow;        // output channels and size
  uint cin, cout;         // channels per group
  uint oc_begin, oc_end;  // output channels of this dispatch; the weight binding starts at oc_begin
  uint seg, seg_blocks;   // dispatch channels split into segments of `seg` (a group or less),
                          // each of seg_blocks tiles of TM, so no tile straddles a group
} p;

layout(std430, binding = 0) readonly buffer Input { sfloat x[]; };
layout(std430, binding = 1) readonly buffer Weight { sfloat wt[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };  // fp32 at every precision
layout(std430, binding = 3) writeonly buffer Output { sfloat y[]; };

shared float weights_tile[TK * TM];
shared float inputs_tile[TK * TN];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint tx = tid % THREADS_N;
  const uint ty = tid / THREADS_N;
  const uint n = gl_WorkGroupID.z;
  const uint pix0 = gl_WorkGroupID.x * TN;
  const uint segment = gl_WorkGroupID.y / p.seg_blocks;
  const uint oc0 = p.oc_begin + segment * p.seg + (gl_WorkGroupID.y % p.seg_blocks) * TM;
  const uint oc_limit = min(p.oc_begin + (segment + 1) * p.seg, p.oc_end);
  const uint group = oc0 / p.cout;
  const uint k_total = p.cin * TAPS;
  const uint hw = p.oh * p.ow;
  const uint in_base = (n * p.c + group * p.cin) * p.h * p.w;

  float acc[RM * RN];
  for (uint i = 0; i < RM * RN; ++i) acc[i] = 0.0;

  for (uint k0 = 0; k0 < k_total; k0 += TK) {
    // Consecutive invocations read consecutive k of one channel's weights.
    for (uint e = tid; e < TM * TK; e += THREADS) {
      const uint m = e / TK, kk = e % TK;
      const uint o = oc0 + m, k = k0 + kk;
      weights_tile[kk * TM + m] = o < oc_limit && k < k_total ? float(wt[(o - p.oc_begin) * k_total + k]) : 0.0;
    }
    // Consecutive invocations read consecutive output pixels' inputs.
    for (uint e = tid; e < TK * TN; e += THREADS) {
      const uint nn = e % TN, kk = e / TN;
      const uint k = k0 + kk, pix = pix0 + nn;
      float v = 0.0;
      if (k < k_total && pix < hw) {
        if (POINTWISE) {
          v = float(x[in_base + k * hw + pix]);
        } else {
          const uint ic = k / TAPS, tap = k % TAPS;
          const int iy = int(pix / p.ow) * SH - PH + int(tap / KW) * DH;
          const int ix = int(pix % p.ow) * SW - PW + int(tap % KW) * DW;
          if (iy >= 0 && iy < int(p.h) && ix >= 0 && ix < int(p.w)) {
            v = float(x[in_base + (ic * p.h + uint(iy)) * p.w + uint(ix)]);
          }
        }
      }
      inputs_tile[kk * TN + nn] = v;
    }
    barrier();
    for (uint kk = 0; kk < TK; ++kk) {
      float a[RM], b[RN];
      for (uint i = 0; i < RM; ++i) a[i] = weights_tile[kk * TM + ty + i * THREADS_M];
      for (uint q = 0; q < RN; ++q) b[q] = inputs_tile[kk * TN + tx + q * THREADS_N];
      for (uint i = 0; i < RM; ++i) {
        for (uint q = 0; q < RN; ++q) acc[i * RN + q] = fma(a[i], b[q], acc[i * RN + q]);
      }
    }
    barrier();
  }

  for (uint i = 0; i < RM; ++i) {
    const uint o = oc0 + ty + i * THREADS_M;
    if (o >= oc_limit) break;
    const float b = HAS_BIAS ? bias[o] : 0.0;
    for (uint q = 0; q < RN; ++q) {
      const uint pix = pix0 + tx + q * THREADS_N;
      if (pix >= hw) break;
      const float v = acc[i * RN + q] + b;
      y[(n * p.oc + o) * hw + pix] = sfloat(activate(v));
    }
  }
}
