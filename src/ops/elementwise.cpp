#include "ops/elementwise.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "ops/dispatch.hpp"
#include "ops/registry.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

// elementwise.comp: up to k_run outputs of a row per invocation.
constexpr uint32_t k_run = 8;
struct Push {
  uint32_t runs, c, h, w;
  uint32_t a_stride[4], b_stride[4];
  uint32_t row_runs, row0, a_origin, b_origin;
};

// Element strides of a tensor of shape `s` along n, c, h, w, 0 along its extents of 1 so that
// they repeat across the output.
void broadcast_strides(const Shape& s, uint32_t (&stride)[4]) {
  const uint32_t extent[4] = {s.n, s.c, s.h, s.w};
  uint32_t step = 1;
  for (int d = 3; d >= 0; --d) {
    stride[d] = extent[d] == 1 ? 0 : step;
    step *= extent[d];
  }
}

}  // namespace

const char* elementwise_name(ElementwiseKind kind) {
  switch (kind) {
    case ElementwiseKind::Add: return "add";
    case ElementwiseKind::Sub: return "sub";
    case ElementwiseKind::Mul: return "mul";
    case ElementwiseKind::Div: return "div";
    case ElementwiseKind::PRelu: return "prelu";
  }
  return "?";
}

Shape broadcast_shape(const char* op, const Shape& a, const Shape& b) {
  auto extent = [&](uint32_t x, uint32_t y) {
    if (x != y && x != 1 && y != 1) {
      throw Error(fmt::format("{}: {} and {} do not broadcast (each dimension must be equal or 1 "
                              "in one of them)",
                              op, a.str(), b.str()));
    }
    return std::max(x, y);
  };
  return {extent(a.n, b.n), extent(a.c, b.c), extent(a.h, b.h), extent(a.w, b.w)};
}

Elementwise::Elementwise(Context& context, ElementwiseKind kind, const Activation& activation,
                         Precision precision)
    : context_(context), kind_(kind), type_(storage_type(precision)) {
  std::vector<uint32_t> constants{k_flat_local_size, 1, 1, uint32_t(kind)};
  const std::vector<uint32_t> act = activation.constants();
  constants.insert(constants.end(), act.begin(), act.end());
  pipeline_ = &vk::state(context).pipeline(
      {shader_variant(context, elementwise_name(kind), "elementwise", precision), constants, 3,
       sizeof(Push), 0b011});
}

void Elementwise::record(vk::Recorder& recorder, const Tensor& a, const Tensor& b,
                         const Tensor& output) const {
  const char* op = elementwise_name(kind_);
  require_fits(op, "first input", a, type_);
  require_fits(op, "second input", b, type_);
  require_fits(op, "output", output, type_);
  const Shape& o = output.shape;
  require_shape(op, "output", o, broadcast_shape(op, a.shape, b.shape));
  if (o.count() == 0) return;
  const DeviceInfo& info = context_.info();
  const uint32_t row_runs = ceil_div(o.w, k_run);
  Push push{0, o.c, o.h, o.w, {}, {}, row_runs, 0, 0, 0};
  broadcast_strides(a.shape, push.a_stride);
  broadcast_strides(b.shape, push.b_stride);
  const uint32_t element = element_bytes(type_);
  const VkFormat format = activation_texel_format(type_);
  // A dispatch computes the channels of one image whose input ranges fit a texel buffer: an
  // input's range over `count` channels is at most `count` output planes.
  const uint64_t step = units_per_texel_window(info, uint64_t(o.h) * o.w, element);
  // The range of an input with `stride` that channels c0 .. c0 + count - 1 of image n read.
  auto window = [&](const Tensor& t, const uint32_t (&stride)[4], uint32_t n, uint32_t c0,
                    uint32_t count, uint32_t& origin) {
    const uint64_t first = uint64_t(n) * stride[0] + uint64_t(c0) * stride[1];
    const uint64_t last = first + uint64_t(count - 1) * stride[1] + uint64_t(o.h - 1) * stride[2] +
                          uint64_t(o.w - 1) * stride[3];
    const TexelWindow w = texel_window(info, t.view, first, last - first + 1, element);
    origin = uint32_t(first - w.first_texel);
    return w.view;
  };
  for (uint32_t n = 0; n < o.n; ++n) {
    for (uint32_t c0 = 0, count = 0; c0 < o.c; c0 += count) {
      count = uint32_t(std::min<uint64_t>(o.c - c0, step));
      const uint64_t runs = uint64_t(count) * o.h * row_runs;
      push.runs = uint32_t(runs);
      push.row0 = (n * o.c + c0) * o.h;
      const vk::BufferView a_range = window(a, push.a_stride, n, c0, count, push.a_origin);
      const vk::BufferView b_range = window(b, push.b_stride, n, c0, count, push.b_origin);
      const FlatGrid grid = flat_grid(info, runs);
      recorder.dispatch(*pipeline_,
                        {{a_range, vk::Access::Read, format},
                         {b_range, vk::Access::Read, format},
                         {output.view, vk::Access::Write}},
                        &push, sizeof push, grid.x, grid.y, 1, op);
    }
  }
}

namespace {

// add, sub, mul, div: inputs (a, b) and a fused activation.
class BinaryNode : public NodeOp {
 public:
  BinaryNode(const OpBuild& b, ElementwiseKind kind)
      : op_(b.context, kind, fused_activation(b.node), b.precision) {}
  std::vector<Shape> output_shapes(const std::vector<Shape>& inputs) const override {
    return {broadcast_shape(elementwise_name(op_.kind()), inputs[0], inputs[1])};
  }
  uint64_t flops(const std::vector<Shape>&, const std::vector<Shape>& outputs) const override {
    return outputs[0].count();
  }
  void record(vk::Recorder& recorder, const OpIo& io) const override {
    op_.record(recorder, io.inputs[0], io.inputs[1], io.outputs[0]);
  }

 private:
  Elementwise op_;
};

std::vector<int64_t> broadcast_channels(const graph::Node& node, const graph::Weights&,
                                        const std::vector<int64_t>& inputs) {
  const int64_t a = inputs[0], b = inputs[1];
  if (a != b && a != 1 && b != 1) {
    throw Error(fmt::format("inputs '{}' ({} channels) and '{}' ({}) do not broadcast: channels "
                            "must be equal or 1 in one of them",
                            node.inputs[0], a, node.inputs[1], b));
  }
  return {std::max(a, b)};
}

template <ElementwiseKind kind>
const OpDef& binary_def(const char* summary) {
  static const OpDef def = [&] {
    OpSchema s{elementwise_name(kind), summary};
    s.min_inputs = s.max_inputs = 2;
    s.attrs = fused_activation_attrs();
    s.channels = broadcast_channels;
    return OpDef{std::move(s), [](const OpBuild& b) {
                   return std::make_unique<BinaryNode>(b, kind);
                 }};
  }();
  return def;
}

}  // namespace

const OpDef& add_op() {
  return binary_def<ElementwiseKind::Add>("a + b, broadcast, with an optional fused activation");
}
const OpDef& sub_op() {
  return binary_def<ElementwiseKind::Sub>("a - b, broadcast, with an optional fused activation");
}
const OpDef& mul_op() {
  return binary_def<ElementwiseKind::Mul>("a * b, broadcast, with an optional fused activation");
}
const OpDef& div_op() {
  return binary_def<ElementwiseKind::Div>("a / b, broadcast, with an optional fused activation");
}

}  // namespace vkseg::ops
