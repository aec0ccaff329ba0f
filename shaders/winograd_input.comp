#version 450
#extension GL_EXT_control_flow_attributes : enable
// Winograd F(4x4, 3x3) input transform: V = B^T d B for the 6x6 input patch d of every 4x4 output
// tile, 4 channels at a time, written as the B operand of gemm_packed.comp: for each of the 36
// positions xi, C/4 x T texels (T tiles of this chunk; channels past C are zero). On a CPU
// device (lavapipe) a texel fetch costs about the same whatever its format, so with VEC4 (the
// host's choice where the input binding holds whole texels of 4) each patch row's 6 inputs come
// from the 3 texels that hold them, each picked out by its offset with selects.
// Dilated layers (DH, DW > 1): a tile's patch inputs are DH rows and DW columns apart (see
// winograd_tiles.glsl).
#include "common.glsl"
#include "fetch4.glsl"
#include "winograd_tiles.glsl"

layout(constant_id = 3) const int PH = 1;
layout(constant_id = 4) const int PW = 1;
layout(constant_id = 5) const bool VEC4 = false;
layout(constant_id = 6) const int DH = 1;
layout(constant_id = 7) const int DW = 1;
// Texels that hold a patch row's 6 inputs, DW apart, from any offset within the first: VEC4
// pays while that is fewer than 6 (DW <= 3).
const int ROW_TEXELS = (5 * DW + 3) / 4 + 1;

layout(push_constant) uniform Push {
  uint c, h, w;                      // input channels and size
  uint tiles_w, tiles_per_image;     // tiles per output row and per image
  uint res_h, res_w;                 // sub-grids along each axis: min(dilation, output extent)
  uint t0, tc;                       // tiles of this chunk: t0 .. t0 + tc - 1, over the batch
  uint c4;                           // ceil(c / 4)
  uint texels;                       // texels in the input binding
} p;

// The input, NCHW: R32F or R16F texels, or with VEC4 RGBA32F or RGBA16F ones of 4 inputs.
layout(binding = 0) uniform samplerBuffer x;
layout(std430, binding = 1) writeonly buffer V { vec4 v[]; };  // [36][C/4][tc]

// One row (or column) of B^T d.
void transform(inout vec4 d[6]) {
  const vec4 r0 = 4.0 * d[0] - 5.0 * d[2] + d[4];
  const vec4 r1 = -4.0 * (d[1] + d[2]) + d[3] + d[4];
  const vec4 r2 = 4.0 * (d[1] - d[2]) - d[3] + d[4];
  const vec4 r3 = 2.0 * (d[3] - d[1]) - d[2] + d[4];
  const vec4 r4 = 2.0 * (d[1] - d[3]) - d[2] + d[4];
  const vec4 r5 = 4.0 * d[1] - 5.0 * d[3] + d[5];
  d[0] = r0, d[1] = r1, d[2] = r2, d[3] = r3, d[4] = r4, d[5] = r5;
}

void main() {
  const uint i = flat_index();
  if (i >= p.c4 * p.tc) return;
  const uint c4 = i / p.tc, tile = i % p.tc;
  const uint t = p.t0 + tile;
  const uint image = t / p.tiles_per_image, in_image = t % p.tiles_per_image;
  const int iy0 = tile_origin(in_image / p.tiles_w, p.res_h, DH) - PH;
  const int ix0 = tile_origin(in_image % p.tiles_w, p.res_w, DW) - PW;

  // Branch-free loads: out-of-range rows, columns and channels read a clamped address and are
  // replaced by zero with a select (divergent branches around fetches cost far more on CPUs).
  vec4 d[6][6];  // [row][column], 4 channels
  [[unroll]] for (int j = 0; j < 4; ++j) {
    const uint ch = c4 * 4 + j;
    const bool ch_inside = ch < p.c;
    const uint plane = (image * p.c + min(ch, p.c - 1)) * p.h;
    [[unroll]] for (int r = 0; r < 6; ++r) {
      const int iy = iy0 + DH * r;
      const bool row_inside = ch_inside && iy >= 0 && iy < int(p.h);
      const int row = int((plane + uint(clamp(iy, 0, int(p.h) - 1))) * p.w);
      float values[6];
      if (VEC4) {
        // Inputs row + ix0 + DW s; texels past the binding (only under padding) are clamped to it.
        const int start = row + ix0, offset = start & 3;
        float held[4 * ROW_TEXELS];
        [[unroll]] for (int t = 0; t < ROW_TEXELS; ++t) {
          const vec4 texel = fetch4_clamped(x, (start >> 2) + t, p.texels);
          [[unroll]] for (int k = 0; k < 4; ++k) held[t * 4 + k] = texel[k];
        }
        [[unroll]] for (int s = 0; s < 6; ++s) {
          const int at = DW * s;
          values[s] = at_offset(offset, held[at], held[at + 1], held[at + 2], held[at + 3]);
        }
      } else {
        [[unroll]] for (int s = 0; s < 6; ++s) {
          values[s] = texelFetch(x, row + clamp(ix0 + DW * s, 0, int(p.w) - 1)).x;
        }
      }
      [[unroll]] for (int s = 0; s < 6; ++s) {
        const int ix = ix0 + DW * s;
        d[r][s][j] = mix(0.0, values[s], row_inside && ix >= 0 && ix < int(p.w));
      }
    }
  }
  // Columns of B^T d (transform each column), then rows of (B^T d) B.
  [[unroll]] for (int s = 0; s < 6; ++s) {
    vec4 col[6];
    [[unroll]] for (int r = 0; r < 6; ++r) col[r] = d[r][s];
    transform(col);
    [[unroll]] for (int r = 0; r < 6; ++r) d[r][s] = col[r];
  }
  const uint stride = p.c4 * p.tc;
  [[unroll]] for (int r = 0; r < 6; ++r) {
    vec4 row[6] = d[r];
    transform(row);
    [[unroll]] for (int s = 0; s < 6; ++s) v[(r * 6 + s) * stride + c4 * p.tc + tile] = row[s];
  }
}
