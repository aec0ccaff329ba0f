#pragma once
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

// ONNX DepthToSpace: N x C x H x W -> N x C/b^2 x Hb x Wb, output (c, hb + i, wb + j) taken from
// input channel (i b + j) C/b^2 + c in DCR mode ("depth, column, row") or c b^2 + i b + j in CRD
// mode (PyTorch's pixel_shuffle).
class DepthToSpace {
 public:
  DepthToSpace(Context& context, uint32_t blocksize, bool crd, Precision precision = Precision::Fp32);
  Shape output_shape(const Shape& input) const;
  uint64_t flops(const Shape&, const Shape&) const { return 0; }
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const;

 private:
  Context& context_;
  uint32_t blocksize_;
  DType type_;
  const vk::Pipeline* pipeline_;
};

}  // namespace vkseg::ops
