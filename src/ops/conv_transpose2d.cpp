#include "ops/conv_transpose2d.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <numeric>

#include "ops/dispatch.hpp"
#include "ops/extent.hpp"
#include "ops/registry.hpp"
#include "vk/context_state.hpp"
#include "vkseg/text.hpp"

namespace vkseg::ops {

namespace {

struct Push {
  uint32_t c, h, w, oc, oh, ow, groups, oy0, ox0, ah, aw, ay0, ax0, slice0, phase_cols;
};

// vec4s of output channels per invocation (conv_transpose2d.comp's OC4): as many as keep the
// accumulators in registers, split evenly so the last block is not mostly empty.
constexpr uint32_t k_max_oc4 = 4;

uint32_t out_channels4(const ConvTranspose2dParams& p) {
  return ceil_div(p.out_channels / p.groups, 4);
}

uint32_t oc4_block(const ConvTranspose2dParams& p) {
  const uint32_t cout4 = out_channels4(p);
  return ceil_div(cout4, ceil_div(cout4, k_max_oc4));
}

}  // namespace

ConvTranspose2d::ConvTranspose2d(Context& context, const ConvTranspose2dParams& params)
    : context_(context), params_(params) {
  const auto& p = params;
  if (p.in_channels == 0 || p.out_channels == 0 || p.kernel_h == 0 || p.kernel_w == 0 ||
      p.stride_h == 0 || p.stride_w == 0 || p.dilation_h == 0 || p.dilation_w == 0 ||
      p.groups == 0) {
    throw Error("conv_transpose2d: channels, kernel, stride, dilation and groups must be positive");
  }
  if (p.in_channels % p.groups || p.out_channels % p.groups) {
    throw Error(fmt::format(
        "conv_transpose2d: {} input and {} output channels do not divide into {} groups",
        p.in_channels, p.out_channels, p.groups));
  }
  // PyTorch's rule: a larger output padding would add rows no input reaches.
  if ((p.output_pad_h >= p.stride_h && p.output_pad_h >= p.dilation_h) ||
      (p.output_pad_w >= p.stride_w && p.output_pad_w >= p.dilation_w)) {
    throw Error(fmt::format(
        "conv_transpose2d: output padding {}x{} must be smaller than the stride {}x{} or the "
        "dilation {}x{}",
        p.output_pad_h, p.output_pad_w, p.stride_h, p.stride_w, p.dilation_h, p.dilation_w));
  }
  pipeline(false);  // created now, so a layer the device cannot run fails here
}

const vk::Pipeline& ConvTranspose2d::pipeline(bool addend) const {
  const auto& p = params_;
  const uint32_t tap_step_h = p.stride_h / std::gcd(p.stride_h, p.dilation_h);
  const uint32_t tap_step_w = p.stride_w / std::gcd(p.stride_w, p.dilation_w);
  return vk::state(context_).pipeline(
      {shader_variant(context_, "conv_transpose2d", "conv_transpose2d", p.precision),
       {k_flat_local_size, 1, 1, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w,
        p.dilation_h, p.dilation_w, tap_step_h, tap_step_w, p.bias, addend, oc4_block(p)},
       5,
       sizeof(Push),
       0b00011});
}

Shape ConvTranspose2d::weight_shape() const {
  return {params_.in_channels, params_.out_channels / params_.groups, params_.kernel_h,
          params_.kernel_w};
}

Shape ConvTranspose2d::prepared_weight_shape() const {
  const auto& p = params_;
  return {1, 1, 1,
          4 * p.groups * out_channels4(p) * p.kernel_h * p.kernel_w * (p.in_channels / p.groups)};
}

std::vector<float> ConvTranspose2d::prepare_weights(const std::vector<float>& weights) const {
  const auto& p = params_;
  if (weights.size() != weight_shape().count()) {
    throw Error(fmt::format("conv_transpose2d: {} weights, expected {}", weights.size(),
                            weight_shape().count()));
  }
  const uint32_t cin = p.in_channels / p.groups, cout = p.out_channels / p.groups;
  const uint32_t cout4 = out_channels4(p), taps = p.kernel_h * p.kernel_w;
  std::vector<float> packed(prepared_weight_shape().count(), 0.0f);
  for (uint32_t g = 0; g < p.groups; ++g)
    for (uint32_t ol = 0; ol < cout; ++ol)
      for (uint32_t tap = 0; tap < taps; ++tap)
        for (uint32_t ic = 0; ic < cin; ++ic) {
          const size_t texel = ((size_t(g) * cout4 + ol / 4) * taps + tap) * cin + ic;
          packed[texel * 4 + ol % 4] =
              weights[((size_t(g) * cin + ic) * cout + ol) * taps + tap];
        }
  return packed;
}

Shape ConvTranspose2d::output_shape(const Shape& input) const {
  const auto& p = params_;
  if (input.c != p.in_channels) {
    throw Error(fmt::format("conv_transpose2d: input has {} channels, expected {}", input.c,
                            p.in_channels));
  }
  const int64_t oh = conv_transpose_extent(input.h, p.kernel_h, p.stride_h, p.pad_h, p.bottom(),
                                           p.output_pad_h, p.dilation_h);
  const int64_t ow = conv_transpose_extent(input.w, p.kernel_w, p.stride_w, p.pad_w, p.right(),
                                           p.output_pad_w, p.dilation_w);
  if (oh < 1 || ow < 1) {
    throw Error(fmt::format("conv_transpose2d: padding {}x{} leaves no output for a {}x{} input",
                            p.pad_h, p.pad_w, input.h, input.w));
  }
  return {input.n, p.out_channels, uint32_t(oh), uint32_t(ow)};
}

void ConvTranspose2d::record(vk::Recorder& recorder, const Tensor& input, const Tensor& weight,
                             const Tensor* bias, const Tensor& output,
                             const ConvTransposeFusion& fusion) const {
  const DType type = storage_type(params_.precision);
  require_fits("conv_transpose2d", "input", input, type);
  require_fits("conv_transpose2d", "weight", weight, DType::F32);
  require_fits("conv_transpose2d", "output", output, type);
  require_shape("conv_transpose2d", "weight", weight.shape, prepared_weight_shape());
  const uint64_t max_texels = context_.info().max_texel_buffer_elements;
  if (input.shape.count() > max_texels || weight.shape.count() / 4 > max_texels) {
    throw Error(fmt::format("conv_transpose2d: its input {} or its {} weights exceed the "
                            "device's {} texels per buffer",
                            input.shape.str(), weight_shape().count(), max_texels));
  }
  const Shape full = output_shape(input.shape);
  const Shape& o = output.shape;
  if (o.n != full.n || o.c != full.c || uint64_t(fusion.crop_y) + o.h > full.h ||
      uint64_t(fusion.crop_x) + o.w > full.w) {
    throw Error(fmt::format("conv_transpose2d: a {} output at ({}, {}) is not a window of {}",
                            o.str(), fusion.crop_y, fusion.crop_x, full.str()));
  }
  if (fusion.addend) {
    const Shape& a = fusion.addend->shape;
    require_fits("conv_transpose2d", "addend", *fusion.addend, type);
    if (a.n != o.n || a.c != o.c || uint64_t(fusion.addend_y) + o.h > a.h ||
        uint64_t(fusion.addend_x) + o.w > a.w) {
      throw Error(fmt::format("conv_transpose2d: cannot add {} at ({}, {}) to {}", a.str(),
                              fusion.addend_y, fusion.addend_x, o.str()));
    }
  }
  if (params_.bias) {
    if (!bias) throw Error("conv_transpose2d: the layer has a bias but none was given");
    require_fits("conv_transpose2d", "bias", *bias, DType::F32);
    require_shape("conv_transpose2d", "bias", bias->shape, {1, params_.out_channels, 1, 1});
  }
  const Shape a = fusion.addend ? fusion.addend->shape : o;
  const auto& p = params_;
  const uint32_t phase_cols = ceil_div(o.w, p.stride_w);
  const uint64_t phase_positions = uint64_t(ceil_div(o.h, p.stride_h)) * phase_cols;
  const FlatGrid grid = flat_grid(context_.info(), phase_positions);
  // One slice per (image, channel block, phase), in z, over as many dispatches as z allows.
  const uint64_t slices = uint64_t(o.n) * p.groups * ceil_div(out_channels4(p), oc4_block(p)) *
                          p.stride_h * p.stride_w;
  if (slices > std::numeric_limits<uint32_t>::max()) {
    throw Error(fmt::format("conv_transpose2d: {} images x {} channels x stride {}x{} is more "
                            "than the shader can index",
                            o.n, o.c, p.stride_h, p.stride_w));
  }
  const uint64_t max_z = context_.info().max_workgroup_count[2];
  Push push{input.shape.c, input.shape.h, input.shape.w, o.c, o.h, o.w, p.groups,
            fusion.crop_y, fusion.crop_x, a.h, a.w, fusion.addend_y, fusion.addend_x, 0,
            phase_cols};
  const vk::Pipeline& slice_pipeline = pipeline(fusion.addend != nullptr);
  for (uint64_t first = 0; first < slices; first += max_z) {
    push.slice0 = uint32_t(first);
    // Bindings the shader never reads (bias, addend) must still be bound to something.
    recorder.dispatch(slice_pipeline,
                      {{input.view, vk::Access::Read, activation_texel_format(p.precision)},
                       {weight.view, vk::Access::Read, VK_FORMAT_R32G32B32A32_SFLOAT},
                       {bias ? bias->view : weight.view, vk::Access::Read},
                       {output.view, vk::Access::Write},
                       {fusion.addend ? fusion.addend->view : weight.view, vk::Access::Read}},
                      &push, sizeof push, grid.x, grid.y, uint32_t(std::min(max_z, slices - first)),
                      "conv_transpose2d");
  }
}

}  // namespace vkseg::ops

