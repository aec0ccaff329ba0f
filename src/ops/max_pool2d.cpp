#include "ops/max_pool2d.hpp"

#include <fmt/format.h>

#include "ops/dispatch.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

struct Push {
  uint32_t h, w, oh, ow, count;
};

// PyTorch's pooling_output_shape: floor or ceil of (in + 2p - d(k-1) - 1) / s, plus one; in ceil
// mode a last window that would start past the input and its left padding is dropped.
int64_t pool_extent(uint32_t in, uint32_t k, uint32_t s, uint32_t p, uint32_t d, bool ceil_mode) {
  const int64_t span = int64_t(in) + 2 * int64_t(p) - int64_t(d) * (k - 1) - 1 +
                       (ceil_mode ? int64_t(s) - 1 : 0);
  // Floor division (rounding toward -inf), so a span below zero gives an extent below one.
  int64_t out = (span >= 0 ? span / s : -((-span + s - 1) / s)) + 1;
  if (ceil_mode && (out - 1) * s >= int64_t(in) + p) --out;
  return out;
}

}  // namespace

MaxPool2d::MaxPool2d(Context& context, const MaxPool2dParams& params)
    : context_(context), params_(params) {
  const auto& p = params;
  if (p.kernel_h == 0 || p.kernel_w == 0 || p.stride_h == 0 || p.stride_w == 0 ||
      p.dilation_h == 0 || p.dilation_w == 0) {
    throw Error("max_pool2d: kernel, stride and dilation must be positive");
  }
  // PyTorch's rule; it also keeps every window over at least one input element when undilated.
  if (p.pad_h > p.kernel_h / 2 || p.pad_w > p.kernel_w / 2) {
    throw Error(fmt::format("max_pool2d: padding {}x{} exceeds half the {}x{} kernel", p.pad_h,
                            p.pad_w, p.kernel_h, p.kernel_w));
  }
  // ceil_mode only changes the output size, which the shader reads from push constants.
  pipeline_ = &context.state().pipeline(
      {shader_variant(context, "max_pool2d", "max_pool2d", p.precision),
       {k_flat_local_size, 1, 1, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w,
        p.dilation_h, p.dilation_w},
       2,
       sizeof(Push)});
}

Shape MaxPool2d::output_shape(const Shape& input) const {
  const auto& p = params_;
  const int64_t oh =
      pool_extent(input.h, p.kernel_h, p.stride_h, p.pad_h, p.dilation_h, p.ceil_mode);
  const int64_t ow =
      pool_extent(input.w, p.kernel_w, p.stride_w, p.pad_w, p.dilation_w, p.ceil_mode);
  if (oh < 1 || ow < 1) {
    throw Error(fmt::format("max_pool2d: a {}x{} kernel gives no output for a {}x{} input",
                            p.kernel_h, p.kernel_w, input.h, input.w));
  }
  return {input.n, input.c, uint32_t(oh), uint32_t(ow)};
}

void MaxPool2d::record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const {
  const DType type = storage_type(params_.precision);
  require_fits("max_pool2d", "input", input, type);
  require_fits("max_pool2d", "output", output, type);
  require_shape("max_pool2d", "output", output.shape, output_shape(input.shape));
  const Shape& o = output.shape;
  const Push push{input.shape.h, input.shape.w, o.h, o.w, uint32_t(o.count())};
  const FlatGrid grid = flat_grid(context_.info(), o.count());
  recorder.dispatch(*pipeline_, {{input.view, vk::Access::Read}, {output.view, vk::Access::Write}},
                    &push, sizeof push, grid.x, grid.y, 1, "max_pool2d");
}

}  // namespace vkseg::ops
