#include "ops/conv_transpose2d.hpp"

#include <fmt/format.h>

#include <numeric>

#include "ops/dispatch.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

struct Push {
  uint32_t c, h, w, oc, oh, ow, groups, count, oy0, ox0, ah, aw, ay0, ax0;
};

// PyTorch's output extent: (in - 1)s - 2p + d(k - 1) + output_pad + 1; may be below one.
int64_t conv_transpose_extent(uint32_t in, uint32_t k, uint32_t s, uint32_t p, uint32_t op,
                              uint32_t d) {
  return (int64_t(in) - 1) * s - 2 * int64_t(p) + int64_t(d) * (k - 1) + op + 1;
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
  return context_.state().pipeline(
      {shader_variant(context_, "conv_transpose2d", "conv_transpose2d", p.precision),
       {k_flat_local_size, 1, 1, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w,
        p.dilation_h, p.dilation_w, tap_step_h, tap_step_w, p.bias, addend},
       5,
       sizeof(Push)});
}

Shape ConvTranspose2d::weight_shape() const {
  return {params_.in_channels, params_.out_channels / params_.groups, params_.kernel_h,
          params_.kernel_w};
}

Shape ConvTranspose2d::output_shape(const Shape& input) const {
  const auto& p = params_;
  if (input.c != p.in_channels) {
    throw Error(fmt::format("conv_transpose2d: input has {} channels, expected {}", input.c,
                            p.in_channels));
  }
  const int64_t oh = conv_transpose_extent(input.h, p.kernel_h, p.stride_h, p.pad_h,
                                           p.output_pad_h, p.dilation_h);
  const int64_t ow = conv_transpose_extent(input.w, p.kernel_w, p.stride_w, p.pad_w,
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
  require_fits("conv_transpose2d", "weight", weight, type);
  require_fits("conv_transpose2d", "output", output, type);
  require_shape("conv_transpose2d", "weight", weight.shape, weight_shape());
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
  const Push push{input.shape.c, input.shape.h, input.shape.w, o.c, o.h, o.w, params_.groups,
                  uint32_t(o.count()), fusion.crop_y, fusion.crop_x, a.h, a.w, fusion.addend_y,
                  fusion.addend_x};
  const FlatGrid grid = flat_grid(context_.info(), o.count());
  // Bindings the shader never reads (bias, addend) must still be bound to something.
  recorder.dispatch(pipeline(fusion.addend != nullptr),
                    {{input.view, vk::Access::Read},
                     {weight.view, vk::Access::Read},
                     {bias ? bias->view : weight.view, vk::Access::Read},
                     {output.view, vk::Access::Write},
                     {fusion.addend ? fusion.addend->view : weight.view, vk::Access::Read}},
                    &push, sizeof push, grid.x, grid.y, 1, "conv_transpose2d");
}

}  // namespace vkseg::ops
