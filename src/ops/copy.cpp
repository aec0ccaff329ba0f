// identity, dropout and constant: nodes that copy a tensor.
#include "ops/copy.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ops/registry.hpp"

namespace vkseg::ops {

void TensorCopy::record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const {
  require_fits(op_, "input", input, type_);
  require_fits(op_, "output", output, type_);
  require_shape(op_, "output", output.shape, input.shape);
  // The ranges may be longer than the tensors; a copy needs two of the same size.
  const uint64_t bytes = input.bytes();
  recorder.copy({input.view.buffer, input.view.offset, bytes},
                {output.view.buffer, output.view.offset, bytes});
}

Shape right_aligned_shape(const std::vector<int64_t>& dims) {
  if (dims.size() > 4) {
    throw Error(fmt::format("a tensor of shape [{}] has {} dimensions; at most 4 (NCHW) are "
                            "supported",
                            fmt::join(dims, ", "), dims.size()));
  }
  uint32_t extent[4] = {1, 1, 1, 1};
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = dims[dims.size() - 1 - i];
    if (d < 1 || d > int64_t(UINT32_MAX)) {
      throw Error(fmt::format("a tensor of shape [{}] has an extent outside 1..2^32-1",
                              fmt::join(dims, ", ")));
    }
    extent[3 - i] = uint32_t(d);
  }
  return {extent[0], extent[1], extent[2], extent[3]};
}

namespace {

// identity and dropout: the input, unchanged (dropout's ratio only matters in training).
OpDef pass_through_def(const char* name, const char* summary, std::vector<AttrSpec> attrs,
                       ChannelRule channels) {
  OpSchema s{name, summary};
  s.attrs = std::move(attrs);
  s.channels = std::move(channels);
  return {std::move(s), [name](const OpBuild& b) {
            return std::make_unique<ShapePreservingNode<TensorCopy>>(TensorCopy(name, b.precision),
                                                                     0);
          }};
}

class ConstantNode : public NodeOp {
 public:
  explicit ConstantNode(const OpBuild& b)
      : copy_("constant", b.precision),
        value_(b.weight("value")),
        shape_(right_aligned_shape(value_.shape)),
        type_(storage_type(b.precision)) {}
  std::vector<DeviceWeight> device_weights() const override {
    return {{shape_, type_, [this] { return value_.values; }}};
  }
  std::vector<Shape> output_shapes(const std::vector<Shape>&) const override { return {shape_}; }
  uint64_t flops(const std::vector<Shape>&, const std::vector<Shape>&) const override { return 0; }
  void record(vk::Recorder& recorder, const OpIo& io) const override {
    copy_.record(recorder, io.weights[0], io.outputs[0]);
  }

 private:
  TensorCopy copy_;
  const graph::WeightTensor& value_;
  Shape shape_;
  DType type_;
};

}  // namespace

const OpDef& identity_op() {
  static const OpDef def = pass_through_def("identity", "the input, copied", {}, same_channels);
  return def;
}

const OpDef& dropout_op() {
  static const OpDef def = pass_through_def(
      "dropout", "the input, copied: dropout does nothing at inference", {float_attr("ratio", 0.5)},
      [](const graph::Node& n, const graph::Weights& w, const std::vector<int64_t>& in) {
        const double ratio = n.attr_float("ratio");
        if (ratio < 0 || ratio >= 1) {
          throw Error(fmt::format("'ratio' is {}; a dropout ratio is in [0, 1)", ratio));
        }
        return same_channels(n, w, in);
      });
  return def;
}

const OpDef& constant_op() {
  static const OpDef def = [] {
    OpSchema s{"constant", "the weight 'value' (rank 0 to 4, right-aligned to NCHW)"};
    s.min_inputs = s.max_inputs = 0;
    s.weights = {{"value", true}};
    s.channels = [](const graph::Node& n, const graph::Weights& w, const std::vector<int64_t>&) {
      return std::vector<int64_t>{right_aligned_shape(weight_shape(n, w, "value")).c};
    };
    return OpDef{std::move(s), [](const OpBuild& b) { return std::make_unique<ConstantNode>(b); }};
  }();
  return def;
}

}  // namespace vkseg::ops
