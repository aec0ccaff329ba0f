#version 450
// vkseg: variants fp32 fp16
// Direct 2-D convolution (NCHW). Each invocation computes OC_BLOCK output channels of one
// output pixel: the x dimension walks pixels of one output plane, so neighbouring lanes load
// neighbouring inputs, while every lane of a workgroup reads the same weights (a broadcast).
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
layout(constant_id = 15) const uint OC_BLOCK = 4;

layout(push_constant) uniform Push {
  uint c, h, w;       // input channels and size
  uint oc, oh, ow;    // output channels and size
  uint groups;
  uint oc_begin, oc_end;  // output channels of this dispatch; the weight binding starts at oc_begin
} p;

layout(std430, binding = 0) readonly buffer Input { sfloat x[]; };
layout(std430, binding = 1) readonly buffer Weight { sfloat wt[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };  // fp32 at every precision
layout(std430, binding = 3) writeonly buffer Output { sfloat y[]; };

void main() {
  const uint pixel = gl_GlobalInvocationID.x;
  const uint oc0 = p.oc_begin + gl_GlobalInvocationID.y * OC_BLOCK;
  const uint n = gl_GlobalInvocationID.z;
  if (pixel >= p.oh * p.ow || oc0 >= p.oc_end) return;
  const int oy = int(pixel / p.ow);
  const int ox = int(pixel % p.ow);
  const uint cin = p.c / p.groups;
  const uint cout = p.oc / p.groups;

  float acc[OC_BLOCK];
  for (uint j = 0; j < OC_BLOCK; ++j) {
    const uint o = min(oc0 + j, p.oc_end - 1);
    acc[j] = HAS_BIAS ? bias[o] : 0.0;
  }
  // A block may straddle a group boundary; each output channel reads its own group's inputs.
  const uint group_first = oc0 / cout;
  const uint group_last = min(oc0 + OC_BLOCK - 1, p.oc_end - 1) / cout;
  for (uint g = group_first; g <= group_last; ++g) {
    for (uint ic = 0; ic < cin; ++ic) {
      const uint in_base = ((n * p.c + g * cin + ic) * p.h) * p.w;
      for (int ky = 0; ky < KH; ++ky) {
        const int iy = oy * SH - PH + ky * DH;
        const bool row_inside = iy >= 0 && iy < int(p.h);
        for (int kx = 0; kx < KW; ++kx) {
          const int ix = ox * SW - PW + kx * DW;
          // Padding is zeros multiplied by the weights, not skipped: a NaN or infinite weight
          // then makes every output it covers NaN, as PyTorch's convolution does.
          const float v = row_inside && ix >= 0 && ix < int(p.w)
                              ? float(x[in_base + uint(iy) * p.w + uint(ix)])
                              : 0.0;
          for (uint j = 0; j < OC_BLOCK; ++j) {
            const uint o = min(oc0 + j, p.oc_end - 1);
            if (o / cout != g) continue;
            acc[j] += v * float(wt[(((o - p.oc_begin) * cin + ic) * KH + ky) * KW + kx]);
          }
        }
      }
    }
  }
  for (uint j = 0; j < OC_BLOCK; ++j) {
    const uint o = oc0 + j;
    if (o >= p.oc_end) break;
    const float v = activate(acc[j]);
    y[((n * p.oc + o) * p.oh) * p.ow + pixel] = sfloat(v);
  }
}
