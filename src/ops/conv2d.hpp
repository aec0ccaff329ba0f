#pragma once
#include <memory>
#include <vector>

#include "ops/conv2d_packed.hpp"
#include "ops/conv2d_params.hpp"
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

// 2-D convolution with PyTorch's semantics (nn.Conv2d). Weight: out x in/groups x kh x kw.
class Conv2d {
 public:
  Conv2d(Context& context, const Conv2dParams& params);
  const Conv2dParams& params() const { return params_; }
  // PyTorch's weight shape: out x in/groups x kh x kw.
  Shape weight_shape() const;
  // The weights record() takes. Most variants read PyTorch's layout as it is; Im2col and Winograd
  // read them repacked (Winograd: transformed) once on the host by prepare_weights, a
  // {1, 1, 1, count} tensor.
  Shape prepared_weight_shape() const;
  DType prepared_weight_type() const;  // the storage type, except fp32 for Winograd
  std::vector<float> prepare_weights(const std::vector<float>& weights) const;
  // Scratch memory record() needs for an input of this shape; 0 when it needs none.
  uint64_t workspace_bytes(const Shape& input) const;
  Shape output_shape(const Shape& input) const;
  // Whether `variant` can compute a layer with these parameters on this device.
  static bool supports(const Context& context, const Conv2dParams& params, Conv2dVariant variant);
  // The variant the built-in rules choose for a layer (what Auto becomes without tuning).
  static Conv2dVariant rule_variant(const Context& context, const Conv2dParams& params);
  // The variant record() uses (params.variant unless that is Auto).
  Conv2dVariant chosen_variant() const { return variant_; }
  // bias may be null only when params.bias is false; workspace only when workspace_bytes is 0.
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& weight, const Tensor* bias,
              const Tensor& output, const Tensor* workspace = nullptr) const;

 private:
  Context& context_;
  Conv2dParams params_;
  Conv2dVariant variant_;
  DType type_;
  bool shuffle_weights_;  // the device can broadcast weights across 8 lanes by subgroup shuffle
  std::shared_ptr<const PackedConv> packed_;  // Im2col and Winograd
};

}  // namespace vkseg::ops
