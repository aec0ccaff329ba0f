#include "ops/concat.hpp"

#include <fmt/format.h>

#include "ops/dispatch.hpp"
#include "ops/registry.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

struct Push {
  uint32_t count, in_batch, out_batch, offset;
};

}  // namespace

Concat::Concat(Context& context, Precision precision)
    : context_(context),
      type_(storage_type(precision)),
      pipeline_(&vk::state(context).pipeline({shader_variant(context, "concat", "concat", precision),
                                           {k_flat_local_size, 1, 1},
                                           2,
                                           sizeof(Push)})) {}

Shape Concat::output_shape(const std::vector<Shape>& inputs) const {
  if (inputs.empty()) throw Error("concat: no inputs");
  Shape out = inputs.front();
  out.c = 0;
  for (const Shape& s : inputs) {
    if (s.n != out.n || s.h != out.h || s.w != out.w) {
      throw Error(fmt::format("concat: input {} does not match {} in batch, height or width",
                              s.str(), inputs.front().str()));
    }
    out.c += s.c;
  }
  return out;
}

void Concat::record(vk::Recorder& recorder, const std::vector<Tensor>& inputs,
                    const Tensor& output) const {
  for (const Tensor& t : inputs) require_fits("concat", "input", t, type_);
  require_fits("concat", "output", output, type_);
  std::vector<Shape> shapes;
  for (const Tensor& t : inputs) shapes.push_back(t.shape);
  require_shape("concat", "output", output.shape, output_shape(shapes));
  const Shape& o = output.shape;
  const uint32_t plane = o.h * o.w;
  uint32_t channel = 0;
  for (const Tensor& t : inputs) {
    const uint32_t count = uint32_t(t.shape.count());
    // Every copy binds the whole output (its channel ranges interleave across the batch), so the
    // recorder orders the copies one after another.
    if (count > 0) {
      const Push push{count, t.shape.c * plane, o.c * plane, channel * plane};
      const FlatGrid grid = flat_grid(context_.info(), count);
      recorder.dispatch(*pipeline_, {{t.view, vk::Access::Read}, {output.view, vk::Access::Write}},
                        &push, sizeof push, grid.x, grid.y, 1, "concat");
    }
    channel += t.shape.c;
  }
}

namespace {

class ConcatNode : public NodeOp {
 public:
  explicit ConcatNode(const OpBuild& b) : op_(b.context, b.precision) {}
  std::vector<Shape> output_shapes(const std::vector<Shape>& inputs) const override {
    return {op_.output_shape(inputs)};
  }
  uint64_t flops(const std::vector<Shape>&, const std::vector<Shape>&) const override { return 0; }
  void record(vk::Recorder& recorder, const OpIo& io) const override {
    op_.record(recorder, io.inputs, io.outputs[0]);
  }

 private:
  Concat op_;
};

}  // namespace

const OpDef& concat_op() {
  static const OpDef def = [] {
    OpSchema s{"concat", "concatenation along the channels (torch.cat(dim=1))"};
    s.max_inputs = 256;
    s.attrs = {int_attr("axis", 1, 1, 1)};  // channels only
    s.channels = [](const graph::Node&, const graph::Weights&, const std::vector<int64_t>& in) {
      int64_t total = 0;
      for (int64_t c : in) total += c;
      return std::vector<int64_t>{total};
    };
    return OpDef{std::move(s), [](const OpBuild& b) { return std::make_unique<ConcatNode>(b); }};
  }();
  return def;
}

}  // namespace vkseg::ops
