#pragma once
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

// Element-wise conversion between fp32 and fp16 tensors of one shape: an fp16 network's
// boundary, where the host writes an fp32 input and reads fp32 logits. fp32 -> fp16 rounds (to
// nearest or toward zero, as the device converts); fp16 -> fp32 is exact. Needs 16-bit storage.
class Convert {
 public:
  explicit Convert(Context& context);
  // input and output are one fp32 and one fp16 tensor, either way round.
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const;

 private:
  Context& context_;
  const vk::Pipeline* to_fp16_;
  const vk::Pipeline* to_fp32_;
};

}  // namespace vkseg::ops
