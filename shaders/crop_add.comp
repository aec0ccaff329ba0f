#version 450
// vkseg: variants fp32 fp16
// FCN skip connection: y = crop(source) (+ addend), where the crop window starts at
// (offset_y, offset_x) of the larger source map. One invocation per output element.
#include "common.glsl"

layout(constant_id = 3) const bool ADD = true;

layout(push_constant) uniform Push {
  uint count;         // output elements
  uint oh, ow;        // output size
  uint sh, sw;        // source size
  uint offset_y, offset_x;
} p;

layout(std430, binding = 0) readonly buffer Source { sfloat src[]; };
layout(std430, binding = 1) readonly buffer Addend { sfloat addend[]; };
layout(std430, binding = 2) writeonly buffer Output { sfloat y[]; };

void main() {
  const uint i = flat_index();
  if (i >= p.count) return;
  const uint x = i % p.ow;
  const uint row = i / p.ow;
  const uint oy = row % p.oh;
  const uint plane = row / p.oh;  // n * channels + c, shared by output and source
  const float v = float(src[(plane * p.sh + oy + p.offset_y) * p.sw + x + p.offset_x]);
  y[i] = sfloat(ADD ? v + float(addend[i]) : v);
}
