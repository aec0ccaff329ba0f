#version 450
// vkseg: variants fp16
// Converts between fp32 tensors (what the host writes and reads) and fp16 activations:
// TO_FP16 narrows wide into narrow, otherwise narrow is widened (exactly) into wide. One
// invocation per element.
#include "common.glsl"

layout(constant_id = 3) const bool TO_FP16 = true;

layout(push_constant) uniform Push { uint count; } p;

// Which binding is read and which written depends on TO_FP16, so neither is qualified.
layout(std430, binding = 0) buffer Wide { float wide[]; };
layout(std430, binding = 1) buffer Narrow { sfloat narrow[]; };

void main() {
  const uint i = flat_index();
  if (i >= p.count) return;
  if (TO_FP16) {
    narrow[i] = sfloat(wide[i]);
  } else {
    wide[i] = float(narrow[i]);
  }
}
