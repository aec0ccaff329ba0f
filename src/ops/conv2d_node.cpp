// conv2d in a model graph: nn.Conv2d (or ONNX Conv) with a fused activation.
#include <fmt/format.h>

#include "ops/conv2d.hpp"
#include "ops/conv2d_tuner.hpp"
#include "ops/registry.hpp"
#include "vk/context_state.hpp"
#include "vkseg/text.hpp"

namespace vkseg::ops {

namespace {

Conv2dParams params_of(const OpBuild& b) {
  const graph::Node& n = b.node;
  const std::vector<int64_t>& w = b.weight("weight").shape;
  const graph::Ints& stride = n.attr_ints("stride");
  const graph::Ints& pads = n.attr_ints("pads");
  const graph::Ints& dilation = n.attr_ints("dilation");
  Conv2dParams p;
  p.groups = uint32_t(n.attr_int("groups"));
  p.out_channels = uint32_t(w[0]);
  p.in_channels = uint32_t(w[1]) * p.groups;
  p.kernel_h = uint32_t(w[2]), p.kernel_w = uint32_t(w[3]);
  p.stride_h = uint32_t(stride[0]), p.stride_w = uint32_t(stride[1]);
  p.pad_h = uint32_t(pads[0]), p.pad_w = uint32_t(pads[1]);
  if (pads[2] != pads[0]) p.pad_bottom = uint32_t(pads[2]);
  if (pads[3] != pads[1]) p.pad_right = uint32_t(pads[3]);
  p.dilation_h = uint32_t(dilation[0]), p.dilation_w = uint32_t(dilation[1]);
  p.bias = b.optional_weight("bias") != nullptr;
  p.activation = fused_activation(n);
  p.precision = b.precision;
  if (vk::state(b.context).autotune) p.variant = tuned_variant(b.context, p);
  return p;
}

class Conv2dNode : public NodeOp {
 public:
  explicit Conv2dNode(const OpBuild& b)
      : conv_(b.context, params_of(b)), weight_(b.weight("weight")), bias_(b.optional_weight("bias")) {}

  std::vector<DeviceWeight> device_weights() const override {
    std::vector<DeviceWeight> out{{conv_.prepared_weight_shape(), conv_.prepared_weight_type(),
                                   [this] { return conv_.prepare_weights(weight_.values); }}};
    if (bias_) {
      out.push_back({{1, conv_.params().out_channels, 1, 1}, DType::F32,
                     [this] { return bias_->values; }});
    }
    return out;
  }
  std::vector<Shape> output_shapes(const std::vector<Shape>& inputs) const override {
    return {conv_.output_shape(inputs[0])};
  }
  uint64_t flops(const std::vector<Shape>& inputs,
                 const std::vector<Shape>& outputs) const override {
    const Conv2dParams& p = conv_.params();
    return 2 * outputs[0].count() * (inputs[0].c / p.groups) * p.kernel_h * p.kernel_w;
  }
  uint64_t workspace_bytes(const std::vector<Shape>& inputs) const override {
    return conv_.workspace_bytes(inputs[0]);
  }
  void record(vk::Recorder& recorder, const OpIo& io) const override {
    const Tensor* bias = io.weights.size() > 1 ? &io.weights[1] : nullptr;
    conv_.record(recorder, io.inputs[0], io.weights[0], bias, io.outputs[0], &io.workspace);
  }

 private:
  Conv2d conv_;
  const graph::WeightTensor& weight_;
  const graph::WeightTensor* bias_;
};

std::vector<int64_t> conv2d_channels(const graph::Node& n, const graph::Weights& weights,
                                     const std::vector<int64_t>& inputs) {
  const std::vector<int64_t>& w = weight_shape(n, weights, "weight");
  const int64_t groups = n.attr_int("groups");
  if (w.size() != 4 || w[2] < 1 || w[3] < 1 || w[2] > 4096 || w[3] > 4096) {
    throw Error(fmt::format("weight '{}' is not out x in/groups x kh x kw",
                            printable(n.weight("weight"))));
  }
  if (w[0] % groups != 0) throw Error("its output channels do not divide into the groups");
  if (w[1] * groups != inputs[0]) {
    throw Error(fmt::format("weight '{}' takes {} channels but its input '{}' has {}",
                            printable(n.weight("weight")), w[1] * groups,
                            printable(n.inputs[0]), inputs[0]));
  }
  if (!n.weight("bias").empty()) {
    const std::vector<int64_t>& b = weight_shape(n, weights, "bias");
    if (b.size() != 1 || b[0] != w[0]) {
      throw Error(fmt::format("bias '{}' must hold {} values", printable(n.weight("bias")), w[0]));
    }
  }
  return {w[0]};
}

}  // namespace

const OpDef& conv2d_op() {
  static const OpDef def = [] {
    OpSchema s{"conv2d", "2-D convolution (nn.Conv2d) with an optional fused activation"};
    s.attrs = {ints_attr("stride", graph::Ints{1, 1}, 2, 1, 4096),
               ints_attr("pads", graph::Ints{0, 0, 0, 0}, 4, 0, 4096),  // top, left, bottom, right
               ints_attr("dilation", graph::Ints{1, 1}, 2, 1, 4096),
               int_attr("groups", 1, 1, 65536)};
    for (AttrSpec& a : fused_activation_attrs()) s.attrs.push_back(std::move(a));
    s.weights = {{"weight", true}, {"bias", false}};
    s.channels = conv2d_channels;
    return OpDef{std::move(s), [](const OpBuild& b) { return std::make_unique<Conv2dNode>(b); }};
  }();
  return def;
}

}  // namespace vkseg::ops
