// Shared by every shader. Include it right after #version and any #extension lines.

// Storage type of activations and weights (`sfloat`): fp16 in the "<name>_fp16" variants, which
// cmake/Shaders.cmake compiles with VKSEG_FP16 defined, fp32 otherwise. Arithmetic stays fp32 in
// both: a load widens with float(...), a store narrows with sfloat(...). A product of two fp16
// values is exact in fp32, so only 16-bit storage (storageBuffer16BitAccess) is needed, not
// shaderFloat16.
#ifdef VKSEG_FP16
#extension GL_EXT_shader_16bit_storage : require
#define sfloat float16_t
#define svec4 f16vec4
#else
#define sfloat float
#define svec4 vec4
#endif

// The workgroup size comes from specialization constants 0, 1, 2.
layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;

// Index of this invocation in a flat 1-D launch folded into x and y (see ops::flat_grid).
uint flat_index() {
  return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x +
         gl_LocalInvocationID.x;
}