// conv_transpose2d in a model graph: nn.ConvTranspose2d, optionally computing the crop or the
// skip addition after it (graph/passes/fuse_conv_transpose_crop).
namespace vkseg::ops {

namespace {

ConvTranspose2dParams params_of(const OpBuild& b) {
  const graph::Node& n = b.node;
  const std::vector<int64_t>& w = b.weight("weight").shape;
  const graph::Ints& stride = n.attr_ints("stride");
  const graph::Ints& pads = n.attr_ints("pads");
  const graph::Ints& output_padding = n.attr_ints("output_padding");
  const graph::Ints& dilation = n.attr_ints("dilation");
  ConvTranspose2dParams p;
  p.groups = uint32_t(n.attr_int("groups"));
  p.in_channels = uint32_t(w[0]);
  p.out_channels = uint32_t(w[1]) * p.groups;
  p.kernel_h = uint32_t(w[2]), p.kernel_w = uint32_t(w[3]);
  p.stride_h = uint32_t(stride[0]), p.stride_w = uint32_t(stride[1]);
  p.pad_h = uint32_t(pads[0]), p.pad_w = uint32_t(pads[1]);
  if (pads[2] != pads[0]) p.pad_bottom = uint32_t(pads[2]);
  if (pads[3] != pads[1]) p.pad_right = uint32_t(pads[3]);
  p.output_pad_h = uint32_t(output_padding[0]), p.output_pad_w = uint32_t(output_padding[1]);
  p.dilation_h = uint32_t(dilation[0]), p.dilation_w = uint32_t(dilation[1]);
  p.bias = b.optional_weight("bias") != nullptr;
  p.precision = b.precision;
  return p;
}

// What the node computes besides the convolution, with its second input `other`: nothing;
// the window of its result at `fuse_offset` the size of `other` ("crop"), that window plus
// `other` ("crop_add"), or its result plus the window of `other` at `fuse_offset`
// ("add_cropped").
enum class Fuse { None, Crop, CropAdd, AddCropped };

Fuse fuse_of(const graph::Node& n) {
  const std::string& f = n.attr_string("fuse");
  return f == "crop" ? Fuse::Crop : f == "crop_add" ? Fuse::CropAdd
                                   : f == "add_cropped" ? Fuse::AddCropped : Fuse::None;
}

class ConvTranspose2dNode : public NodeOp {
 public:
  explicit ConvTranspose2dNode(const OpBuild& b)
      : op_(b.context, params_of(b)),
        fuse_(fuse_of(b.node)),
        offset_y_(uint32_t(b.node.attr_ints("fuse_offset")[0])),
        offset_x_(uint32_t(b.node.attr_ints("fuse_offset")[1])),
        weight_(b.weight("weight")),
        bias_(b.optional_weight("bias")) {}

