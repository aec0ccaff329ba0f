#include "ops/convert.hpp"

#include "ops/dispatch.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

const vk::Pipeline& convert_pipeline(Context& context, bool to_fp16) {
  return vk::state(context).pipeline(
      {shader_variant(context, "convert", "convert", Precision::Fp16),
       {k_flat_local_size, 1, 1, to_fp16},
       2,
       sizeof(uint32_t)});
}

}  // namespace

Convert::Convert(Context& context)
    : context_(context),
      to_fp16_(&convert_pipeline(context, true)),
      to_fp32_(&convert_pipeline(context, false)) {}

void Convert::record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const {
  const bool to_fp16 = input.dtype == DType::F32;
  require_fits("convert", "input", input, to_fp16 ? DType::F32 : DType::F16);
  require_fits("convert", "output", output, to_fp16 ? DType::F16 : DType::F32);
  require_shape("convert", "output", output.shape, input.shape);
  const uint32_t count = uint32_t(input.shape.count());
  if (count == 0) return;
  const FlatGrid grid = flat_grid(context_.info(), count);
  // Binding 0 is the fp32 tensor and binding 1 the fp16 one, whichever way data flows. Neither
  // is declared readonly in the shader, so both count as written (as the validation layer
  // counts them) and later readers of either wait for this dispatch.
  const Tensor& wide = to_fp16 ? input : output;
  const Tensor& narrow = to_fp16 ? output : input;
  recorder.dispatch(to_fp16 ? *to_fp16_ : *to_fp32_,
                    {{wide.view, vk::Access::ReadWrite}, {narrow.view, vk::Access::ReadWrite}},
                    &count, sizeof count, grid.x, grid.y, 1,
                    to_fp16 ? "convert_to_fp16" : "convert_to_fp32");
}

}  // namespace vkseg::ops
