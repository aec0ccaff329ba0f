#version 450
// Dense CRF filtering, splat: each lattice vertex gathers the barycentric-weighted
// probabilities of the pixels whose simplices contain it, four classes per invocation. The sums
// are kept in 64-bit fixed point (units of 2^-24), so they do not depend on the order crf_fill
// laid the splat list out in: the refinement is deterministic. Planes are pixel-major, classes
// padded to a multiple of four.
#include "common.glsl"
#include "crf_lattice.glsl"

layout(push_constant) uniform Push {
  uint vertices, quads;  // quads = padded classes / 4
} p;

layout(std430, binding = 0) readonly buffer Offsets { uint offsets[]; };
layout(std430, binding = 1) readonly buffer Counts { uint splat_count[]; };
layout(std430, binding = 2) readonly buffer Splats { uint splat_entry[]; };
layout(std430, binding = 3) readonly buffer Barycentric { float barycentric[]; };
layout(std430, binding = 4) readonly buffer Input { vec4 x[]; };        // pixels x quads
layout(std430, binding = 5) writeonly buffer Values { vec4 values[]; };  // vertices x quads

const float UNIT = 16777216.0;  // 2^24

void main() {
  const uint i = flat_index();
  if (i >= p.vertices * p.quads) return;
  const uint v = i / p.quads, quad = i % p.quads;
  const uint first = offsets[v];
  const uint last = first + splat_count[v];
  uvec4 low = uvec4(0u), high = uvec4(0u);
  bool finite = true;
  for (uint k = first; k < last; ++k) {
    const uint e = splat_entry[k];
    const vec4 term = barycentric[e] * x[(e / D1) * p.quads + quad];
    // A NaN (from NaN logits) spreads, as a floating-point sum would spread it. Barycentric
    // weights can be a rounding error below 0.
    finite = finite && all(lessThanEqual(floatBitsToUint(term) & 0x7fffffffu, uvec4(0x7f800000u)));
    uvec4 carry;
    low = uaddCarry(low, uvec4(clamp(term, 0.0, 1.0) * UNIT + 0.5), carry);
    high += carry;
  }
  values[i] = finite ? vec4(high) * (4294967296.0 / UNIT) + vec4(low) / UNIT
                     : vec4(uintBitsToFloat(0x7fc00000u));
}