  std::vector<DeviceWeight> device_weights() const override {
    std::vector<DeviceWeight> out{{op_.prepared_weight_shape(), DType::F32,
                                   [this] { return op_.prepare_weights(weight_.values); }}};
    if (bias_) {
      out.push_back({{1, op_.params().out_channels, 1, 1}, DType::F32,
                     [this] { return bias_->values; }});
    }
    return out;
  }
  std::vector<Shape> output_shapes(const std::vector<Shape>& inputs) const override {
    const Shape full = op_.output_shape(inputs[0]);
    if (fuse_ == Fuse::None) return {full};
    const Shape& other = inputs[1];
    // A crop only takes the reference's size; an addition needs its batch and channels too.
    if (other.n != full.n || (fuse_ != Fuse::Crop && other.c != full.c)) {
      throw Error(fmt::format("conv_transpose2d: its result {} and its second input {} differ in "
                              "batch or channels",
                              full.str(), other.str()));
    }
    const Shape window = fuse_ == Fuse::AddCropped ? full : Shape{full.n, full.c, other.h, other.w};
    const Shape& source = fuse_ == Fuse::AddCropped ? other : full;
    if (uint64_t(offset_y_) + window.h > source.h || uint64_t(offset_x_) + window.w > source.w) {
      throw Error(fmt::format("a {}x{} window at offset ({}, {}) does not fit in {}x{}; the input "
                              "is too small for this network",
                              window.h, window.w, offset_y_, offset_x_, source.h, source.w));
    }
    return {window};
  }
  uint64_t flops(const std::vector<Shape>& inputs, const std::vector<Shape>&) const override {
    const ConvTranspose2dParams& p = op_.params();
    return 2 * inputs[0].count() * (p.out_channels / p.groups) * p.kernel_h * p.kernel_w;
  }
  void record(vk::Recorder& recorder, const OpIo& io) const override {
    ConvTransposeFusion fusion;
    if (fuse_ == Fuse::Crop || fuse_ == Fuse::CropAdd) {
      fusion.crop_y = offset_y_, fusion.crop_x = offset_x_;
    }
    if (fuse_ == Fuse::CropAdd || fuse_ == Fuse::AddCropped) fusion.addend = &io.inputs[1];
    if (fuse_ == Fuse::AddCropped) fusion.addend_y = offset_y_, fusion.addend_x = offset_x_;
    const Tensor* bias = io.weights.size() > 1 ? &io.weights[1] : nullptr;
    op_.record(recorder, io.inputs[0], io.weights[0], bias, io.outputs[0], fusion);
  }

