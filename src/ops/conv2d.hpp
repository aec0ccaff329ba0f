#pragma once
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

// The shaders that can compute a Conv2d. Auto picks one per layer shape and device (see
// Conv2d::chosen_variant); the others exist to be forced by tests.
enum class Conv2dVariant {
  Auto,
  Direct,     // one pixel x 4 channels per invocation: depthwise and few-channel layers
  Gemm,       // implicit GEMM with register blocks, no shared memory: CPU devices
  Pointwise,  // 1x1 stride-1 unpadded convolution as a plain register-blocked GEMM
  Tiled,      // implicit GEMM with shared-memory tiles: GPUs
};
const char* variant_name(Conv2dVariant variant);

struct Conv2dParams {
  uint32_t in_channels = 0, out_channels = 0;
  uint32_t kernel_h = 1, kernel_w = 1;
  uint32_t stride_h = 1, stride_w = 1;
  uint32_t pad_h = 0, pad_w = 0;  // zero padding on both sides
  uint32_t dilation_h = 1, dilation_w = 1;
  uint32_t groups = 1;
  bool bias = true;
  bool relu = false;  // fused ReLU after the bias
  // Test-only: forces a shader (Conv2d throws if it cannot run this layer on this device).
  Conv2dVariant variant = Conv2dVariant::Auto;
  Precision precision = Precision::Fp32;  // of input, weight and output; the bias is fp32
};

// 2-D convolution with PyTorch's semantics (nn.Conv2d). Weight: out x in/groups x kh x kw.
class Conv2d {
 public:
  Conv2d(Context& context, const Conv2dParams& params);
  const Conv2dParams& params() const { return params_; }
  Shape weight_shape() const;
  Shape output_shape(const Shape& input) const;
  // Whether `variant` can compute a layer with these parameters on this device.
  static bool supports(const Context& context, const Conv2dParams& params, Conv2dVariant variant);
  // The variant record() uses (params.variant unless that is Auto).
  Conv2dVariant chosen_variant() const { return variant_; }
  // bias may be null only when params.bias is false.
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& weight, const Tensor* bias,
              const Tensor& output) const;

 private:
  Context& context_;
  Conv2dParams params_;
  Conv2dVariant variant_;
  DType type_;
  bool shuffle_weights_;  // the device can broadcast weights across 8 lanes by subgroup shuffle
};

}  // namespace vkseg::ops
