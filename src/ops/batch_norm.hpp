#pragma once
#include <vector>

#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

// Inference batch norm (nn.BatchNorm2d in eval mode) as one affine per channel:
// (x - mean) / sqrt(var + epsilon) * scale + bias = x * a + b, with
// a = scale / sqrt(var + epsilon) and b = bias - mean * a, computed in double. An empty scale
// means 1s and an empty bias 0s (affine=False).
struct ChannelAffineValues {
  std::vector<float> scale, shift;  // a and b, one per channel
};
ChannelAffineValues batch_norm_affine(const std::vector<float>& mean,
                                      const std::vector<float>& var,
                                      const std::vector<float>& scale,
                                      const std::vector<float>& bias, double epsilon);

// output = input * scale[c] + shift[c], same shape; scale and shift are fp32 tensors of shape
// 1xCx1x1 at either precision.
class ChannelAffine {
 public:
  ChannelAffine(Context& context, Precision precision = Precision::Fp32);
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& scale,
              const Tensor& shift, const Tensor& output) const;

 private:
  Context& context_;
  DType type_;
  const vk::Pipeline* pipeline_;
};

}  // namespace vkseg::ops
