#pragma once
// Dense CRF refinement of a network's scores (Krähenbühl and Koltun, "Efficient Inference in
// Fully Connected CRFs with Gaussian Edge Potentials", 2011), as DeepLab v1/v2 post-process
// theirs: mean-field inference with Potts compatibility, an appearance kernel over position and
// colour and a smoothness kernel over position, all on the device.
#include <cstdint>
#include <memory>
#include <vector>

#include "vkseg/context.hpp"
#include "vkseg/model.hpp"

namespace vkseg {

// Defaults: DeepLab v2's published PASCAL VOC settings (ResNet-101, run_densecrf.sh).
struct CrfOptions {
  uint32_t iterations = 10;
  float appearance_weight = 4.0f;   // w1
  float appearance_xy_std = 67.0f;  // theta_alpha, pixels
  float appearance_rgb_std = 3.0f;  // theta_beta, 8-bit intensity levels
  float smoothness_weight = 3.0f;   // w2
  float smoothness_xy_std = 1.0f;   // theta_gamma, pixels
};

// Throws Error naming the first parameter out of its range (standard deviations in
// [0.1, 10000] (smoothness: at most 64), weights finite and >= 0, at most 1000 iterations).
void validate_crf_options(const CrfOptions& options);

// Refines label maps of one network's logits. The appearance kernel is filtered with a
// permutohedral lattice (linear in the pixel count, approximate); the smoothness kernel with an
// exact separable Gaussian. One thread at a time.
class DenseCrf {
 public:
  DenseCrf(Context& context, const CrfOptions& options);
  ~DenseCrf();
  DenseCrf(DenseCrf&&) noexcept;
  DenseCrf& operator=(DenseCrf&&) noexcept;

  const CrfOptions& options() const;

  // Refines `logits` (fp32, `classes` planes of logits_height x logits_width on the context's
  // device, such as Session::logits_range()) over the image `rgb` (3 bytes a pixel, width x
  // height, covering the logits' top-left corner). Returns the labels (uint32, height x width)
  // on the device, valid until the next refine(); waits for the device.
  DeviceRange refine(DeviceRange logits, uint32_t classes, uint32_t logits_width,
                     uint32_t logits_height, const uint8_t* rgb, uint32_t width, uint32_t height);
  // The last refine()'s labels and class probabilities (classes x height x width), downloaded.
  std::vector<uint32_t> read_labels() const;
  std::vector<float> read_probabilities() const;
  // Pixels of the last refine() whose probabilities hold a NaN or an infinity.
  uint64_t non_finite_pixels() const;
  // Device memory the last refine() used: lattice, per-class planes and labels.
  uint64_t device_bytes() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vkseg
