#include "ops/resize.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "ops/dispatch.hpp"
#include "ops/registry.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

struct Push {
  uint32_t count, h, w, oh, ow;
  float scale_y, scale_x;
  uint32_t input_first, planes, output_plane;
};
// resize.comp: planes one invocation resizes.
constexpr uint32_t k_planes_per_invocation = 8;

// Attribute values, in the order of the enums they name.
const std::vector<std::string> k_modes{"nearest", "linear"};
const std::vector<std::string> k_transforms{"half_pixel", "pytorch_half_pixel", "align_corners",
                                            "asymmetric"};
const std::vector<std::string> k_roundings{"round_prefer_floor", "round_prefer_ceil", "floor",
                                           "ceil"};

// Output sizes above this are refused, as the size attribute's range does.
constexpr double k_max_extent = 1 << 20;

// Input units per output unit along an axis, in float as PyTorch computes them
// (area_pixel_compute_scale): a given scale is inverted in double, then rounded.
float source_scale(uint32_t in, uint32_t out, std::optional<double> scale,
                   CoordinateTransform transform) {
  if (transform == CoordinateTransform::AlignCorners) {
    return out > 1 ? float(in - 1) / float(out - 1) : 0.0f;
  }
  if (scale) return float(1.0 / *scale);
  return float(in) / float(out);
}

template <class Enum>
Enum enum_of(const graph::Node& node, const char* attr, const std::vector<std::string>& names) {
  const std::string& value = node.attr_string(attr);
  return Enum(std::find(names.begin(), names.end(), value) - names.begin());
}

}  // namespace

Resize::Resize(Context& context, const ResizeParams& params)
    : context_(context), params_(params) {
  if (params.scale && !(params.scale->at(0) > 0 && params.scale->at(1) > 0)) {
    throw Error(fmt::format("resize: scales {}x{} must be positive", params.scale->at(0),
                            params.scale->at(1)));
  }
  pipeline_ = &vk::state(context).pipeline(
      {shader_variant(context, "resize", "resize", params.precision),
       {k_flat_local_size, 1, 1, uint32_t(params.mode), uint32_t(params.transform),
        uint32_t(params.rounding), k_planes_per_invocation},
       2,
       sizeof(Push),
       0b01});
}

Shape Resize::scaled_shape(const Shape& input) const {
  if (!params_.scale) throw Error("internal error: resize without scales has no scaled shape");
  // In double, as F.interpolate computes floor(size * scale_factor).
  const double oh = std::floor(double(input.h) * params_.scale->at(0));
  const double ow = std::floor(double(input.w) * params_.scale->at(1));
  if (oh < 1 || ow < 1 || oh > k_max_extent || ow > k_max_extent) {
    throw Error(fmt::format("resize: scales {}x{} make {} rows and {} columns of the {}x{} input; "
                            "1 to 2^20 are supported",
                            params_.scale->at(0), params_.scale->at(1), oh, ow, input.h,
                            input.w));
  }
  return {input.n, input.c, uint32_t(oh), uint32_t(ow)};
}

void Resize::record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const {
  const DType type = storage_type(params_.precision);
  require_fits("resize", "input", input, type);
  require_fits("resize", "output", output, type);
  const Shape& s = input.shape;
  const Shape& o = output.shape;
  if (s.n != o.n || s.c != o.c) {
    throw Error(fmt::format("resize: input {} and output {} differ in batch or channels", s.str(),
                            o.str()));
  }
  if (params_.scale) require_shape("resize", "output", o, scaled_shape(s));
  if (o.count() == 0) return;
  if (s.h == 0 || s.w == 0) {
    throw Error(fmt::format("resize: cannot resize the empty input {}", s.str()));
  }
  const auto scale = [&](size_t axis) {
    return params_.scale ? std::optional<double>(params_.scale->at(axis)) : std::nullopt;
  };
  const float scale_y = source_scale(s.h, o.h, scale(0), params_.transform);
  const float scale_x = source_scale(s.w, o.w, scale(1), params_.transform);
  const uint64_t plane = uint64_t(s.h) * s.w, planes = uint64_t(s.n) * s.c;
  // A dispatch reads the planes that fit one texel buffer.
  for_each_texel_window(
      context_.info(), input.view, plane, element_bytes(type), 0, planes,
      [&](uint64_t first, uint64_t count, const TexelWindow& window) {
        const uint64_t invocations =
            uint64_t(o.h) * o.w * ceil_div(count, k_planes_per_invocation);
        if (invocations > UINT32_MAX) {
          throw Error(
              fmt::format("resize: the output {} is too large for one dispatch", o.str()));
        }
        const Push push{uint32_t(invocations), s.h, s.w, o.h, o.w, scale_y, scale_x,
                        window.first_texel, uint32_t(count), uint32_t(first)};
        const FlatGrid grid = flat_grid(context_.info(), invocations);
        recorder.dispatch(
            *pipeline_,
            {{window.view, vk::Access::Read, activation_texel_format(params_.precision)},
             {output.view, vk::Access::Write}},
            &push, sizeof push, grid.x, grid.y, 1, "resize");
      });
}

