#version 450
// vkseg: variants fp32 fp16
// Transposed 2-D convolution (NCHW) as a gather: one invocation per output element sums
// every input element whose scattered kernel footprint covers it, so no atomics are needed.
// Output row oy receives input row iy through tap ky when oy + PH = iy * SH + ky * DH.
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

layout(push_constant) uniform Push {
  uint c, h, w;     // input channels and size
  uint oc, oh, ow;  // output channels and size
  uint groups;
  uint count;       // output elements: n * oc * oh * ow
  uint oy0, ox0;    // where the output window starts in the full result
  uint ah, aw;      // addend size (it has n and oc like the output)
  uint ay0, ax0;    // where the window added starts in the addend
} p;

layout(std430, binding = 0) readonly buffer Input { sfloat x[]; };
layout(std430, binding = 1) readonly buffer Weight { sfloat wt[]; };  // in x out/groups x KH x KW
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };  // fp32 at every precision
layout(std430, binding = 3) writeonly buffer Output { sfloat y[]; };
layout(std430, binding = 4) readonly buffer Addend { sfloat a[]; };

// The smallest tap k whose offset k * D is congruent to pos (>= 0) modulo S, or k_none if no
// tap below `step` is (then none is at all).
int first_tap(int pos, int S, int D, int step, int k_none) {
  if (D == 1) return pos % S;
  for (int k = 0; k < step; ++k) {
    if ((k * D) % S == pos % S) return k;
  }
  return k_none;
}

void main() {
  const uint i = flat_index();
  if (i >= p.count) return;
  const uint plane_size = p.oh * p.ow;
  const uint pixel = i % plane_size;
  const uint o = (i / plane_size) % p.oc;
  const uint n = i / plane_size / p.oc;
  // Output position in the unpadded result, which is what the input scatters into.
  const int py = int(pixel / p.ow + p.oy0) + PH;
  const int px = int(pixel % p.ow + p.ox0) + PW;
  const uint cin = p.c / p.groups;
  const uint cout = p.oc / p.groups;
  const uint g = o / cout;
  const uint in_plane = p.h * p.w;
  const uint in_base = (n * p.c + g * cin) * in_plane;
  const uint w_base = (g * cin * cout + o % cout) * uint(KH * KW);
  const uint w_ic_stride = cout * uint(KH * KW);

  float acc = HAS_BIAS ? bias[o] : 0.0;
  for (int ky = first_tap(py, SH, DH, TAP_STEP_H, KH); ky < KH; ky += TAP_STEP_H) {
    const int ny = py - ky * DH;
    if (ny < 0) break;  // later taps reach further up still
    const int iy = ny / SH;
    if (iy >= int(p.h)) continue;
    for (int kx = first_tap(px, SW, DW, TAP_STEP_W, KW); kx < KW; kx += TAP_STEP_W) {
      const int nx = px - kx * DW;
      if (nx < 0) break;
      const int ix = nx / SW;
      if (ix >= int(p.w)) continue;
      uint xi = in_base + uint(iy) * p.w + uint(ix);
      uint wi = w_base + uint(ky * KW + kx);
      for (uint ic = 0; ic < cin; ++ic) {
        acc += float(x[xi]) * float(wt[wi]);
        xi += in_plane;
        wi += w_ic_stride;
      }
    }
  }
  if (HAS_ADDEND) {
    acc += float(a[((n * p.oc + o) * p.ah + pixel / p.ow + p.ay0) * p.aw + pixel % p.ow + p.ax0]);
  }
  y[i] = sfloat(acc);
}
