#pragma once
// The dense CRF's appearance kernel as a permutohedral lattice on the device (Adams, Baek and
// Davis 2010): built once per image from its pixels' 5-D features (x, y, r, g, b over their
// standard deviations), then used to Gaussian-filter any number of per-class planes in time
// linear in the pixel count.
#include <cstdint>

#include "vk/buffer.hpp"
#include "vk/recorder.hpp"

namespace vkseg::crf {

class PermutohedralLattice {
 public:
  // Builds the lattice of a width x height image (RGB, 3 bytes a pixel) on the device; submits
  // and waits, since the vertex count sizes the filtering buffers. Throws Error when the image
  // or the standard deviations cannot be represented (coordinates beyond fp32 resolution).
  PermutohedralLattice(Context& context, const uint8_t* rgb, uint32_t width, uint32_t height,
                       float xy_std, float rgb_std);

  uint32_t pixels() const { return pixels_; }
  uint32_t vertices() const { return vertices_; }
  // Device memory the lattice holds, and the scratch filtering needs, for `quads` x 4 values
  // per pixel.
  uint64_t bytes() const;
  uint64_t scratch_bytes(uint32_t quads) const;

  // Records output = Gaussian-filtered input, approximately (the lattice's), for pixel-major
  // planes of `quads` vec4 per pixel, using `scratch` (of scratch_bytes(quads) at least).
  void record_filter(vk::Recorder& recorder, vk::BufferView input, vk::BufferView output,
                     uint32_t quads, const vk::Buffer& scratch) const;

 private:
  Context& context_;
  uint32_t pixels_ = 0, vertices_ = 0;
  vk::Buffer barycentric_;      // pixels x (D + 1) weights
  vk::Buffer vertex_of_entry_;  // pixels x (D + 1) vertex indices
  vk::Buffer splat_offsets_;    // per vertex: its splat list's first index
  vk::Buffer splat_counts_;     // per vertex: its splat list's length
  vk::Buffer splat_entries_;    // pixels x (D + 1): entries grouped by vertex
  vk::Buffer neighbours_;       // vertices x (D + 1) x 2
};

}  // namespace vkseg::crf
