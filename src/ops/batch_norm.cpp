#include "ops/batch_norm.hpp"

#include <fmt/format.h>

#include <cmath>

#include "ops/dispatch.hpp"
#include "ops/registry.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

struct Push {
  uint32_t count, plane, channels;
};

}  // namespace

ChannelAffineValues batch_norm_affine(const std::vector<float>& mean,
                                      const std::vector<float>& var,
                                      const std::vector<float>& scale,
                                      const std::vector<float>& bias, double epsilon) {
  ChannelAffineValues out;
  for (size_t c = 0; c < mean.size(); ++c) {
    const double a = (scale.empty() ? 1.0 : double(scale[c])) / std::sqrt(double(var[c]) + epsilon);
    out.scale.push_back(float(a));
    out.shift.push_back(float((bias.empty() ? 0.0 : double(bias[c])) - double(mean[c]) * a));
  }
  return out;
}

ChannelAffine::ChannelAffine(Context& context, Precision precision)
    : context_(context),
      type_(storage_type(precision)),
      pipeline_(&vk::state(context).pipeline(
          {shader_variant(context, "batch_norm", "channel_affine", precision),
           {k_flat_local_size, 1, 1},
           4,
           sizeof(Push)})) {}

void ChannelAffine::record(vk::Recorder& recorder, const Tensor& input, const Tensor& scale,
                           const Tensor& shift, const Tensor& output) const {
  require_fits("batch_norm", "input", input, type_);
  require_fits("batch_norm", "scale", scale, DType::F32);
  require_fits("batch_norm", "shift", shift, DType::F32);
  require_fits("batch_norm", "output", output, type_);
  const Shape& s = input.shape;
  require_shape("batch_norm", "scale", scale.shape, {1, s.c, 1, 1});
  require_shape("batch_norm", "shift", shift.shape, {1, s.c, 1, 1});
  require_shape("batch_norm", "output", output.shape, s);
  const Push push{uint32_t(s.count()), s.h * s.w, s.c};
  const FlatGrid grid = flat_grid(context_.info(), s.count());
  recorder.dispatch(*pipeline_,
                    {{input.view, vk::Access::Read},
                     {scale.view, vk::Access::Read},
                     {shift.view, vk::Access::Read},
                     {output.view, vk::Access::Write}},
                    &push, sizeof push, grid.x, grid.y, 1, "batch_norm");
}

namespace {

// The values of an optional weight, none when it is absent (batch_norm_affine's default).
const std::vector<float>& values_of(const graph::WeightTensor* w) {
  static const std::vector<float> none;
  return w ? w->values : none;
}

class BatchNormNode : public NodeOp {
 public:
  explicit BatchNormNode(const OpBuild& b)
      : op_(b.context, b.precision),
        mean_(b.weight("mean")),
        var_(b.weight("var")),
        scale_(b.optional_weight("scale")),
        bias_(b.optional_weight("bias")),
        epsilon_(b.node.attr_float("epsilon")) {}
  std::vector<DeviceWeight> device_weights() const override {
    const Shape shape{1, uint32_t(mean_.values.size()), 1, 1};
    return {{shape, DType::F32, [this] { return affine().scale; }},
            {shape, DType::F32, [this] { return affine().shift; }}};
  }
  std::vector<Shape> output_shapes(const std::vector<Shape>& inputs) const override {
    return {inputs[0]};
  }
  uint64_t flops(const std::vector<Shape>&, const std::vector<Shape>& outputs) const override {
    return 2 * outputs[0].count();
  }
  void record(vk::Recorder& recorder, const OpIo& io) const override {
    op_.record(recorder, io.inputs[0], io.weights[0], io.weights[1], io.outputs[0]);
  }

 private:
  ChannelAffineValues affine() const {
    return batch_norm_affine(mean_.values, var_.values, values_of(scale_), values_of(bias_),
                             epsilon_);
  }
  ChannelAffine op_;
  const graph::WeightTensor& mean_;
  const graph::WeightTensor& var_;
  const graph::WeightTensor* scale_;
  const graph::WeightTensor* bias_;
  double epsilon_;
};

std::vector<int64_t> batch_norm_channels(const graph::Node& n, const graph::Weights& weights,
                                         const std::vector<int64_t>& inputs) {
  const double epsilon = n.attr_float("epsilon");
  if (!(epsilon > 0)) throw Error(fmt::format("'epsilon' is {}; it must be positive", epsilon));
  for (const char* role : {"mean", "var", "scale", "bias"}) {
    if (n.weight(role).empty()) continue;  // scale and bias are optional
    const std::vector<int64_t>& shape = weight_shape(n, weights, role);
    if (shape != std::vector<int64_t>{inputs[0]}) {
      throw Error(fmt::format("{} '{}' must hold one value per channel of its input ({})", role,
                              n.weight(role), inputs[0]));
    }
  }
  const std::vector<float>& var = weights.at(n.weight("var")).values;
  for (size_t c = 0; c < var.size(); ++c) {
    if (!(double(var[c]) + epsilon > 0)) {
      throw Error(fmt::format("var '{}' of channel {} is {}: var + epsilon must be positive",
                              n.weight("var"), c, var[c]));
    }
  }
  return {inputs[0]};
}

}  // namespace

const OpDef& batch_norm_op() {
  static const OpDef def = [] {
    OpSchema s{"batch_norm",
               "inference batch norm (x - mean) / sqrt(var + epsilon) * scale + bias, per channel"};
    s.attrs = {float_attr("epsilon", 1e-5)};
    s.weights = {{"mean", true}, {"var", true}, {"scale", false}, {"bias", false}};
    s.channels = batch_norm_channels;
    return OpDef{std::move(s), [](const OpBuild& b) { return std::make_unique<BatchNormNode>(b); }};
  }();
  return def;
}

}  // namespace vkseg::ops
