#include "ops/pool_window.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "ops/dispatch.hpp"
#include "ops/extent.hpp"
#include "ops/registry.hpp"

namespace vkseg::ops {

void check_pool_window(const char* op, const PoolWindow& w) {
  if (w.kernel_h == 0 || w.kernel_w == 0 || w.stride_h == 0 || w.stride_w == 0 ||
      w.dilation_h == 0 || w.dilation_w == 0) {
    throw Error(fmt::format("{}: kernel, stride and dilation must be positive", op));
  }
  if (std::max(w.pad_top, w.pad_bottom) > w.kernel_h / 2 ||
      std::max(w.pad_left, w.pad_right) > w.kernel_w / 2) {
    throw Error(fmt::format("{}: padding {}x{}x{}x{} exceeds half the {}x{} kernel", op, w.pad_top,
                            w.pad_left, w.pad_bottom, w.pad_right, w.kernel_h, w.kernel_w));
  }
}

Shape pooled_shape(const char* op, const PoolWindow& w, const Shape& input) {
  const int64_t oh = pool_extent(input.h, w.kernel_h, w.stride_h, w.pad_top, w.pad_bottom,
                                 w.dilation_h, w.ceil_mode);
  const int64_t ow = pool_extent(input.w, w.kernel_w, w.stride_w, w.pad_left, w.pad_right,
                                 w.dilation_w, w.ceil_mode);
  if (oh < 1 || ow < 1) {
    throw Error(fmt::format("{}: a {}x{} kernel gives no output for a {}x{} input", op,
                            w.kernel_h, w.kernel_w, input.h, input.w));
  }
  return {input.n, input.c, uint32_t(oh), uint32_t(ow)};
}

std::vector<int64_t> pool_channels(const graph::Node& node, const graph::Weights& weights,
                                   const std::vector<int64_t>& inputs) {
  const graph::Ints& k = node.attr_ints("kernel");
  const graph::Ints& pads = node.attr_ints("pads");
  if (std::max(pads[0], pads[2]) > k[0] / 2 || std::max(pads[1], pads[3]) > k[1] / 2) {
    throw Error(fmt::format("'pads' {}x{}x{}x{} exceed half the {}x{} kernel", pads[0], pads[1],
                            pads[2], pads[3], k[0], k[1]));
  }
  return same_channels(node, weights, inputs);
}

void record_pooling(vk::Recorder& recorder, const Context& context, const vk::Pipeline& pipeline,
                    const char* op, const PoolWindow& window, Precision precision,
                    const Tensor& input, const Tensor& output) {
  const DType type = storage_type(precision);
  require_fits(op, "input", input, type);
  require_fits(op, "output", output, type);
  require_shape(op, "output", output.shape, pooled_shape(op, window, input.shape));
  const Shape& o = output.shape;
  const PoolPush push{input.shape.h, input.shape.w, o.h, o.w, uint32_t(o.count())};
  const FlatGrid grid = flat_grid(context.info(), o.count());
  recorder.dispatch(pipeline, {{input.view, vk::Access::Read}, {output.view, vk::Access::Write}},
                    &push, sizeof push, grid.x, grid.y, 1, op);
}

}  // namespace vkseg::ops
