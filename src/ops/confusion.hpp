#pragma once
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

// Adds one image's pixels to a classes x classes uint32 confusion matrix on the device, so
// evaluation never reads label maps back: predicted is a uint32 label map (n=1, c=1) at least as
// large as the truth map; truth holds uint32 labels, values >= classes are ignored.
class ConfusionCount {
 public:
  explicit ConfusionCount(Context& context);
  void record(vk::Recorder& recorder, const Tensor& predicted, const Tensor& truth,
              const Tensor& counts, uint32_t classes) const;

 private:
  Context& context_;
  const vk::Pipeline* pipeline_;
};

}  // namespace vkseg::ops
