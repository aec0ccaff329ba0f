#pragma once
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

// output = max(input, 0); input and output may be the same tensor (in place).
class Relu {
 public:
  explicit Relu(Context& context, Precision precision = Precision::Fp32);
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const;

 private:
  Context& context_;
  DType type_;
  const vk::Pipeline* pipeline_;
};

}  // namespace vkseg::ops
