#include "ops/activation.hpp"

#include <fmt/format.h>

#include <cfloat>

#include "ops/dispatch.hpp"
#include "ops/registry.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

// Each stand-alone activation op: its kind and the attributes its alpha and beta come from.
struct ActivationOpInfo {
  const char* op;
  ActivationKind kind;
  const char* alpha_attr;  // nullptr: none
  const char* beta_attr;
  double alpha_default, beta_default;
};

constexpr ActivationOpInfo k_activation_ops[] = {
    {"relu", ActivationKind::Relu, nullptr, nullptr, 0, 0},
    {"leaky_relu", ActivationKind::LeakyRelu, "alpha", nullptr, 0.01, 0},
    {"clip", ActivationKind::Clip, "min", "max", -FLT_MAX, FLT_MAX},
    {"sigmoid", ActivationKind::Sigmoid, nullptr, nullptr, 0, 0},
    // ONNX's defaults; PyTorch's Hardsigmoid is alpha 1/6, beta 1/2.
    {"hard_sigmoid", ActivationKind::HardSigmoid, "alpha", "beta", 0.2, 0.5},
    {"hard_swish", ActivationKind::HardSwish, nullptr, nullptr, 0, 0},
    {"tanh", ActivationKind::Tanh, nullptr, nullptr, 0, 0},
};

const ActivationOpInfo& info_of(std::string_view op) {
  for (const ActivationOpInfo& info : k_activation_ops) {
    if (op == info.op) return info;
  }
  throw Error(fmt::format("internal error: '{}' is not an activation", op));
}

OpDef activation_def(const char* name, const char* summary) {
  const ActivationOpInfo& info = info_of(name);
  OpSchema schema{name, summary};
  if (info.alpha_attr) schema.attrs.push_back(float_attr(info.alpha_attr, info.alpha_default));
  if (info.beta_attr) schema.attrs.push_back(float_attr(info.beta_attr, info.beta_default));
  schema.channels = same_channels;
  return {std::move(schema), [](const OpBuild& b) {
            return std::make_unique<ShapePreservingNode<ActivationOp>>(
                ActivationOp(b.context, *activation_of(b.node), b.precision), 1);
          }};
}

}  // namespace

std::vector<uint32_t> Activation::constants() const {
  return {uint32_t(kind), vk::float_bits(alpha), vk::float_bits(beta)};
}

const char* activation_name(ActivationKind kind) {
  if (kind == ActivationKind::None) return "none";
  for (const ActivationOpInfo& info : k_activation_ops) {
    if (info.kind == kind) return info.op;
  }
  return "?";
}

std::vector<std::string> activation_names() {
  std::vector<std::string> names{"none"};
  for (const ActivationOpInfo& info : k_activation_ops) names.push_back(info.op);
  return names;
}

std::vector<AttrSpec> fused_activation_attrs() {
  return {string_attr("activation", "none", activation_names()),
          float_attr("activation_alpha", 0.0), float_attr("activation_beta", 0.0)};
}

Activation fused_activation(const graph::Node& node) {
  const std::string& name = node.attr_string("activation");
  if (name == "none") return {};
  return {info_of(name).kind, float(node.attr_float("activation_alpha")),
          float(node.attr_float("activation_beta"))};
}

void set_fused_activation(graph::Node& node, const Activation& activation) {
  node.attrs["activation"] = std::string(activation_name(activation.kind));
  node.attrs["activation_alpha"] = double(activation.alpha);
  node.attrs["activation_beta"] = double(activation.beta);
}

std::optional<Activation> activation_of(const graph::Node& node) {
  for (const ActivationOpInfo& info : k_activation_ops) {
    if (node.op != info.op) continue;
    Activation a{info.kind};
    if (info.alpha_attr) a.alpha = float(node.attr_float(info.alpha_attr));
    if (info.beta_attr) a.beta = float(node.attr_float(info.beta_attr));
    return a;
  }
  return std::nullopt;
}

ActivationOp::ActivationOp(Context& context, const Activation& activation, Precision precision)
    : context_(context), type_(storage_type(precision)) {
  std::vector<uint32_t> constants{k_flat_local_size, 1, 1};
  const std::vector<uint32_t> act = activation.constants();
  constants.insert(constants.end(), act.begin(), act.end());
  pipeline_ = &vk::state(context).pipeline(
      {shader_variant(context, "activation", "activation", precision), constants, 2, 4});
}

void ActivationOp::record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const {
  require_fits("activation", "input", input, type_);
  require_fits("activation", "output", output, type_);
  require_shape("activation", "output", output.shape, input.shape);
  const uint32_t count = uint32_t(input.shape.count());
  const FlatGrid grid = flat_grid(context_.info(), count);
  recorder.dispatch(*pipeline_, {{input.view, vk::Access::Read}, {output.view, vk::Access::Write}},
                    &count, sizeof count, grid.x, grid.y, 1, "activation");
}

const OpDef& relu_op() {
  static const OpDef def = activation_def("relu", "max(x, 0)");
  return def;
}
const OpDef& leaky_relu_op() {
  static const OpDef def = activation_def("leaky_relu", "x < 0 ? alpha * x : x");
  return def;
}
const OpDef& clip_op() {
  static const OpDef def = activation_def("clip", "min(max(x, min), max); ReLU6 is clip 0..6");
  return def;
}
const OpDef& sigmoid_op() {
  static const OpDef def = activation_def("sigmoid", "1 / (1 + exp(-x))");
  return def;
}
const OpDef& hard_sigmoid_op() {
  static const OpDef def = activation_def("hard_sigmoid", "clamp(alpha * x + beta, 0, 1)");
  return def;
}
const OpDef& hard_swish_op() {
  static const OpDef def = activation_def("hard_swish", "x * relu6(x + 3) / 6");
  return def;
}
const OpDef& tanh_op() {
  static const OpDef def = activation_def("tanh", "tanh(x)");
  return def;
}

}  // namespace vkseg::ops
