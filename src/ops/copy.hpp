#pragma once
#include <cstdint>
#include <vector>

#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

// output = input, by a buffer copy: identity and dropout (inference) nodes, and a constant's
// weight copied into its output.
class TensorCopy {
 public:
  // `op` names the node's op in error messages.
  explicit TensorCopy(const char* op, Precision precision = Precision::Fp32)
      : op_(op), type_(storage_type(precision)) {}
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const;

 private:
  const char* op_;
  DType type_;
};

// The NCHW shape of a tensor of `dims` (rank 0 to 4), right-aligned: [] is 1x1x1x1, [C, 1, 1]
// is 1xCx1x1. Throws Error for a higher rank or an extent outside 1..2^32-1.
Shape right_aligned_shape(const std::vector<int64_t>& dims);

}  // namespace vkseg::ops
