#pragma once
#include <cstdint>
#include <optional>

#include "ops/activation.hpp"
#include "vkseg/precision.hpp"

namespace vkseg::ops {

// The shaders that can compute a Conv2d. Auto picks one per layer shape and device (see
// Conv2d::chosen_variant); the others exist to be forced by tests.
enum class Conv2dVariant {
  Auto,
  Direct,     // one pixel x 4 channels per invocation: few-channel and grouped layers
  Gemm,       // implicit GEMM with register blocks, no shared memory: CPU devices
  Pointwise,  // 1x1 stride-1 unpadded convolution as a plain register-blocked GEMM
  Tiled,      // implicit GEMM with shared-memory tiles: GPUs
  Im2col,     // im2col packing + packed GEMM (groups = 1): CPU devices
  Winograd,   // Winograd F(4x4, 3x3) + packed GEMM (3x3, stride 1, dilation 1, groups = 1)
  Depthwise,  // a row strip of one channel per invocation (groups = input = output channels)
};
const char* variant_name(Conv2dVariant variant);

struct Conv2dParams {
  uint32_t in_channels = 0, out_channels = 0;
  uint32_t kernel_h = 1, kernel_w = 1;
  uint32_t stride_h = 1, stride_w = 1;
  uint32_t pad_h = 0, pad_w = 0;  // zero padding at the top and left
  // Zero padding at the bottom and right, where it differs from the top and left.
  std::optional<uint32_t> pad_bottom, pad_right;
  uint32_t dilation_h = 1, dilation_w = 1;
  uint32_t groups = 1;
  bool bias = true;
  Activation activation;  // fused after the bias
  // Test-only: forces a shader (Conv2d throws if it cannot run this layer on this device).
  Conv2dVariant variant = Conv2dVariant::Auto;
  // Test-only: the Im2col and Winograd variants' workspace budget in bytes (0: the default,
  // k_conv_workspace_budget), small to force many chunks.
  uint64_t workspace_budget = 0;
  Precision precision = Precision::Fp32;  // of input, weight and output; the bias is fp32

  uint32_t bottom() const { return pad_bottom.value_or(pad_h); }
  uint32_t right() const { return pad_right.value_or(pad_w); }
};

}  // namespace vkseg::ops
