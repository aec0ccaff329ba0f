#pragma once
#include <optional>

#include "ops/pool_window.hpp"
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

struct MaxPool2dParams {
  uint32_t kernel_h = 2, kernel_w = 2;
  uint32_t stride_h = 2, stride_w = 2;
  uint32_t pad_h = 0, pad_w = 0;  // implicit -inf padding at the top and left; at most half the
                                  // kernel
  std::optional<uint32_t> pad_bottom, pad_right;  // where they differ from the top and left
  uint32_t dilation_h = 1, dilation_w = 1;
  bool ceil_mode = false;  // Caffe-style FCNs round the output size up
  Precision precision = Precision::Fp32;  // of the input and output

  uint32_t bottom() const { return pad_bottom.value_or(pad_h); }
  uint32_t right() const { return pad_right.value_or(pad_w); }
};

// Max pooling with PyTorch's semantics (nn.MaxPool2d), including its ceil-mode rule that the
// last window must start inside the input or its left padding.
class MaxPool2d {
 public:
  MaxPool2d(Context& context, const MaxPool2dParams& params);
  const MaxPool2dParams& params() const { return params_; }
  Shape output_shape(const Shape& input) const;
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const;

 private:
  PoolWindow window() const;

  Context& context_;
  MaxPool2dParams params_;
  const vk::Pipeline* pipeline_;
};

}  // namespace vkseg::ops
