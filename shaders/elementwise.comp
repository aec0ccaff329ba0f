#version 450
// vkseg: variants fp32 fp16
// y = act(a op b) with numpy broadcasting over NCHW: each input reads its element through
// strides that are 0 along the dimensions it broadcasts. Each invocation computes a run of up to
// RUN outputs along a row: the index arithmetic (integer divisions, which a CPU device does lane
// by lane) is paid once per run instead of once per element. The inputs are texel buffers: on a
// CPU device (lavapipe) a texel fetch is one gather where a storage-buffer load is a loop over
// lanes.
#include "common.glsl"

// ops::ElementwiseKind: 0 add, 1 sub, 2 mul, 3 div, 4 prelu (a >= 0 ? a : b * a).
layout(constant_id = 3) const int OP = 0;
#define ACT_ID 4
#include "activation.glsl"

const uint RUN = 8;

// A dispatch computes consecutive rows; each input's binding is the range of it they read.
layout(push_constant) uniform Push {
  uint runs;       // invocations: rows times runs per row
  uint c, h, w;    // output channels, height, width
  uvec4 a_stride;  // element strides of a along n, c, h, w (0 where a broadcasts)
  uvec4 b_stride;
  uint row_runs;   // runs per row: ceil(w / RUN)
  uint row0;       // the first row (of n * c * h)
  uint a_origin;   // the element of a at texel 0 of its binding
  uint b_origin;
} p;

layout(binding = 0) uniform samplerBuffer a;  // R32F or R16F texels
layout(binding = 1) uniform samplerBuffer b;
layout(std430, binding = 2) writeonly buffer Output { sfloat y[]; };

// Plain IEEE arithmetic: x / 0 is +-inf, 0 / 0 NaN, and NaN propagates through every one (a NaN
// fails prelu's comparison and gives b * NaN).
float combine(float u, float v) {
  if (OP == 0) return u + v;
  if (OP == 1) return u - v;
  if (OP == 2) return u * v;
  if (OP == 3) return u / v;
  return u >= 0.0 ? u : v * u;
}

uint offset_of(uvec4 at, uvec4 stride) {
  return at.x * stride.x + at.y * stride.y + at.z * stride.z + at.w * stride.w;
}

void main() {
  const uint t = flat_index();
  if (t >= p.runs) return;
  const uint row = p.row0 + t / p.row_runs;
  const uint x0 = (t % p.row_runs) * RUN;
  const uint plane = row / p.h;  // n * channels + c
  const uvec4 at = uvec4(plane / p.c, plane % p.c, row % p.h, x0);
  uint ia = offset_of(at, p.a_stride) - p.a_origin, ib = offset_of(at, p.b_stride) - p.b_origin;
  const uint first = row * p.w + x0, end = min(RUN, p.w - x0);
  for (uint j = 0; j < end; ++j) {
    y[first + j] = sfloat(activate(combine(texelFetch(a, int(ia)).x, texelFetch(b, int(ib)).x)));
    ia += p.a_stride.w;
    ib += p.b_stride.w;
  }
}
