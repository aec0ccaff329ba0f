#include "ops/max_pool2d.hpp"

#include "ops/dispatch.hpp"
#include "ops/pool_window.hpp"
#include "ops/registry.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

MaxPool2d::MaxPool2d(Context& context, const MaxPool2dParams& params)
    : context_(context), params_(params) {
  const auto& p = params;
  check_pool_window("max_pool2d", window());
  // ceil_mode only changes the output size, which the shader reads from push constants.
  pipeline_ = &vk::state(context).pipeline(
      {shader_variant(context, "max_pool2d", "max_pool2d", p.precision),
       {k_flat_local_size, 1, 1, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w,
        p.dilation_h, p.dilation_w},
       2,
       sizeof(PoolPush)});
}

PoolWindow MaxPool2d::window() const {
  const auto& p = params_;
  return {p.kernel_h, p.kernel_w, p.stride_h,   p.stride_w,   p.pad_h,      p.pad_w,
          p.bottom(), p.right(),  p.dilation_h, p.dilation_w, p.ceil_mode};
}

Shape MaxPool2d::output_shape(const Shape& input) const {
  return pooled_shape("max_pool2d", window(), input);
}

void MaxPool2d::record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const {
  record_pooling(recorder, context_, *pipeline_, "max_pool2d", window(), params_.precision, input, output);
}

namespace {

class MaxPool2dNode : public NodeOp {
 public:
  explicit MaxPool2dNode(const OpBuild& b) : op_(b.context, params_of(b)) {}
  std::vector<Shape> output_shapes(const std::vector<Shape>& inputs) const override {
    return {op_.output_shape(inputs[0])};
  }
  uint64_t flops(const std::vector<Shape>&, const std::vector<Shape>& outputs) const override {
    return outputs[0].count() * op_.params().kernel_h * op_.params().kernel_w;
  }
  void record(vk::Recorder& recorder, const OpIo& io) const override {
    op_.record(recorder, io.inputs[0], io.outputs[0]);
  }

 private:
  static MaxPool2dParams params_of(const OpBuild& b) {
    const graph::Node& n = b.node;
    const graph::Ints& k = n.attr_ints("kernel");
    const graph::Ints& s = n.attr_ints("stride");
    const graph::Ints& pads = n.attr_ints("pads");
    const graph::Ints& d = n.attr_ints("dilation");
    MaxPool2dParams p;
    p.kernel_h = uint32_t(k[0]), p.kernel_w = uint32_t(k[1]);
    p.stride_h = uint32_t(s[0]), p.stride_w = uint32_t(s[1]);
    p.pad_h = uint32_t(pads[0]), p.pad_w = uint32_t(pads[1]);
    if (pads[2] != pads[0]) p.pad_bottom = uint32_t(pads[2]);
    if (pads[3] != pads[1]) p.pad_right = uint32_t(pads[3]);
    p.dilation_h = uint32_t(d[0]), p.dilation_w = uint32_t(d[1]);
    p.ceil_mode = n.attr_int("ceil_mode") != 0;
    p.precision = b.precision;
    return p;
  }
  MaxPool2d op_;
};

}  // namespace

const OpDef& max_pool2d_op() {
  static const OpDef def = [] {
    OpSchema s{"max_pool2d", "2-D max pooling (nn.MaxPool2d)"};
    s.attrs = {ints_attr("kernel", std::nullopt, 2, 1, 4096),
               ints_attr("stride", std::nullopt, 2, 1, 4096),
               ints_attr("pads", graph::Ints{0, 0, 0, 0}, 4, 0, 2048),  // top, left, bottom, right
               ints_attr("dilation", graph::Ints{1, 1}, 2, 1, 4096),
               int_attr("ceil_mode", 0, 0, 1)};
    s.channels = pool_channels;
    return OpDef{std::move(s), [](const OpBuild& b) { return std::make_unique<MaxPool2dNode>(b); }};
  }();
  return def;
}

}  // namespace vkseg::ops
