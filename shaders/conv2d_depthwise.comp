#version 450
#extension GL_EXT_control_flow_attributes : enable
// vkseg: variants fp32 fp16
// Depthwise 2-D convolution (NCHW; groups = input channels = output channels). Each invocation
// computes PX neighbouring outputs of one row of one channel; invocations walk a channel's
// output rows block by block, so neighbouring lanes read neighbouring inputs and narrow rows
// leave no lanes idle. Per kernel row, the inputs all PX outputs share are fetched once into a
// window when that takes fewer fetches than one per tap (stride and dilation decide). Every loop
// is unrolled, so the window and the sums are registers, not scratch memory. The input is a
// texel buffer: on a CPU device (lavapipe) a texel fetch is one gather where a storage-buffer
// load is a loop over lanes, and a fetch costs about the same whatever its format, so with VEC4
// (the host's choice where the binding holds whole texels of 4) a window is fetched 4 inputs at a
// time and each input picked out of them by its offset within a texel.
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
layout(constant_id = 11) const bool HAS_BIAS = true;
#define ACT_ID 12
#include "activation.glsl"
layout(constant_id = 15) const int PX = 8;  // outputs per invocation
layout(constant_id = 16) const bool VEC4 = false;  // the input binding's texels hold 4 inputs

// Inputs one kernel row of PX outputs covers, and whether fetching them all beats one per tap.
const int WINDOW = (PX - 1) * SW + (KW - 1) * DW + 1;
const bool USE_WINDOW = WINDOW <= PX * KW;
// Texels of 4 that hold a window starting at any offset within the first.
const int WINDOW_TEXELS = (WINDOW + 3) / 4 + 1;

// A dispatch computes consecutive channels of one image, one per workgroup row z.
layout(push_constant) uniform Push {
  uint h, w;            // input size
  uint oh, ow;          // output size
  uint input_first;     // the texel of the first channel's plane
  uint channel;         // the first channel (its bias)
  uint weight_channel;  // its place in the weight binding
  uint output_plane;    // its output plane (image * channels + channel)
  uint row_blocks;      // blocks of PX outputs per row
  uint texels;          // texels in the input binding
} p;

// The input, NCHW: R32F or R16F texels, or with VEC4 RGBA32F or RGBA16F ones of 4 inputs.
layout(binding = 0) uniform samplerBuffer x;
layout(std430, binding = 1) readonly buffer Weight { sfloat wt[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };  // fp32 at every precision
layout(std430, binding = 3) writeonly buffer Output { sfloat y[]; };

// Input (iy, ix) of this channel's plane, or the zero padding around it. Padding is zeros
// multiplied by the weights, not skipped: a NaN or infinite weight then makes every output it
// covers NaN, as PyTorch's convolution does.
float tap(int row, bool row_inside, int ix) {
  return row_inside && ix >= 0 && ix < int(p.w) ? texelFetch(x, row + ix).x : 0.0;
}

void main() {
  const uint index = gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (index >= p.oh * p.row_blocks) return;
  const uint oy = index / p.row_blocks, block = index % p.row_blocks;
  // The channel is uniform across the workgroup, so are the weight loads.
  const uint local_channel = gl_WorkGroupID.z;
  const float b = HAS_BIAS ? bias[p.channel + local_channel] : 0.0;
  float acc[PX];
  [[unroll]] for (int j = 0; j < PX; ++j) acc[j] = b;
  const int plane = int(p.input_first + local_channel * p.h * p.w);
  const uint weights = (p.weight_channel + local_channel) * uint(KH * KW);
  const int ix0 = int(block * PX) * SW - PW;
  [[unroll]] for (int ky = 0; ky < KH; ++ky) {
    const int iy = int(oy) * SH - PH + ky * DH;
    const bool row_inside = iy >= 0 && iy < int(p.h);
    const int row = plane + max(iy, 0) * int(p.w);
    if (USE_WINDOW) {
      float window[WINDOW];
      if (VEC4) {
        // Inputs row + ix0 + i: texel start / 4 + (offset + i) / 4, component (offset + i) % 4.
        // Texels past the binding (only under padding, which is zeroed) are clamped to it.
        const int start = row + ix0;
        const int offset = start & 3;
        float held[WINDOW_TEXELS * 4];
        [[unroll]] for (int t = 0; t < WINDOW_TEXELS; ++t) {
          const vec4 v = fetch4_clamped(x, (start >> 2) + t, p.texels);
          [[unroll]] for (int j = 0; j < 4; ++j) held[t * 4 + j] = v[j];
        }
        [[unroll]] for (int i = 0; i < WINDOW; ++i) {
          const float v = at_offset(offset, held[i], held[i + 1], held[i + 2], held[i + 3]);
          const int ix = ix0 + i;
          window[i] = row_inside && ix >= 0 && ix < int(p.w) ? v : 0.0;
        }
      } else {
        [[unroll]] for (int i = 0; i < WINDOW; ++i) window[i] = tap(row, row_inside, ix0 + i);
      }
      [[unroll]] for (int kx = 0; kx < KW; ++kx) {
        const float w = float(wt[weights + uint(ky * KW + kx)]);
        [[unroll]] for (int j = 0; j < PX; ++j) acc[j] += w * window[j * SW + kx * DW];
      }
    } else {
      [[unroll]] for (int kx = 0; kx < KW; ++kx) {
        const float w = float(wt[weights + uint(ky * KW + kx)]);
        [[unroll]] for (int j = 0; j < PX; ++j) {
          acc[j] += w * tap(row, row_inside, ix0 + j * SW + kx * DW);
        }
      }
    }
  }
  const uint out_row = ((p.output_plane + local_channel) * p.oh + oy) * p.ow;
  const uint ox = block * PX;
  [[unroll]] for (int j = 0; j < PX; ++j) {
    if (ox + j < p.ow) y[out_row + ox + j] = sfloat(activate(acc[j]));
  }
}
