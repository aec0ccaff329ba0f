#pragma once
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

// Global average or max pooling: N x C x H x W -> N x C x 1 x 1 (adaptive_avg_pool2d(x, 1),
// torch.amax(x, (2, 3), keepdim=True); a NaN anywhere in a plane makes its maximum NaN). Each
// plane is reduced in parallel by a power-of-two share of a workgroup, as large as it takes to
// fill the device: on a GPU large maps cost their size divided by that share; on a CPU device,
// which a plane per invocation fills, the share is one and the shared-memory tree drops out.
class GlobalPool {
 public:
  GlobalPool(Context& context, bool max, Precision precision = Precision::Fp32);
  bool is_max() const { return max_; }
  Shape output_shape(const Shape& input) const { return {input.n, input.c, 1, 1}; }
  uint64_t flops(const Shape& input, const Shape&) const { return input.count(); }
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const;

 private:
  Context& context_;
  bool max_;
  DType type_;
  const vk::Pipeline* pipeline_;
};

}  // namespace vkseg::ops