namespace {

// The target is the attribute `size`, the scales `scale`, or the second input's height and
// width (a reference tensor, of which nothing else is read).
class ResizeNode : public NodeOp {
 public:
  explicit ResizeNode(const OpBuild& b)
      : op_(b.context, params_of(b)), size_(b.node.attr_ints("size")) {}
  std::vector<Shape> output_shapes(const std::vector<Shape>& inputs) const override {
    const Shape& in = inputs[0];
    if (op_.params().scale) return {op_.scaled_shape(in)};
    if (!size_.empty()) return {{in.n, in.c, uint32_t(size_[0]), uint32_t(size_[1])}};
    return {{in.n, in.c, inputs[1].h, inputs[1].w}};
  }
  uint64_t flops(const std::vector<Shape>&, const std::vector<Shape>& outputs) const override {
    // Three linear interpolations of a multiply-add and a multiply each; nearest only copies.
    return op_.params().mode == ResizeMode::Linear ? 9 * outputs[0].count() : 0;
  }
  void record(vk::Recorder& recorder, const OpIo& io) const override {
    op_.record(recorder, io.inputs[0], io.outputs[0]);
  }

 private:
  static ResizeParams params_of(const OpBuild& b) {
    const graph::Node& n = b.node;
    ResizeParams p;
    p.mode = enum_of<ResizeMode>(n, "mode", k_modes);
    p.transform = enum_of<CoordinateTransform>(n, "coordinate_transformation", k_transforms);
    p.rounding = enum_of<NearestRounding>(n, "nearest_mode", k_roundings);
    const graph::Floats& scale = n.attr_floats("scale");
    if (!scale.empty()) p.scale = std::array<double, 2>{scale[0], scale[1]};
    p.precision = b.precision;
    return p;
  }
  Resize op_;
  graph::Ints size_;  // empty: the target comes from the scales or the second input
};

}  // namespace

const OpDef& resize_op() {
  static const OpDef def = [] {
    OpSchema s{"resize",
               "resize of height and width (ONNX Resize, F.interpolate) to `size`, by `scale` or "
               "to the second input's size"};
    s.max_inputs = 2;
    // ONNX's defaults. `size` and `scale` are empty where not given.
    s.attrs = {string_attr("mode", "nearest", k_modes),
               string_attr("coordinate_transformation", "half_pixel", k_transforms),
               string_attr("nearest_mode", "round_prefer_floor", k_roundings),
               ints_attr("size", graph::Ints{}, 0, 1, k_max_extent),
               floats_attr("scale", graph::Floats{}, 0)};
    s.channels = [](const graph::Node& n, const graph::Weights&, const std::vector<int64_t>& in) {
      const size_t size = n.attr_ints("size").size();
      const graph::Floats& scale = n.attr_floats("scale");
      if ((size != 0) + (!scale.empty()) + (in.size() == 2) != 1) {
        throw Error(fmt::format("needs exactly one target: 'size', 'scale' or a second input "
                                "(it has {} 'size' values, {} 'scale' values and {} input(s))",
                                size, scale.size(), in.size()));
      }
      if (size != 0 && size != 2) {
        throw Error(fmt::format("'size' must hold 2 values (height, width), not {}", size));
      }
      if (!scale.empty() && (scale.size() != 2 || !(scale[0] > 0 && scale[1] > 0))) {
        throw Error("'scale' must hold 2 positive values (height, width)");
      }
      return std::vector<int64_t>{in[0]};  // a reference input gives only its size
    };
    return OpDef{std::move(s), [](const OpBuild& b) { return std::make_unique<ResizeNode>(b); }};
  }();
  return def;
}

}  // namespace vkseg::ops
