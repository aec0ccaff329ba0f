#include "ops/conv2d.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "ops/dispatch.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

constexpr uint32_t k_oc_block = 4;
constexpr uint32_t k_local_size = 64;

struct Push {
  uint32_t c, h, w, oc, oh, ow, groups, oc_begin, oc_end;
};

// Output channels per dispatch so that one dispatch's weight slice fits a storage binding and
// starts at an aligned offset (fc6 of a VGG16 FCN holds 411 MB; lavapipe binds 128 MiB).
uint32_t channels_per_dispatch(const DeviceInfo& info, uint64_t channel_bytes, uint32_t channels) {
  uint64_t count = std::min<uint64_t>(channels, info.max_storage_buffer_range / channel_bytes);
  const uint64_t alignment = std::max<uint64_t>(1, info.min_storage_buffer_offset_alignment);
  while (count > 1 && count < channels && (count * channel_bytes) % alignment != 0) --count;
  if (count == 0) {
    throw Error(fmt::format("conv2d: one output channel's weights ({} bytes) exceed the device's "
                            "largest storage binding", channel_bytes));
  }
  return uint32_t(count);
}

// PyTorch's output extent: floor((in + 2p - d(k-1) - 1) / s) + 1; 0 when the window never fits.
uint32_t conv_extent(uint32_t in, uint32_t k, uint32_t s, uint32_t p, uint32_t d) {
  const int64_t span = int64_t(in) + 2 * int64_t(p) - int64_t(d) * (k - 1) - 1;
  return span < 0 ? 0 : uint32_t(span / s + 1);
}

}  // namespace

Conv2d::Conv2d(Context& context, const Conv2dParams& params)
    : context_(context), params_(params) {
  const auto& p = params;
  if (p.in_channels == 0 || p.out_channels == 0 || p.kernel_h == 0 || p.kernel_w == 0 ||
      p.stride_h == 0 || p.stride_w == 0 || p.dilation_h == 0 || p.dilation_w == 0 ||
      p.groups == 0) {
    throw Error("conv2d: channels, kernel, stride, dilation and groups must be positive");
  }
  if (p.in_channels % p.groups || p.out_channels % p.groups) {
    throw Error(fmt::format("conv2d: {} input and {} output channels do not divide into {} groups",
                            p.in_channels, p.out_channels, p.groups));
  }
  pipeline_ = &context.state().pipeline(
      {"conv2d",
       {k_local_size, 1, 1, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w,
        p.dilation_h, p.dilation_w, p.bias, p.relu, k_oc_block},
       4,
       sizeof(Push)});
}

Shape Conv2d::weight_shape() const {
  return {params_.out_channels, params_.in_channels / params_.groups, params_.kernel_h,
          params_.kernel_w};
}

Shape Conv2d::output_shape(const Shape& input) const {
  const auto& p = params_;
  if (input.c != p.in_channels) {
    throw Error(fmt::format("conv2d: input has {} channels, expected {}", input.c, p.in_channels));
  }
  const Shape out{input.n, p.out_channels,
                  conv_extent(input.h, p.kernel_h, p.stride_h, p.pad_h, p.dilation_h),
                  conv_extent(input.w, p.kernel_w, p.stride_w, p.pad_w, p.dilation_w)};
  if (out.h == 0 || out.w == 0) {
    throw Error(fmt::format("conv2d: a {}x{} kernel does not fit a padded {}x{} input", p.kernel_h,
                            p.kernel_w, input.h, input.w));
  }
  return out;
}

void Conv2d::record(vk::Recorder& recorder, const Tensor& input, const Tensor& weight,
                    const Tensor* bias, const Tensor& output) const {
  require_fits("conv2d", "input", input);
  require_fits("conv2d", "weight", weight);
  require_fits("conv2d", "output", output);
  require_shape("conv2d", "weight", weight.shape, weight_shape());
  require_shape("conv2d", "output", output.shape, output_shape(input.shape));
  if (params_.bias) {
    if (!bias) throw Error("conv2d: the layer has a bias but none was given");
    require_fits("conv2d", "bias", *bias);
    require_shape("conv2d", "bias", bias->shape, {1, params_.out_channels, 1, 1});
  }
  const Shape& o = output.shape;
  const uint64_t channel_bytes = weight.shape.bytes() / o.c;
  const uint32_t chunk = channels_per_dispatch(context_.info(), channel_bytes, o.c);
  for (uint32_t begin = 0; begin < o.c; begin += chunk) {
    const uint32_t end = std::min(o.c, begin + chunk);
    const Push push{input.shape.c, input.shape.h, input.shape.w, o.c, o.h, o.w, params_.groups,
                    begin, end};
    const vk::BufferView weights{weight.view.buffer, weight.view.offset + begin * channel_bytes,
                                 (end - begin) * channel_bytes};
    recorder.dispatch(*pipeline_,
                      {{input.view, vk::Access::Read},
                       {weights, vk::Access::Read},
                       {bias ? bias->view : weights, vk::Access::Read},
                       {output.view, vk::Access::Write}},
                      &push, sizeof push, ceil_div(uint64_t(o.h) * o.w, k_local_size),
                      ceil_div(end - begin, k_oc_block), o.n, "conv2d");
  }
}

}  // namespace vkseg::ops
