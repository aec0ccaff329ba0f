#version 450
// vkseg: variants fp32 fp16
#extension GL_KHR_shader_subgroup_shuffle : enable
#extension GL_EXT_control_flow_attributes : enable
// Batched GEMM out[z] = A[z] (M x K) * B[z] (K x N) (+ bias, activation) on packed operands, shaped for
// CPU Vulkan (lavapipe), where a texel fetch is the cheapest load (one vec4 per lane, no per-lane
// loop) and a subgroup shuffle by a constant lane is one register permute:
// - B is K/4 x N texels of 4 consecutive k: each lane fetches 4 k of its own column;
// - A is packed in blocks of 8 rows: lane l of an 8-lane group fetches 4 k of row l of the block,
//   and the group broadcasts each row's values to all lanes by shuffle;
// - an invocation accumulates RMB blocks of 8 rows x RN columns (8 apart, so that the lanes of a
//   group read neighbouring texels), one row at a time over the 4 k of a texel.
// Works for any subgroup size that is a multiple of 8.
#include "common.glsl"

layout(constant_id = 3) const int RMB = 2;  // blocks of 8 rows per invocation
layout(constant_id = 4) const int RN = 4;   // columns per invocation
layout(constant_id = 5) const bool HAS_BIAS = true;
#define ACT_ID 6
#include "activation.glsl"
// Writes out as fp32 vec4s of 4 consecutive rows ([z][M/4][N], what the Winograd output transform
// fetches) instead of sfloat rows ([z][M][N], an NCHW image when N is its pixels).
layout(constant_id = 9) const bool PACKED_OUT = false;

layout(push_constant) uniform Push {
  uint m, n, k4;          // rows, columns, K / 4 (A and B are zero-padded to whole texels)
  uint a_batch, b_batch;  // texels between consecutive z of A and of B
  uint out_batch;         // elements (PACKED_OUT: vec4s) between consecutive z of out
  uint out_row;           // elements (PACKED_OUT: vec4s) between rows (row groups) of out
  uint out_col0;          // the column of out that column 0 of B lands in
} p;

// [z][row blocks, a multiple of RMB][K/4][8 rows] texels
layout(binding = 0) uniform samplerBuffer a_texels;
layout(binding = 1) uniform samplerBuffer b_texels;  // [z][K/4][N] texels
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };  // M values, fp32
layout(std430, binding = 3) writeonly buffer Out { sfloat y[]; };
layout(std430, binding = 3) writeonly buffer OutPacked { vec4 y4[]; };

void main() {
  const uint lane = gl_SubgroupInvocationID & 7u;
  const uint lane_base = gl_SubgroupInvocationID & ~7u;
  const uint z = gl_WorkGroupID.z;
  const uint group = gl_WorkGroupID.x * (gl_WorkGroupSize.x / 8) + gl_LocalInvocationID.x / 8;
  const uint col0 = group * 8 * RN + lane;
  const uint block0 = gl_WorkGroupID.y * RMB;

  const int a_base = int(z * p.a_batch + block0 * p.k4 * 8 + lane);
  const int a_block = int(p.k4 * 8);
  int b_index[RN];
  [[unroll]] for (int q = 0; q < RN; ++q) {
    b_index[q] = int(z * p.b_batch + min(col0 + q * 8, p.n - 1));  // past the end: not stored
  }

  float acc[RMB * 8 * RN];
  [[unroll]] for (int i = 0; i < RMB * 8 * RN; ++i) acc[i] = 0.0;

  for (uint k4 = 0; k4 < p.k4; ++k4) {
    vec4 w[RMB], x[RN];
    [[unroll]] for (int b = 0; b < RMB; ++b) {
      w[b] = texelFetch(a_texels, a_base + b * a_block + int(k4 * 8));
    }
    [[unroll]] for (int q = 0; q < RN; ++q) x[q] = texelFetch(b_texels, b_index[q] + int(k4 * p.n));
    [[unroll]] for (int b = 0; b < RMB; ++b) {
      [[unroll]] for (int l = 0; l < 8; ++l) {
        vec4 row;
        [[unroll]] for (int kk = 0; kk < 4; ++kk) row[kk] = subgroupShuffle(w[b][kk], lane_base + l);
        [[unroll]] for (int q = 0; q < RN; ++q) {
          float a = acc[(b * 8 + l) * RN + q];
          [[unroll]] for (int kk = 0; kk < 4; ++kk) a = fma(row[kk], x[q][kk], a);
          acc[(b * 8 + l) * RN + q] = a;
        }
      }
    }
  }

  const uint row0 = block0 * 8;
  [[unroll]] for (int q = 0; q < RN; ++q) {
    const uint col = col0 + q * 8;
    if (col >= p.n) break;
    if (PACKED_OUT) {
      [[unroll]] for (int r = 0; r < RMB * 8; r += 4) {
        if (row0 + r >= p.m) break;
        const vec4 v = vec4(acc[r * RN + q], acc[(r + 1) * RN + q], acc[(r + 2) * RN + q],
                            acc[(r + 3) * RN + q]);
        y4[z * p.out_batch + ((row0 + r) / 4) * p.out_row + p.out_col0 + col] = v;
      }
    } else {
      [[unroll]] for (int r = 0; r < RMB * 8; ++r) {
        const uint row = row0 + r;
        if (row >= p.m) break;
        const float v = acc[r * RN + q] + (HAS_BIAS ? bias[row] : 0.0);
        y[z * p.out_batch + row * p.out_row + p.out_col0 + col] = sfloat(activate(v));
      }
    }
  }
}
