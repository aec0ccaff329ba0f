#pragma once
#include <vector>

#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

// Concatenation along channels (torch.cat(dim=1)): one copy dispatch per input.
class Concat {
 public:
  explicit Concat(Context& context, Precision precision = Precision::Fp32);
  Shape output_shape(const std::vector<Shape>& inputs) const;
  void record(vk::Recorder& recorder, const std::vector<Tensor>& inputs, const Tensor& output) const;

 private:
  Context& context_;
  DType type_;
  const vk::Pipeline* pipeline_;
};

}  // namespace vkseg::ops
