#include "ops/concat.hpp"

#include <fmt/format.h>

#include "ops/dispatch.hpp"
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
      pipeline_(&context.state().pipeline({shader_variant(context, "concat", "concat", precision),
                                           {k_flat_local_size, 1, 1},
                                           2,
                                           sizeof(Push)})) {}

Shape Concat::output_shape(const std::vector<Tensor>& inputs) const {
  if (inputs.empty()) throw Error("concat: no inputs");
  Shape out = inputs.front().shape;
  out.c = 0;
  for (const Tensor& t : inputs) {
    const Shape& s = t.shape;
    if (s.n != out.n || s.h != out.h || s.w != out.w) {
      throw Error(fmt::format("concat: input {} does not match {} in batch, height or width",
                              s.str(), inputs.front().shape.str()));
    }
    out.c += s.c;
  }
  return out;
}

void Concat::record(vk::Recorder& recorder, const std::vector<Tensor>& inputs,
                    const Tensor& output) const {
  for (const Tensor& t : inputs) require_fits("concat", "input", t, type_);
  require_fits("concat", "output", output, type_);
  require_shape("concat", "output", output.shape, output_shape(inputs));
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

}  // namespace vkseg::ops
