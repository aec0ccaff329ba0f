#version 450
// vkseg: variants fp32 fp16
#extension GL_EXT_control_flow_attributes : enable
// Winograd F(4x4, 3x3) output transform: Y = A^T M A (+ bias, activation) of gemm_packed.comp's
// products M for every tile of this chunk, 4 output channels at a time, into the NCHW output.
// With ROW4 (the host's choice where the output width is a multiple of 4) a tile's row of 4 is
// one store: on a CPU device (lavapipe) every store is a loop over the lanes, whatever its width.
// A dilated layer's tiles hold outputs DH rows and DW columns apart (winograd_tiles.glsl).
#include "common.glsl"
#include "winograd_tiles.glsl"

layout(constant_id = 3) const bool HAS_BIAS = true;
#define ACT_ID 4
#include "activation.glsl"
layout(constant_id = 7) const bool ROW4 = false;  // only where DW is 1
layout(constant_id = 8) const int DH = 1;
layout(constant_id = 9) const int DW = 1;

layout(push_constant) uniform Push {
  uint oc, oh, ow;                   // output channels and size
  uint tiles_w, tiles_per_image;     // tiles per output row and per image
  uint res_h, res_w;                 // sub-grids along each axis: min(dilation, output extent)
  uint t0, tc;                       // tiles of this chunk: t0 .. t0 + tc - 1, over the batch
  uint oc4;                          // ceil(oc / 4)
} p;

layout(binding = 0) uniform samplerBuffer m;  // [36][OC/4][tc] texels of 4 channels
layout(std430, binding = 1) readonly buffer Bias { float bias[]; };
layout(std430, binding = 2) writeonly buffer Out { sfloat y[]; };
layout(std430, binding = 2) writeonly buffer Out4 { svec4 y_row4[]; };

// A^T applied to one column (or row) of 6.
void transform(in vec4 d[6], out vec4 r[4]) {
  const vec4 s12 = d[1] + d[2], d12 = d[1] - d[2];
  const vec4 s34 = d[3] + d[4], d34 = d[3] - d[4];
  r[0] = d[0] + s12 + s34;
  r[1] = d12 + 2.0 * d34;
  r[2] = s12 + 4.0 * s34;
  r[3] = d12 + 8.0 * d34 + d[5];
}

void main() {
  const uint i = flat_index();
  if (i >= p.oc4 * p.tc) return;
  const uint c4 = i / p.tc, tile = i % p.tc;
  const uint t = p.t0 + tile;
  const uint image = t / p.tiles_per_image, in_image = t % p.tiles_per_image;
  const uint oy0 = uint(tile_origin(in_image / p.tiles_w, p.res_h, DH));
  const uint ox0 = uint(tile_origin(in_image % p.tiles_w, p.res_w, DW));

  const uint stride = p.oc4 * p.tc;
  vec4 cols[4][6];  // A^T M: [output row][xi column]
  [[unroll]] for (int s = 0; s < 6; ++s) {
    vec4 col[6];
    [[unroll]] for (int r = 0; r < 6; ++r) {
      col[r] = texelFetch(m, int((r * 6 + s) * stride + c4 * p.tc + tile));
    }
    vec4 out4[4];
    transform(col, out4);
    [[unroll]] for (int r = 0; r < 4; ++r) cols[r][s] = out4[r];
  }
  vec4 y4[4][4];  // A^T M A: [output row][output column], 4 channels
  [[unroll]] for (int r = 0; r < 4; ++r) transform(cols[r], y4[r]);
  [[unroll]] for (int j = 0; j < 4; ++j) {
    const uint o = c4 * 4 + j;
    const float b = HAS_BIAS ? bias[min(o, p.oc - 1)] : 0.0;
    const uint plane = (image * p.oc + o) * p.oh;
    if (ROW4) {
      [[unroll]] for (int r = 0; r < 4; ++r) {
        vec4 v;
        [[unroll]] for (int s = 0; s < 4; ++s) v[s] = activate(y4[r][s][j] + b);
        const uint oy = oy0 + DH * r;
        if (o < p.oc && oy < p.oh) y_row4[((plane + oy) * p.ow + ox0) / 4] = svec4(v);
      }
      continue;
    }
    [[unroll]] for (int r = 0; r < 4; ++r) {
      [[unroll]] for (int s = 0; s < 4; ++s) {
        const float v = y4[r][s][j] + b;
        const uint oy = oy0 + DH * r, ox = ox0 + DW * s;
        if (o < p.oc && oy < p.oh && ox < p.ow) y[(plane + oy) * p.ow + ox] = sfloat(activate(v));
      }
    }
  }
}
