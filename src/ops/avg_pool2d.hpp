#pragma once
#include "ops/pool_window.hpp"
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

struct AvgPool2dParams {
  uint32_t kernel_h = 2, kernel_w = 2;
  uint32_t stride_h = 2, stride_w = 2;
  // Zero padding before and after each axis; at most half the kernel, as PyTorch requires.
  uint32_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool ceil_mode = false;
  bool count_include_pad = true;  // PyTorch's default (ONNX's is false)
  Precision precision = Precision::Fp32;  // of the input and output
};

// Average pooling with PyTorch's semantics (nn.AvgPool2d): the output size of max pooling (its
// ceil-mode rule included), and a divisor counting the window's elements inside the padded
// input when count_include_pad (a ceil-mode window reaching past the padding counts less), inside
// the input otherwise.
class AvgPool2d {
 public:
  AvgPool2d(Context& context, const AvgPool2dParams& params);
  const AvgPool2dParams& params() const { return params_; }
  Shape output_shape(const Shape& input) const;
  uint64_t flops(const Shape& input, const Shape& output) const;
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const;

 private:
  PoolWindow window() const;

  Context& context_;
  AvgPool2dParams params_;
  const vk::Pipeline* pipeline_;
};

}  // namespace vkseg::ops
