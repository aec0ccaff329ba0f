#include "ops/relu.hpp"

#include "ops/dispatch.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

Relu::Relu(Context& context, Precision precision)
    : context_(context),
      type_(storage_type(precision)),
      pipeline_(&context.state().pipeline(
          {shader_variant(context, "relu", "relu", precision), {k_flat_local_size, 1, 1}, 2, 4})) {}

void Relu::record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const {
  require_fits("relu", "input", input, type_);
  require_fits("relu", "output", output, type_);
  require_shape("relu", "output", output.shape, input.shape);
  const uint32_t count = uint32_t(input.shape.count());
  const FlatGrid grid = flat_grid(context_.info(), count);
  recorder.dispatch(*pipeline_, {{input.view, vk::Access::Read}, {output.view, vk::Access::Write}},
                    &count, sizeof count, grid.x, grid.y, 1, "relu");
}

}  // namespace vkseg::ops
