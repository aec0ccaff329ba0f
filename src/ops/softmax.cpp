#include "ops/softmax.hpp"

#include "ops/dispatch.hpp"
#include "ops/registry.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

struct Push {
  uint32_t pixels, c, hw;
};

}  // namespace

Softmax::Softmax(Context& context, Precision precision)
    : context_(context),
      type_(storage_type(precision)),
      pipeline_(&vk::state(context).pipeline({shader_variant(context, "softmax", "softmax", precision),
                                           {k_flat_local_size, 1, 1},
                                           2,
                                           sizeof(Push)})) {}

void Softmax::record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const {
  require_fits("softmax", "input", input, type_);
  require_fits("softmax", "output", output, type_);
  require_shape("softmax", "output", output.shape, input.shape);
  const Shape& s = input.shape;
  if (s.count() == 0) return;
  const Push push{s.n * s.h * s.w, s.c, s.h * s.w};
  const FlatGrid grid = flat_grid(context_.info(), push.pixels);
  recorder.dispatch(*pipeline_, {{input.view, vk::Access::Read}, {output.view, vk::Access::Write}},
                    &push, sizeof push, grid.x, grid.y, 1, "softmax");
}

const OpDef& softmax_op() {
  static const OpDef def = [] {
    OpSchema s{"softmax", "softmax over the channels (torch.softmax(x, dim=1))"};
    s.attrs = {int_attr("axis", 1, 1, 1)};  // channels only
    s.channels = same_channels;
    return OpDef{std::move(s), [](const OpBuild& b) {
                   // max, exp, sum and divide per element
                   return std::make_unique<ShapePreservingNode<Softmax>>(
                       Softmax(b.context, b.precision), 4);
                 }};
  }();
  return def;
}

}  // namespace vkseg::ops
