#pragma once
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

// Bilinear resize with PyTorch's semantics (F.interpolate(mode="bilinear") with an output size):
// align_corners=true maps corner to corner; false maps pixel centres and clamps at the border.
class ResizeBilinear {
 public:
  ResizeBilinear(Context& context, bool align_corners, Precision precision = Precision::Fp32);
  bool align_corners() const { return align_corners_; }
  // The output tensor's shape gives the target size.
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const;

 private:
  Context& context_;
  bool align_corners_;
  DType type_;
  const vk::Pipeline* pipeline_;
};

}  // namespace vkseg::ops
