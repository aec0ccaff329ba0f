#include "ops/pad.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "ops/dispatch.hpp"
#include "ops/registry.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

struct Push {
  uint32_t count, h, w, oh, ow, top, left;
  float value;
};

constexpr const char* k_mode_names[] = {"constant", "reflect", "edge"};

}  // namespace

Pad::Pad(Context& context, const PadParams& params)
    : context_(context),
      params_(params),
      pipeline_(&vk::state(context).pipeline({shader_variant(context, "pad", "pad", params.precision),
                                           {k_flat_local_size, 1, 1, uint32_t(params.mode)},
                                           2,
                                           sizeof(Push)})) {}

Shape Pad::output_shape(const Shape& input, const PadParams& p) {
  if (p.mode == PadMode::Reflect &&
      (std::max(p.top, p.bottom) >= input.h || std::max(p.left, p.right) >= input.w)) {
    throw Error(fmt::format("pad: reflect padding {}x{}x{}x{} (top, left, bottom, right) must be "
                            "smaller than the {}x{} input it mirrors",
                            p.top, p.left, p.bottom, p.right, input.h, input.w));
  }
  const uint64_t oh = uint64_t(input.h) + p.top + p.bottom;
  const uint64_t ow = uint64_t(input.w) + p.left + p.right;
  if (oh > UINT32_MAX || ow > UINT32_MAX) {
    throw Error(fmt::format("pad: {} padded has more than 2^32 rows or columns", input.str()));
  }
  return {input.n, input.c, uint32_t(oh), uint32_t(ow)};
}

void Pad::record(vk::Recorder& recorder, const Tensor& input, const Tensor& output,
                 const PadParams& pads) const {
  if (pads.mode != params_.mode || pads.precision != params_.precision) {
    throw Error("internal error: pad recorded with another mode or precision");
  }
  const DType type = storage_type(params_.precision);
  require_fits("pad", "input", input, type);
  require_fits("pad", "output", output, type);
  require_shape("pad", "output", output.shape, output_shape(input.shape, pads));
  const Shape& s = input.shape;
  const Shape& o = output.shape;
  if (o.count() == 0) return;
  if (s.h == 0 || s.w == 0) throw Error(fmt::format("pad: cannot pad the empty input {}", s.str()));
  const Push push{uint32_t(o.count()), s.h, s.w, o.h, o.w, pads.top, pads.left, pads.value};
  const FlatGrid grid = flat_grid(context_.info(), push.count);
  recorder.dispatch(*pipeline_, {{input.view, vk::Access::Read}, {output.view, vk::Access::Write}},
                    &push, sizeof push, grid.x, grid.y, 1, "pad");
}

namespace {

// With a second input, pad is F.pad to that tensor's height and width as U-Net pads its
// upsampled map to its skip's size: half of each difference before, the rest after.
PadParams centred_to(PadParams p, const Shape& input, const Shape& reference) {
  if (reference.h < input.h || reference.w < input.w) {
    throw Error(fmt::format("pad: the {}x{} input is larger than the {}x{} it is padded to",
                            input.h, input.w, reference.h, reference.w));
  }
  const uint32_t dy = reference.h - input.h, dx = reference.w - input.w;
  p.top = dy / 2, p.bottom = dy - dy / 2, p.left = dx / 2, p.right = dx - dx / 2;
  return p;
}

class PadNode : public NodeOp {
 public:
  PadNode(Context& context, const PadParams& params) : pad_(context, params), params_(params) {}
  std::vector<Shape> output_shapes(const std::vector<Shape>& inputs) const override {
    return {Pad::output_shape(inputs[0], pads_for(inputs))};
  }
  uint64_t flops(const std::vector<Shape>&, const std::vector<Shape>&) const override { return 0; }
  void record(vk::Recorder& recorder, const OpIo& io) const override {
    std::vector<Shape> shapes;
    for (const Tensor& t : io.inputs) shapes.push_back(t.shape);
    pad_.record(recorder, io.inputs[0], io.outputs[0], pads_for(shapes));
  }

 private:
  // The attribute's pads, or with a reference input the centred ones for these shapes.
  PadParams pads_for(const std::vector<Shape>& inputs) const {
    return inputs.size() == 2 ? centred_to(params_, inputs[0], inputs[1]) : params_;
  }
  Pad pad_;
  PadParams params_;
};

PadParams params_of(const OpBuild& b) {
  const graph::Ints& pads = b.node.attr_ints("pads");
  PadParams p;
  p.top = uint32_t(pads[0]), p.left = uint32_t(pads[1]);
  p.bottom = uint32_t(pads[2]), p.right = uint32_t(pads[3]);
  const std::string& mode = b.node.attr_string("mode");
  p.mode = PadMode(std::find(std::begin(k_mode_names), std::end(k_mode_names), mode) -
                   std::begin(k_mode_names));
  p.value = float(b.node.attr_float("value"));
  p.precision = b.precision;
  return p;
}

}  // namespace

const OpDef& pad_op() {
  static const OpDef def = [] {
    OpSchema s{"pad",
               "spatial padding (F.pad, ONNX Pad): constant, reflect or edge; with a second "
               "input, centred to its height and width (U-Net's skip)"};
    s.max_inputs = 2;
    s.attrs = {ints_attr("pads", graph::Ints{0, 0, 0, 0}, 4, 0, 1 << 16),  // top, left, bottom, right
               string_attr("mode", "constant", {std::begin(k_mode_names), std::end(k_mode_names)}),
               float_attr("value", 0.0)};
    s.channels = [](const graph::Node& n, const graph::Weights&, const std::vector<int64_t>& in) {
      const graph::Ints& pads = n.attr_ints("pads");
      if (in.size() == 2 && (pads[0] || pads[1] || pads[2] || pads[3])) {
        throw Error("pads come from the second input's size; 'pads' must be all zero then");
      }
      return std::vector<int64_t>{in[0]};  // the reference gives only its size
    };
    return OpDef{std::move(s), [](const OpBuild& b) {
                   return std::make_unique<PadNode>(b.context, params_of(b));
                 }};
  }();
  return def;
}

}  // namespace vkseg::ops
