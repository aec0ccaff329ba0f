// prelu in a model graph: nn.PReLU (ONNX PRelu with per-channel or one shared slope), computed by
// the element-wise shader with the slopes as its broadcast second operand.
#include <fmt/format.h>

#include "ops/elementwise.hpp"
#include "ops/registry.hpp"

namespace vkseg::ops {

namespace {

// The slope count of a weight of shape [k], [k, 1, 1] or [1, k, 1, 1]; 0 for any other shape.
int64_t slope_count(const std::vector<int64_t>& s) {
  if (s.size() == 1) return s[0];
  if (s.size() == 3 && s[1] == 1 && s[2] == 1) return s[0];
  if (s.size() == 4 && s[0] == 1 && s[2] == 1 && s[3] == 1) return s[1];
  return 0;
}

class PReluNode : public NodeOp {
 public:
  explicit PReluNode(const OpBuild& b)
      : op_(b.context, ElementwiseKind::PRelu, {}, b.precision),
        slope_(b.weight("slope")),
        slope_shape_{1, uint32_t(slope_count(slope_.shape)), 1, 1},
        type_(storage_type(b.precision)) {}
  std::vector<DeviceWeight> device_weights() const override {
    return {{slope_shape_, type_, [this] { return slope_.values; }}};
  }
  std::vector<Shape> output_shapes(const std::vector<Shape>& inputs) const override {
    const Shape out = broadcast_shape("prelu", inputs[0], slope_shape_);
    if (!(out == inputs[0])) {
      throw Error(fmt::format("prelu: {} slopes for an input of {} channels", slope_shape_.c,
                              inputs[0].c));
    }
    return {out};
  }
  uint64_t flops(const std::vector<Shape>&, const std::vector<Shape>& outputs) const override {
    return outputs[0].count();
  }
  void record(vk::Recorder& recorder, const OpIo& io) const override {
    op_.record(recorder, io.inputs[0], io.weights[0], io.outputs[0]);
  }

 private:
  Elementwise op_;
  const graph::WeightTensor& slope_;
  Shape slope_shape_;
  DType type_;
};

std::vector<int64_t> prelu_channels(const graph::Node& n, const graph::Weights& weights,
                                    const std::vector<int64_t>& inputs) {
  const int64_t slopes = slope_count(weight_shape(n, weights, "slope"));
  if (slopes != 1 && slopes != inputs[0]) {
    throw Error(fmt::format("slope '{}' must be of shape [C], [1], [C,1,1] or [1,C,1,1] with C "
                            "the input's {} channels",
                            n.weight("slope"), inputs[0]));
  }
  return {inputs[0]};
}

}  // namespace

const OpDef& prelu_op() {
  static const OpDef def = [] {
    OpSchema s{"prelu", "x >= 0 ? x : slope[c] * x (nn.PReLU), one slope or one per channel"};
    s.weights = {{"slope", true}};
    s.channels = prelu_channels;
    return OpDef{std::move(s), [](const OpBuild& b) { return std::make_unique<PReluNode>(b); }};
  }();
  return def;
}

}  // namespace vkseg::ops
