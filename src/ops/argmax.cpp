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
    : context_(context), input_type_(storage_type(precision)) {
  const std::string shader = shader_variant(context, "argmax", "argmax", precision);
  pipeline_ = &vk::state(context).pipeline({shader, {k_flat_local_size, 1, 1, 0}, 3, sizeof(Push)});
  counting_pipeline_ =
      &vk::state(context).pipeline({shader, {k_flat_local_size, 1, 1, 1}, 3, sizeof(Push)});
}

void Argmax::record(vk::Recorder& recorder, const Tensor& input, const Tensor& output,
                    const Tensor* non_finite) const {
  require_fits("argmax", "input", input, input_type_);
  require_fits("argmax", "output", output, DType::U32);
  if (non_finite) require_fits("argmax", "non-finite count", *non_finite, DType::U32);
  require_shape("argmax", "output", output.shape, output_shape(input.shape));
  const Shape& s = input.shape;
  if (s.c == 0) throw Error("argmax: the input has no channels");
  const Push push{uint32_t(output.shape.count()), s.c, s.h * s.w};
  if (push.pixels == 0) return;
  const FlatGrid grid = flat_grid(context_.info(), push.pixels);
  // Without a count, binding 2 gets the labels, which the shader then never touches through it.
  recorder.dispatch(non_finite ? *counting_pipeline_ : *pipeline_,
                    {{input.view, vk::Access::Read},
                     {output.view, vk::Access::Write},
                     {(non_finite ? *non_finite : output).view, vk::Access::ReadWrite}},
                    &push, sizeof push, grid.x, grid.y, 1, "argmax");
}

}  // namespace vkseg::ops
