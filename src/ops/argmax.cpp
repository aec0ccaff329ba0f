#include "ops/argmax.hpp"

#include "ops/dispatch.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

struct Push {
  uint32_t pixels, c, hw;
};

}  // namespace

Argmax::Argmax(Context& context, Precision precision)
    : context_(context),
      input_type_(storage_type(precision)),
      pipeline_(&context.state().pipeline({shader_variant(context, "argmax", "argmax", precision),
                                           {k_flat_local_size, 1, 1},
                                           2,
                                           sizeof(Push)})) {}

void Argmax::record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const {
  require_fits("argmax", "input", input, input_type_);
  require_fits("argmax", "output", output, DType::U32);
  require_shape("argmax", "output", output.shape, output_shape(input.shape));
  const Shape& s = input.shape;
  if (s.c == 0) throw Error("argmax: the input has no channels");
  const Push push{uint32_t(output.shape.count()), s.c, s.h * s.w};
  if (push.pixels == 0) return;
  const FlatGrid grid = flat_grid(context_.info(), push.pixels);
  recorder.dispatch(*pipeline_, {{input.view, vk::Access::Read}, {output.view, vk::Access::Write}},
                    &push, sizeof push, grid.x, grid.y, 1, "argmax");
}

}  // namespace vkseg::ops
