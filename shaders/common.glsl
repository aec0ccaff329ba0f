// Shared by every shader: the workgroup size comes from specialization constants 0, 1, 2.
layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;

// Index of this invocation in a flat 1-D launch folded into x and y (see ops::flat_grid).
uint flat_index() {
  return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x +
         gl_LocalInvocationID.x;
}
