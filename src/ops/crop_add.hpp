#pragma once
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

// output[n,c,y,x] = source[n,c,y+offset_y,x+offset_x] (+ addend[n,c,y,x] when adding).
// The output has the addend's shape (or, for a plain crop, the output tensor's own shape); the
// window must lie inside the source. This is FCN's skip connection: crop the larger score map to
// the smaller one and sum.
class CropAdd {
 public:
  CropAdd(Context& context, bool add, Precision precision = Precision::Fp32);
  bool adds() const { return add_; }
  void record(vk::Recorder& recorder, const Tensor& source, const Tensor* addend,
              const Tensor& output, uint32_t offset_y, uint32_t offset_x) const;

 private:
  Context& context_;
  bool add_;
  DType type_;
  const vk::Pipeline* pipeline_;
};

}  // namespace vkseg::ops
