#pragma once
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

// Label map: output[n,0,y,x] (uint32) = index of the largest input[n,:,y,x], the first one on
// ties and a NaN counting as largest, as torch.argmax does. The input is fp32 or, at fp16
// precision, fp16.
class Argmax {
 public:
  explicit Argmax(Context& context, Precision precision = Precision::Fp32);
  Shape output_shape(const Shape& input) const { return {input.n, 1, input.h, input.w}; }
  // With `non_finite` (one U32, zeroed by the caller), each pixel with a NaN or infinite score
  // adds one to it.
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& output,
              const Tensor* non_finite = nullptr) const;

 private:
  Context& context_;
  DType input_type_;
  const vk::Pipeline* pipeline_;
  const vk::Pipeline* counting_pipeline_;
};

}  // namespace vkseg::ops
