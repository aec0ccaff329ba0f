#version 450
// vkseg: variants fp32 fp16
#extension GL_KHR_shader_subgroup_shuffle : enable
#extension GL_EXT_control_flow_attributes : enable
// Implicit-GEMM 2-D convolution (NCHW) with register blocking and no shared memory: the
// variant for CPU Vulkan (lavapipe), where an invocation is a SIMD lane, every per-lane buffer
// load costs a loop over the lanes, and barriers are expensive.
//
// GEMM view: M = output channels, N = output pixels, K = in_channels/groups * KH * KW, with the
// im2col matrix read on the fly. Each invocation computes OCB output channels x PXB neighbouring
// output pixels of one row, so each loaded input feeds OCB channels and each weight PXB pixels.
// For one (input channel, kernel row) an invocation loads the ROW inputs its PXB pixels' KW taps
// cover once and reuses them across taps. With SHUFFLE_WEIGHTS, the lanes of a subgroup load
// 8 channels' weights in one load and broadcast them with subgroupShuffle (a register move on a
// CPU) instead of each lane loading all OCB weights itself.
// POINTWISE (1x1, stride 1, no padding) makes it a plain GEMM over the flat pixel index.
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
layout(constant_id = 15) const int OCB = 8;  // output channels per invocation (multiple of 8)
layout(constant_id = 16) const int PXB = 4;  // output pixels per invocation
layout(constant_id = 17) const bool SHUFFLE_WEIGHTS = false;
layout(constant_id = 18) const bool POINTWISE = false;

const int ROW = (PXB - 1) * SW + (KW - 1) * DW + 1;  // inputs one kernel row of a block touches
const int TAPS = KH * KW;

layout(push_constant) uniform Push {
  uint c, h, w;           // input channels and size
  uint oc, oh, ow;        // output channels and size
  uint cin, cout;         // channels per group
  uint oc_begin, oc_end;  // output channels of this dispatch; the weight binding starts at oc_begin
  uint seg, seg_blocks;   // dispatch channels split into segments of `seg` (a group or less),
                          // each of seg_blocks blocks of OCB, so no block straddles a group
  uint row_blocks;        // pixel blocks per output row (unused when POINTWISE)
  uint blocks;            // pixel blocks per image
} p;

layout(std430, binding = 0) readonly buffer Input { sfloat x[]; };
layout(std430, binding = 1) readonly buffer Weight { sfloat wt[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };  // fp32 at every precision
layout(std430, binding = 3) writeonly buffer Output { sfloat y[]; };

void main() {
  const uint n = gl_WorkGroupID.z;
  const uint block = gl_GlobalInvocationID.x;
  const uint segment = gl_WorkGroupID.y / p.seg_blocks;
  const uint oc0 = p.oc_begin + segment * p.seg + (gl_WorkGroupID.y % p.seg_blocks) * OCB;
  const uint oc_limit = min(p.oc_begin + (segment + 1) * p.seg, p.oc_end);
  const uint group = oc0 / p.cout;
  const uint k_total = p.cin * TAPS;

  // Lanes past the last pixel block still run (their subgroup shuffles need them) on clamped
  // addresses; only their stores are skipped.
  const uint hw = p.oh * p.ow;
  const uint oy = POINTWISE ? 0 : min(block / p.row_blocks, p.oh - 1);
  const uint ox0 = POINTWISE ? 0 : (block % p.row_blocks) * PXB;
  const uint out0 = POINTWISE ? block * PXB : oy * p.ow + ox0;
  const uint valid = block < p.blocks
                         ? (POINTWISE ? min(hw - min(out0, hw), PXB) : min(p.ow - ox0, PXB))
                         : 0;

  // Weight offsets; channels past the block's end repeat its last channel and are not stored.
  const uint lane = gl_SubgroupInvocationID & 7;
  uint wbase[OCB];
  [[unroll]] for (int j = 0; j < OCB; ++j) {
    const uint o = SHUFFLE_WEIGHTS ? oc0 + (j / 8) * 8 + lane : oc0 + j;
    wbase[j] = (min(o, oc_limit - 1) - p.oc_begin) * k_total;
  }

  float acc[OCB * PXB];
  [[unroll]] for (int i = 0; i < OCB * PXB; ++i) acc[i] = 0.0;

  const uint plane_size = p.h * p.w;
  uint plane = (n * p.c + group * p.cin) * plane_size;
  const int ix0 = int(ox0) * SW - PW;
  for (uint ic = 0; ic < p.cin; ++ic, plane += plane_size) {
    for (int ky = 0; ky < KH; ++ky) {
      float row[ROW];
      if (POINTWISE) {
        [[unroll]] for (int r = 0; r < ROW; ++r) row[r] = float(x[plane + min(out0 + r, hw - 1)]);
      } else {
        const int iy = int(oy) * SH - PH + ky * DH;
        const bool row_inside = iy >= 0 && iy < int(p.h);
        const uint row_base = plane + uint(clamp(iy, 0, int(p.h) - 1)) * p.w;
        [[unroll]] for (int r = 0; r < ROW; ++r) {
          const int ix = ix0 + r;
          const float v = float(x[row_base + uint(clamp(ix, 0, int(p.w) - 1))]);
          row[r] = row_inside && ix >= 0 && ix < int(p.w) ? v : 0.0;
        }
      }
      const uint k_row = (ic * KH + uint(ky)) * KW;
      [[unroll]] for (int kx = 0; kx < KW; ++kx) {
        float wv[OCB];
        if (SHUFFLE_WEIGHTS) {
          [[unroll]] for (int i = 0; i < OCB / 8; ++i) {
            const float mine = float(wt[wbase[i * 8] + k_row + kx]);
            [[unroll]] for (int l = 0; l < 8; ++l) wv[i * 8 + l] = subgroupShuffle(mine, l);
          }
        } else {
          [[unroll]] for (int j = 0; j < OCB; ++j) wv[j] = float(wt[wbase[j] + k_row + kx]);
        }
        [[unroll]] for (int j = 0; j < OCB; ++j) {
          [[unroll]] for (int q = 0; q < PXB; ++q) {
            acc[j * PXB + q] = fma(wv[j], row[q * SW + kx * DW], acc[j * PXB + q]);
          }
        }
      }
    }
  }

  [[unroll]] for (int j = 0; j < OCB; ++j) {
    const uint o = oc0 + j;
    if (o >= oc_limit) break;
    const float b = HAS_BIAS ? bias[o] : 0.0;
    const uint out_base = (n * p.oc + o) * hw + out0;
    [[unroll]] for (int q = 0; q < PXB; ++q) {
      if (q >= valid) break;
      const float v = acc[j * PXB + q] + b;
      y[out_base + q] = sfloat(activate(v));
    }
  }
}
