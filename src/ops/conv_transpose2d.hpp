#pragma once
#include <optional>
#include <vector>

#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

struct ConvTranspose2dParams {
  uint32_t in_channels = 0, out_channels = 0;
  uint32_t kernel_h = 1, kernel_w = 1;
  uint32_t stride_h = 1, stride_w = 1;
  uint32_t pad_h = 0, pad_w = 0;  // at the top and left
  std::optional<uint32_t> pad_bottom, pad_right;  // where they differ from the top and left
  uint32_t output_pad_h = 0, output_pad_w = 0;
  uint32_t dilation_h = 1, dilation_w = 1;
  uint32_t groups = 1;
  bool bias = true;
  Precision precision = Precision::Fp32;  // of input, weight and output; the bias is fp32

  uint32_t bottom() const { return pad_bottom.value_or(pad_h); }
  uint32_t right() const { return pad_right.value_or(pad_w); }
};

// What a transposed convolution takes over from the layers after it (FCN upsampling): computing
// only the window of its result at (crop_y, crop_x) that the output tensor holds, and adding the
// window at (addend_y, addend_x) of `addend` (same batch and channels) to it.
struct ConvTransposeFusion {
  uint32_t crop_y = 0, crop_x = 0;
  const Tensor* addend = nullptr;
  uint32_t addend_y = 0, addend_x = 0;
};

// Transposed convolution with PyTorch's semantics (nn.ConvTranspose2d), computed as a gather
// (each output element sums its contributions; no atomics), one stride phase per workgroup so
// that every lane reads the same weights.
class ConvTranspose2d {
 public:
  ConvTranspose2d(Context& context, const ConvTranspose2dParams& params);
  const ConvTranspose2dParams& params() const { return params_; }
  // PyTorch's weight shape: in x out/groups x kh x kw.
  Shape weight_shape() const;
  // The weights record() takes: PyTorch's repacked by prepare_weights into fp32 texels of 4
  // output channels (at every precision), a {1, 1, 1, count} tensor.
  Shape prepared_weight_shape() const;
  std::vector<float> prepare_weights(const std::vector<float>& weights) const;
  Shape output_shape(const Shape& input) const;
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& weight, const Tensor* bias,
              const Tensor& output, const ConvTransposeFusion& fusion = {}) const;

 private:
  const vk::Pipeline& pipeline(bool addend) const;
  Context& context_;
  ConvTranspose2dParams params_;
};

}  // namespace vkseg::ops
