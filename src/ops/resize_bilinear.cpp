#include "ops/resize_bilinear.hpp"

#include <fmt/format.h>

#include "ops/dispatch.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

struct Push {
  uint32_t count, h, w, oh, ow;
  float scale_y, scale_x;
};

// PyTorch's area_pixel_compute_scale for an explicit output size, in float as its fp32 kernel.
float source_scale(uint32_t in, uint32_t out, bool align_corners) {
  if (align_corners) return out > 1 ? float(in - 1) / float(out - 1) : 0.0f;
  return float(in) / float(out);
}

}  // namespace

ResizeBilinear::ResizeBilinear(Context& context, bool align_corners, Precision precision)
    : context_(context),
      align_corners_(align_corners),
      type_(storage_type(precision)),
      pipeline_(&context.state().pipeline(
          {shader_variant(context, "resize_bilinear", "resize_bilinear", precision),
           {k_flat_local_size, 1, 1, align_corners},
           2,
           sizeof(Push)})) {}

void ResizeBilinear::record(vk::Recorder& recorder, const Tensor& input,
                            const Tensor& output) const {
  require_fits("resize_bilinear", "input", input, type_);
  require_fits("resize_bilinear", "output", output, type_);
  const Shape& s = input.shape;
  const Shape& o = output.shape;
  if (s.n != o.n || s.c != o.c) {
    throw Error(fmt::format("resize_bilinear: input {} and output {} differ in batch or channels",
                            s.str(), o.str()));
  }
  if (o.count() == 0) return;
  if (s.h == 0 || s.w == 0) {
    throw Error(fmt::format("resize_bilinear: cannot resize the empty input {}", s.str()));
  }
  const Push push{uint32_t(o.count()),
                  s.h,
                  s.w,
                  o.h,
                  o.w,
                  source_scale(s.h, o.h, align_corners_),
                  source_scale(s.w, o.w, align_corners_)};
  const FlatGrid grid = flat_grid(context_.info(), push.count);
  recorder.dispatch(*pipeline_, {{input.view, vk::Access::Read}, {output.view, vk::Access::Write}},
                    &push, sizeof push, grid.x, grid.y, 1, "resize_bilinear");
}

}  // namespace vkseg::ops
