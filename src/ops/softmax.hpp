#pragma once
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

// Softmax over the channel axis (torch.softmax(x, dim=1)), computed with the maximum
// subtracted so large logits do not overflow.
class Softmax {
 public:
  explicit Softmax(Context& context, Precision precision = Precision::Fp32);
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const;

 private:
  Context& context_;
  DType type_;
  const vk::Pipeline* pipeline_;
};

}  // namespace vkseg::ops
