#pragma once
// Element-wise arithmetic of two tensors with numpy (ONNX) broadcasting over NCHW: along each
// dimension the inputs have the same extent or one of them has 1, which is repeated. One shader
// computes every kind, followed by a fused activation (ResNet's add + ReLU is one dispatch).
#include <cstdint>

#include "ops/activation.hpp"
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

// The codes match shaders/elementwise.comp. IEEE semantics: x / 0 is +-inf, 0 / 0 is NaN, NaN
// propagates.
enum class ElementwiseKind : uint32_t {
  Add = 0,
  Sub = 1,
  Mul = 2,
  Div = 3,
  PRelu = 4,  // a >= 0 ? a : b * a, b the slopes (nn.PReLU)
};

// "add", "sub", "mul", "div", "prelu".
const char* elementwise_name(ElementwiseKind kind);

// The shape of a op b: per dimension the larger extent; throws Error naming both shapes unless
// each dimension is equal or 1 in one of them.
Shape broadcast_shape(const char* op, const Shape& a, const Shape& b);

// output = activation(a op b), output of broadcast_shape(a, b). The output must not overlap
// either input.
class Elementwise {
 public:
  Elementwise(Context& context, ElementwiseKind kind, const Activation& activation = {},
              Precision precision = Precision::Fp32);
  ElementwiseKind kind() const { return kind_; }
  void record(vk::Recorder& recorder, const Tensor& a, const Tensor& b,
              const Tensor& output) const;

 private:
  Context& context_;
  ElementwiseKind kind_;
  DType type_;
  const vk::Pipeline* pipeline_;
};

}  // namespace vkseg::ops
