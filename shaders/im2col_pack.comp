#version 450
#extension GL_EXT_control_flow_attributes : enable
// Packs the im2col matrix of a convolution (groups = 1) for gemm_packed.comp: row k = (channel,
// kernel row, kernel column), column = output pixel, K/4 x N texels of 4 consecutive k, with zeros
// for padding and for the rows past K. Columns col0 .. col0 + n - 1 of one image.
// An invocation packs the 4 texels of one k4 for 4 neighbouring output pixels of a row: for each
// of its k, their inputs lie SW apart in one input row. On a CPU device (lavapipe) a texel fetch
// costs about the same whatever its format, so with VEC4 (the host's choice where the input
// binding holds whole texels of 4) those 4 inputs come from the 2 or 3 texels that hold them,
// each picked out by its offset with selects; without, one fetch each.
#include "common.glsl"
#include "fetch4.glsl"

layout(constant_id = 3) const int KH = 3;
layout(constant_id = 4) const int KW = 3;
layout(constant_id = 5) const int SH = 1;
layout(constant_id = 6) const int SW = 1;
layout(constant_id = 7) const int PH = 0;
layout(constant_id = 8) const int PW = 0;
layout(constant_id = 9) const int DH = 1;
layout(constant_id = 10) const int DW = 1;
layout(constant_id = 11) const bool VEC4 = false;

const int SPAN = 3 * SW + 1;              // inputs from the first pixel's to the fourth's
const int SPAN_TEXELS = (SPAN + 3) / 4 + 1;  // texels of 4 that hold them at any offset

layout(push_constant) uniform Push {
  uint c, h, w;         // input channels and size
  uint ow;              // output width
  uint image;           // first input element of the image in the binding
  uint col0, n;         // output pixels packed: col0 .. col0 + n - 1
  uint k, k4;           // rows (c * KH * KW) and texel rows
  uint first_row;       // the output row of col0
  uint rows;            // output rows the columns touch
  uint row_blocks;      // blocks of 4 pixels per output row
  uint texels;          // texels in the input binding
} p;

// The input, NCHW: R32F or R16F texels, or with VEC4 RGBA32F or RGBA16F ones of 4 inputs.
layout(binding = 0) uniform samplerBuffer x;
layout(std430, binding = 1) writeonly buffer Packed { vec4 packed[]; };

// Inputs start + m * SW for m < 4. Outside the binding (only under padding, which the caller
// zeroes) the fetches are clamped to it.
vec4 four_inputs(int start) {
  vec4 v;
  if (VEC4) {
    const int offset = start & 3;
    float held[SPAN_TEXELS * 4];
    [[unroll]] for (int t = 0; t < SPAN_TEXELS; ++t) {
      const vec4 texel = fetch4_clamped(x, (start >> 2) + t, p.texels);
      [[unroll]] for (int j = 0; j < 4; ++j) held[t * 4 + j] = texel[j];
    }
    [[unroll]] for (int m = 0; m < 4; ++m) {
      v[m] = at_offset(offset, held[m * SW], held[m * SW + 1], held[m * SW + 2], held[m * SW + 3]);
    }
  } else {
    [[unroll]] for (int m = 0; m < 4; ++m) {
      v[m] = texelFetch(x, clamp(start + m * SW, 0, int(p.texels) - 1)).x;
    }
  }
  return v;
}

void main() {
  const uint i = flat_index();
  const uint blocks = p.rows * p.row_blocks;
  if (i >= p.k4 * blocks) return;
  const uint k4 = i / blocks, block = i % blocks;
  const uint oy = p.first_row + block / p.row_blocks;
  const uint ox0 = (block % p.row_blocks) * 4;
  // column[m]: the packed column of pixel ox0 + m, or -1 where it lies outside the chunk.
  int column[4];
  [[unroll]] for (int m = 0; m < 4; ++m) {
    const uint pixel = oy * p.ow + ox0 + m;
    const bool stored = ox0 + m < p.ow && pixel >= p.col0 && pixel < p.col0 + p.n;
    column[m] = stored ? int(pixel - p.col0) : -1;
  }
  vec4 v[4];  // v[m][j]: k = k4 * 4 + j of pixel ox0 + m
  [[unroll]] for (int j = 0; j < 4; ++j) {
    const uint k = k4 * 4 + j;
    vec4 inputs = vec4(0.0);
    if (k < p.k) {
      const uint ic = k / (KH * KW), tap = k % (KH * KW);
      const int iy = int(oy) * SH - PH + int(tap / KW) * DH;
      const int ix0 = int(ox0) * SW - PW + int(tap % KW) * DW;
      const bool row_inside = iy >= 0 && iy < int(p.h);
      const int row = int(p.image + (ic * p.h + uint(clamp(iy, 0, int(p.h) - 1))) * p.w);
      inputs = four_inputs(row + ix0);
      [[unroll]] for (int m = 0; m < 4; ++m) {
        const int ix = ix0 + m * SW;
        if (!(row_inside && ix >= 0 && ix < int(p.w))) inputs[m] = 0.0;
      }
    }
    [[unroll]] for (int m = 0; m < 4; ++m) v[m][j] = inputs[m];
  }
  [[unroll]] for (int m = 0; m < 4; ++m) {
    if (column[m] >= 0) packed[k4 * p.n + uint(column[m])] = v[m];
  }
}
