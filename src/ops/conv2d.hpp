#pragma once
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

struct Conv2dParams {
  uint32_t in_channels = 0, out_channels = 0;
  uint32_t kernel_h = 1, kernel_w = 1;
  uint32_t stride_h = 1, stride_w = 1;
  uint32_t pad_h = 0, pad_w = 0;  // zero padding on both sides
  uint32_t dilation_h = 1, dilation_w = 1;
  uint32_t groups = 1;
  bool bias = true;
  bool relu = false;  // fused ReLU after the bias
};

// 2-D convolution with PyTorch's semantics (nn.Conv2d). Weight: out x in/groups x kh x kw.
class Conv2d {
 public:
  Conv2d(Context& context, const Conv2dParams& params);
  const Conv2dParams& params() const { return params_; }
  Shape weight_shape() const;
  Shape output_shape(const Shape& input) const;
  // bias may be null only when params.bias is false.
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& weight, const Tensor* bias,
              const Tensor& output) const;

 private:
  Context& context_;
  Conv2dParams params_;
  const vk::Pipeline* pipeline_;
};

}  // namespace vkseg::ops
