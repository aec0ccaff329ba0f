#include "ops/avg_pool2d.hpp"

#include "ops/dispatch.hpp"
#include "ops/pool_window.hpp"
#include "ops/registry.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

AvgPool2d::AvgPool2d(Context& context, const AvgPool2dParams& params)
    : context_(context), params_(params) {
  const auto& p = params;
  // No pad above half the kernel also keeps every window over an input element: no divisor is 0.
  check_pool_window("avg_pool2d", window());
  pipeline_ = &vk::state(context).pipeline(
      {shader_variant(context, "avg_pool2d", "avg_pool2d", p.precision),
       {k_flat_local_size, 1, 1, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_top,
        p.pad_left, p.pad_bottom, p.pad_right, p.count_include_pad},
       2,
       sizeof(PoolPush)});
}

PoolWindow AvgPool2d::window() const {
  const auto& p = params_;
  return {p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_top, p.pad_left,
          p.pad_bottom, p.pad_right, /*dilation*/ 1, 1, p.ceil_mode};
}

Shape AvgPool2d::output_shape(const Shape& input) const {
  return pooled_shape("avg_pool2d", window(), input);
}

uint64_t AvgPool2d::flops(const Shape&, const Shape& output) const {
  return output.count() * (uint64_t(params_.kernel_h) * params_.kernel_w + 1);  // adds, a divide
}

void AvgPool2d::record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const {
  record_pooling(recorder, context_, *pipeline_, "avg_pool2d", window(), params_.precision, input, output);
}

namespace {

AvgPool2dParams params_of(const OpBuild& b) {
  const graph::Node& n = b.node;
  const graph::Ints& k = n.attr_ints("kernel");
  const graph::Ints& s = n.attr_ints("stride");
  const graph::Ints& pads = n.attr_ints("pads");
  AvgPool2dParams p;
  p.kernel_h = uint32_t(k[0]), p.kernel_w = uint32_t(k[1]);
  p.stride_h = uint32_t(s[0]), p.stride_w = uint32_t(s[1]);
  p.pad_top = uint32_t(pads[0]), p.pad_left = uint32_t(pads[1]);
  p.pad_bottom = uint32_t(pads[2]), p.pad_right = uint32_t(pads[3]);
  p.ceil_mode = n.attr_int("ceil_mode") != 0;
  p.count_include_pad = n.attr_int("count_include_pad") != 0;
  p.precision = b.precision;
  return p;
}

}  // namespace

const OpDef& avg_pool2d_op() {
  static const OpDef def = [] {
    OpSchema s{"avg_pool2d", "2-D average pooling (nn.AvgPool2d)"};
    s.attrs = {ints_attr("kernel", std::nullopt, 2, 1, 4096),
               ints_attr("stride", std::nullopt, 2, 1, 4096),
               ints_attr("pads", graph::Ints{0, 0, 0, 0}, 4, 0, 2048),  // top, left, bottom, right
               int_attr("ceil_mode", 0, 0, 1), int_attr("count_include_pad", 1, 0, 1)};
    s.channels = pool_channels;
    return OpDef{std::move(s), [](const OpBuild& b) {
                   return std::make_unique<OneInputNode<AvgPool2d>>(
                       AvgPool2d(b.context, params_of(b)));
                 }};
  }();
  return def;
}

}  // namespace vkseg::ops