 private:
  ConvTranspose2d op_;
  Fuse fuse_;
  uint32_t offset_y_, offset_x_;
  const graph::WeightTensor& weight_;
  const graph::WeightTensor* bias_;
};

std::vector<int64_t> conv_transpose2d_channels(const graph::Node& n, const graph::Weights& weights,
                                               const std::vector<int64_t>& inputs) {
  const graph::Ints& stride = n.attr_ints("stride");
  const graph::Ints& op = n.attr_ints("output_padding");
  const graph::Ints& dilation = n.attr_ints("dilation");
  for (int i = 0; i < 2; ++i) {  // PyTorch's rule: more would add rows no input reaches
    if (op[i] >= stride[i] && op[i] >= dilation[i]) {
      throw Error(fmt::format("'output_padding' {}x{} must be smaller than the stride {}x{} or "
                              "the dilation {}x{}",
                              op[0], op[1], stride[0], stride[1], dilation[0], dilation[1]));
    }
  }
  const std::vector<int64_t>& w = weight_shape(n, weights, "weight");
  const int64_t groups = n.attr_int("groups");
  if (w.size() != 4 || w[2] < 1 || w[3] < 1 || w[2] > 4096 || w[3] > 4096) {
    throw Error(fmt::format("weight '{}' is not in x out/groups x kh x kw",
                            printable(n.weight("weight"))));
  }
  if (w[0] % groups != 0) throw Error("its input channels do not divide into the groups");
  if (w[0] != inputs[0]) {
    throw Error(fmt::format("weight '{}' takes {} channels but its input '{}' has {}",
                            printable(n.weight("weight")), w[0], printable(n.inputs[0]),
                            inputs[0]));
  }
  const int64_t out = w[1] * groups;
  if (!n.weight("bias").empty()) {
    const std::vector<int64_t>& b = weight_shape(n, weights, "bias");
    if (b.size() != 1 || b[0] != out) {
      throw Error(fmt::format("bias '{}' must hold {} values", printable(n.weight("bias")), out));
    }
  }
  const Fuse fuse = fuse_of(n);
  if ((fuse == Fuse::None) != (inputs.size() == 1)) {
    throw Error("it takes a second input exactly when 'fuse' is not none");
  }
  if ((fuse == Fuse::CropAdd || fuse == Fuse::AddCropped) && inputs[1] != out) {
    throw Error(fmt::format("it adds '{}' of {} channels to its {}", printable(n.inputs[1]),
                            inputs[1], out));
  }
  return {out};
}

}  // namespace

const OpDef& conv_transpose2d_op() {
  static const OpDef def = [] {
    OpSchema s{"conv_transpose2d", "2-D transposed convolution (nn.ConvTranspose2d)"};
    s.max_inputs = 2;
    s.attrs = {ints_attr("stride", graph::Ints{1, 1}, 2, 1, 4096),
               ints_attr("pads", graph::Ints{0, 0, 0, 0}, 4, 0, 4096),  // top, left, bottom, right
               ints_attr("output_padding", graph::Ints{0, 0}, 2, 0, 4096),
               ints_attr("dilation", graph::Ints{1, 1}, 2, 1, 4096),
               int_attr("groups", 1, 1, 65536),
               string_attr("fuse", "none", {"none", "crop", "crop_add", "add_cropped"}),
               ints_attr("fuse_offset", graph::Ints{0, 0}, 2, 0, 1 << 20)};
    s.weights = {{"weight", true}, {"bias", false}};
    s.channels = conv_transpose2d_channels;
    return OpDef{std::move(s),
                 [](const OpBuild& b) { return std::make_unique<ConvTranspose2dNode>(b); }};
  }();
  return def;
}

}  // namespace vkseg::ops
