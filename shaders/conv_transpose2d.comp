#version 450
// vkseg: variants fp32 fp16
#extension GL_EXT_control_flow_attributes : enable
// Transposed 2-D convolution (NCHW) as a gather, split by phase: output row oy receives input
// row iy through tap ky when oy + PH = iy * SH + ky * DH, so the outputs whose (oy + PH) mod SH
// and (ox + PW) mod SW agree (one phase) all use the same taps. Each workgroup computes one
// phase of 4 x OC4 output channels of one image: every lane reads the same weights (a
// broadcast), neighbouring lanes read neighbouring inputs, and each input value loaded serves
// 4 x OC4 outputs. No atomics are needed. Inputs and weights are texel fetches, which a CPU device
// (lavapipe) gathers in one instruction where a storage-buffer load loops over the lanes.
// Fused with what follows it in an FCN: the output may be a window of the full result (a crop),
// and a window of another tensor may be added to it (a skip connection).
#include "common.glsl"

layout(constant_id = 3) const int KH = 2;
layout(constant_id = 4) const int KW = 2;
layout(constant_id = 5) const int SH = 2;
layout(constant_id = 6) const int SW = 2;
layout(constant_id = 7) const int PH = 0;
layout(constant_id = 8) const int PW = 0;
layout(constant_id = 9) const int DH = 1;
layout(constant_id = 10) const int DW = 1;
// Taps that reach an input recur every S / gcd(S, D) (computed on the host).
layout(constant_id = 11) const int TAP_STEP_H = 2;
layout(constant_id = 12) const int TAP_STEP_W = 2;
layout(constant_id = 13) const bool HAS_BIAS = true;
layout(constant_id = 14) const bool HAS_ADDEND = false;
layout(constant_id = 15) const uint OC4 = 2;  // vec4s of output channels per invocation

layout(push_constant) uniform Push {
  uint c, h, w;       // input channels and size
  uint oc, oh, ow;    // output channels and size
  uint groups;
  uint oy0, ox0;      // where the output window starts in the full result
  uint ah, aw;        // addend size (it has n and oc like the output)
  uint ay0, ax0;      // where the window added starts in the addend
  uint slice0;        // first (image, channel block, phase) of this dispatch
  uint phase_cols;    // output columns of the widest phase: ceil(ow / SW)
} p;

layout(binding = 0) uniform samplerBuffer x;  // the input, NCHW (R32F or R16F texels)
// [group][out/groups/4][KH][KW][in/groups] texels of 4 output channels (zero past the last)
layout(binding = 1) uniform samplerBuffer wt;
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };  // fp32 at every precision
layout(std430, binding = 3) writeonly buffer Output { sfloat y[]; };
layout(std430, binding = 4) readonly buffer Addend { sfloat a[]; };

// The smallest tap k whose offset k * D is congruent to r modulo S, or k_none if no tap below
// `step` is (then none is at all).
int first_tap(int r, int S, int D, int step, int k_none) {
  if (D == 1) return r;
  for (int k = 0; k < step; ++k) {
    if ((k * D) % S == r) return k;
  }
  return k_none;
}

void main() {
  // Everything that selects weights comes from the workgroup id, so it is uniform.
  const uint slice = p.slice0 + gl_WorkGroupID.z;
  const uint phase = slice % uint(SH * SW);
  const uint cout = p.oc / p.groups;
  const uint cout4 = (cout + 3) / 4;
  const uint blocks_per_group = (cout4 + OC4 - 1) / OC4;
  const uint block = (slice / uint(SH * SW)) % (blocks_per_group * p.groups);
  const uint n = slice / uint(SH * SW) / (blocks_per_group * p.groups);
  const uint g = block / blocks_per_group;
  const uint o4 = (block % blocks_per_group) * OC4;  // first vec4 of output channels in the group
  const int ry = int(phase) / SW, rx = int(phase) % SW;  // (oy + oy0 + PH) mod SH, likewise x
  // The first rows and columns of the window in this phase.
  const int fy = (ry - int((p.oy0 + PH) % SH) + SH) % SH;
  const int fx = (rx - int((p.ox0 + PW) % SW) + SW) % SW;
  const uint pos = flat_index();  // position in the phase's grid
  const int oy = fy + int(pos / p.phase_cols) * SH;
  const int ox = fx + int(pos % p.phase_cols) * SW;
  if (oy >= int(p.oh) || ox >= int(p.ow)) return;
  // Output position in the unpadded result, which is what the input scatters into.
  const int py = oy + int(p.oy0) + PH;
  const int px = ox + int(p.ox0) + PW;
  const uint cin = p.c / p.groups;
  const uint in_plane = p.h * p.w;
  const uint in_base = (n * p.c + g * cin) * in_plane;
  // Texels between consecutive vec4s of output channels, and the first of this block.
  const uint w_block = uint(KH * KW) * cin;
  const uint w_base = (g * cout4 + o4) * w_block;
  // The block's last vec4 may lie past the group's channels: it reads the last real one.
  const uint o4_last = cout4 - 1 - o4;

  vec4 acc[OC4];
  [[unroll]] for (uint j = 0; j < OC4; ++j) {
    acc[j] = vec4(0.0);
    if (HAS_BIAS) {
      [[unroll]] for (uint k = 0; k < 4; ++k) {
        acc[j][k] = bias[g * cout + min((o4 + j) * 4 + k, cout - 1)];
      }
    }
  }
  for (int ky = first_tap(ry, SH, DH, TAP_STEP_H, KH); ky < KH; ky += TAP_STEP_H) {
    const int ny = py - ky * DH;
    if (ny < 0) break;  // later taps reach further up still
    const int iy = ny / SH;
    if (iy >= int(p.h)) continue;
    for (int kx = first_tap(rx, SW, DW, TAP_STEP_W, KW); kx < KW; kx += TAP_STEP_W) {
      const int nx = px - kx * DW;
      if (nx < 0) break;
      const int ix = nx / SW;
      if (ix >= int(p.w)) continue;
      int xi = int(in_base + uint(iy) * p.w + uint(ix));
      int wi = int(w_base + uint(ky * KW + kx) * cin);
      for (uint ic = 0; ic < cin; ++ic) {
        const float v = texelFetch(x, xi).x;
        [[unroll]] for (uint j = 0; j < OC4; ++j) {
          acc[j] += v * texelFetch(wt, wi + int(min(j, o4_last) * w_block));
        }
        xi += int(in_plane);
        ++wi;
      }
    }
  }
  const uint out_pixel = uint(oy) * p.ow + uint(ox);
  const uint add_pixel = (uint(oy) + p.ay0) * p.aw + uint(ox) + p.ax0;
  [[unroll]] for (uint j = 0; j < OC4; ++j) {
    [[unroll]] for (uint k = 0; k < 4; ++k) {
      const uint ol = (o4 + j) * 4 + k;
      if (ol >= cout) break;
      const uint o = g * cout + ol;
      float v = acc[j][k];
      if (HAS_ADDEND) v += float(a[(n * p.oc + o) * p.ah * p.aw + add_pixel]);
      y[(n * p.oc + o) * p.oh * p.ow + out_pixel] = sfloat(v);
    }
  }
}
