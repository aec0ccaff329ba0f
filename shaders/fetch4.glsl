// Reading activations 4 at a time through a texel buffer of RGBA texels (4 consecutive values
// each), for shaders that read runs of neighbours: on a CPU device (lavapipe) a texel fetch costs
// about the same whatever its format. A run starting at element `start` lies in the texels from
// start >> 2 on, from component start & 3 of the first.

// Texel `texel` of `x`, clamped to its `texels`: a run under padding may reach past the
// binding; the caller zeroes those values.
vec4 fetch4_clamped(samplerBuffer x, int texel, uint texels) {
  return texelFetch(x, clamp(texel, 0, int(texels) - 1));
}

// Of a run's values v0 .. v3, the one `offset` (0..3, the run's start within its first texel)
// past v0: selects, not an indexed read, since a per-lane index into registers would be a loop
// on a CPU device.
float at_offset(int offset, float v0, float v1, float v2, float v3) {
  return offset == 0 ? v0 : offset == 1 ? v1 : offset == 2 ? v2 : v3;
}
