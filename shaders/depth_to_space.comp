#version 450
// vkseg: variants fp32 fp16
// ONNX DepthToSpace (NCHW), one invocation per output element: output (c, y, x) reads input
// channel (by B + bx) C + c (DCR) or (c B + by) B + bx (CRD) at (y / B, x / B), where
// (by, bx) = (y % B, x % B) and C is the output's channel count.
#include "common.glsl"

layout(constant_id = 3) const uint B = 2;
layout(constant_id = 4) const bool CRD = false;

layout(push_constant) uniform Push {
  uint count;  // output elements
  uint c;      // output channels
  uint h, w;   // input size
} p;

layout(std430, binding = 0) readonly buffer Input { sfloat x[]; };
layout(std430, binding = 1) writeonly buffer Output { sfloat y[]; };

void main() {
  const uint i = flat_index();
  if (i >= p.count) return;
  const uint ox = i % (p.w * B);
  uint rest = i / (p.w * B);
  const uint oy = rest % (p.h * B);
  rest /= p.h * B;
  const uint c = rest % p.c;
  const uint n = rest / p.c;
  const uint by = oy % B, bx = ox % B;
  const uint ic = CRD ? (c * B + by) * B + bx : (by * B + bx) * p.c + c;
  y[i] = x[((n * p.c * B * B + ic) * p.h + oy / B) * p.w + ox / B];
}
