#pragma once
// Element-wise activations: as ops of their own (relu, sigmoid, ...: one shader, one host class)
// and fused into the op before them (convolutions, element-wise arithmetic). Every one
// propagates NaN as PyTorch does: NaN in, NaN out.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "ops/registry.hpp"
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

// The codes match shaders/activation.glsl.
enum class ActivationKind : uint32_t {
  None = 0,
  Relu = 1,
  LeakyRelu = 2,    // x < 0 ? alpha * x : x
  Clip = 3,         // min(max(x, alpha), beta): ReLU6 is clip(0, 6)
  Sigmoid = 4,
  HardSigmoid = 5,  // max(0, min(1, alpha * x + beta)): PyTorch's is alpha 1/6, beta 1/2
  HardSwish = 6,    // x * relu6(x + 3) / 6
  Tanh = 7,
};

struct Activation {
  ActivationKind kind = ActivationKind::None;
  float alpha = 0.0f, beta = 0.0f;
  // Specialization constants: the code, then alpha's and beta's bits.
  std::vector<uint32_t> constants() const;
  bool operator==(const Activation&) const = default;
};

// "none", "relu", "leaky_relu", "clip", "sigmoid", "hard_sigmoid", "hard_swish", "tanh".
const char* activation_name(ActivationKind kind);
std::vector<std::string> activation_names();

// The attributes that fuse an activation into the op before it: "activation" (a name above),
// "activation_alpha" and "activation_beta", for the schema of an op that takes one.
std::vector<AttrSpec> fused_activation_attrs();
Activation fused_activation(const graph::Node& node);
void set_fused_activation(graph::Node& node, const Activation& activation);
// The activation a stand-alone activation node computes, or nullopt for any other node.
std::optional<Activation> activation_of(const graph::Node& node);

// An activation as an op of its own: output = f(input), same shape; input and output may be
// the same tensor.
class ActivationOp {
 public:
  ActivationOp(Context& context, const Activation& activation,
               Precision precision = Precision::Fp32);
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const;

 private:
  Context& context_;
  DType type_;
  const vk::Pipeline* pipeline_;
};

}  // namespace vkseg::ops
