#include "ops/conv2d.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "ops/dispatch.hpp"
#include "ops/extent.hpp"
#include "ops/packed_gemm.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

// conv2d.comp: one output pixel x k_direct_oc_block channels per invocation.
constexpr uint32_t k_direct_oc_block = 4;
constexpr uint32_t k_direct_local_size = 64;
// conv2d_gemm.comp: lanes of a workgroup (along pixel blocks) at most.
constexpr uint32_t k_gemm_max_local_size = 32;

struct DirectPush {
  uint32_t c, h, w, oc, oh, ow, groups, oc_begin, oc_end;
};
// conv2d_depthwise.comp: 64 invocations per workgroup, each up to 16 outputs of a row. More
// outputs share more of each kernel row's inputs (fetched once); measured on lavapipe, that
// outweighs the outputs past a narrow row's end that a block of 16 computes for nothing.
constexpr uint32_t k_depthwise_local_size = 64;
uint32_t depthwise_outputs_per_invocation(uint32_t width) {
  return std::min<uint32_t>(16, round_up(width, 4));
}
struct DepthwisePush {
  uint32_t h, w, oh, ow, input_first, channel, weight_channel, output_plane, row_blocks, texels;
};
// Whether conv2d_depthwise.comp fetches a kernel row's inputs as one window (its USE_WINDOW):
// only then can it fetch them 4 at a time.
bool depthwise_window(const Conv2dParams& p, uint32_t px) {
  return (px - 1) * p.stride_w + (p.kernel_w - 1) * p.dilation_w + 1 <= px * p.kernel_w;
}
struct GemmPush {
  uint32_t c, h, w, oc, oh, ow, cin, cout, oc_begin, oc_end, seg, seg_blocks, row_blocks, blocks;
};
struct TiledPush {
  uint32_t c, h, w, oc, oh, ow, cin, cout, oc_begin, oc_end, seg, seg_blocks;
};

// conv2d_tiled.comp tiles: TM output channels x TN pixels per workgroup, TK deep, RM x RN
// outputs per invocation. Both use 256 invocations and 8 KiB of shared memory.
struct TileShape {
  uint32_t tm, tn, tk, rm, rn;
  uint32_t invocations() const { return (tm / rm) * (tn / rn); }
  uint32_t shared_bytes() const { return (tm + tn) * tk * 4; }
};
constexpr TileShape k_large_tile{128, 128, 8, 8, 8};
constexpr TileShape k_small_tile{64, 64, 16, 4, 4};

bool fits(const DeviceInfo& info, const TileShape& tile) {
  return info.max_workgroup_invocations >= tile.invocations() &&
         info.max_shared_memory_bytes >= tile.shared_bytes();
}

bool is_depthwise(const Conv2dParams& p) {
  return p.groups > 1 && p.groups == p.in_channels && p.groups == p.out_channels;
}

bool is_pointwise(const Conv2dParams& p) {
  return p.kernel_h == 1 && p.kernel_w == 1 && p.stride_h == 1 && p.stride_w == 1 &&
         p.pad_h == 0 && p.pad_w == 0 && p.bottom() == 0 && p.right() == 0;
}

struct ChannelRange {
  uint32_t begin, end;
};

// Output channels per dispatch, so that one dispatch's weight slice fits a storage binding and
// starts at an aligned offset (fc6 of a VGG16 FCN holds 411 MB; lavapipe binds 128 MiB). Each
// range covers whole groups or part of one group, so no GEMM block straddles a group.
std::vector<ChannelRange> dispatch_ranges(const DeviceInfo& info, uint64_t channel_bytes,
                                          uint32_t channels, uint32_t group_channels) {
  const uint64_t fit = std::min<uint64_t>(channels, info.max_storage_buffer_range / channel_bytes);
  if (fit == 0) {
    throw Error(fmt::format("conv2d: one output channel's weights ({} bytes) exceed the device's "
                            "largest storage binding", channel_bytes));
  }
  if (fit == channels) return {{0, channels}};
  const uint64_t alignment = std::max<uint64_t>(1, info.min_storage_buffer_offset_alignment);
  auto aligned = [&](uint64_t channel) { return channel * channel_bytes % alignment == 0; };
  std::vector<ChannelRange> ranges;
  if (fit >= group_channels) {
    uint64_t step = fit - fit % group_channels;
    while (step > group_channels && !aligned(step)) step -= group_channels;
    for (uint64_t b = 0; b < channels; b += step) {
      ranges.push_back({uint32_t(b), uint32_t(std::min<uint64_t>(channels, b + step))});
    }
  } else {
    uint64_t step = fit;
    while (step > 1 && !aligned(step)) --step;
    for (uint64_t g = 0; g < channels; g += group_channels) {
      for (uint64_t b = g; b < g + group_channels; b += step) {
        ranges.push_back({uint32_t(b), uint32_t(std::min<uint64_t>(g + group_channels, b + step))});
      }
    }
  }
  for (const ChannelRange& r : ranges) {
    if (!aligned(r.begin)) {
      throw Error(fmt::format("conv2d: cannot split {}-byte-per-channel weights into storage "
                              "bindings at {}-byte-aligned offsets", channel_bytes, alignment));
    }
  }
  return ranges;
}

// Output pixels per conv2d_gemm invocation along a row: 4..8, wasting the fewest on the row's
// last block (the larger on ties), or the whole row when it is narrower.
uint32_t pixels_per_invocation(uint32_t row) {
  if (row < 4) return row;
  uint32_t best = 8;
  for (uint32_t n = 8; n >= 4; --n) {
    if (ceil_div(row, n) * n < ceil_div(row, best) * best) best = n;
  }
  return best;
}


bool packed_fits(const Context& context, uint64_t weight_texels) {
  return PackedGemm::supported(context) &&
         weight_texels <= context.info().max_texel_buffer_elements;
}

uint64_t im2col_weight_texels(const Conv2dParams& p) {
  return PackedGemm::a_texels(p.out_channels, p.in_channels * p.kernel_h * p.kernel_w);
}

uint64_t winograd_weight_texels(const Conv2dParams& p) {
  return 36 * PackedGemm::a_texels(p.out_channels, p.in_channels);
}

Conv2dVariant auto_variant(const Context& context, const Conv2dParams& p) {
  const DeviceInfo& info = context.info();
  if (is_depthwise(p)) return Conv2dVariant::Depthwise;
  if (p.out_channels / p.groups < 8) return Conv2dVariant::Direct;  // blocks would be mostly idle
  if (info.type != "CPU" && fits(info, k_small_tile)) return Conv2dVariant::Tiled;
  // On CPUs (what autotuning on lavapipe measures): Winograd for 3x3 layers, the packed GEMM
  // where both the GEMM depth and the output channels fill its blocks, register blocks else.
  // Dilated, its tiles lie on sub-grids of about extent / dilation points padded to 4: it does
  // no more multiplications than im2col down to 2 points a sub-grid, which is where ASPP's
  // largest rate meets the map it was trained for (36 at 65x65), and reads far less.
  if (Conv2d::supports(context, p, Conv2dVariant::Winograd) && p.in_channels >= 8) {
    return Conv2dVariant::Winograd;
  }
  if (p.in_channels * p.kernel_h * p.kernel_w >= 64 && p.out_channels >= 64 &&
      Conv2d::supports(context, p, Conv2dVariant::Im2col)) {
    return Conv2dVariant::Im2col;
  }
  return is_pointwise(p) ? Conv2dVariant::Pointwise : Conv2dVariant::Gemm;
}

}  // namespace

const char* variant_name(Conv2dVariant variant) {
  switch (variant) {
    case Conv2dVariant::Auto: return "auto";
    case Conv2dVariant::Direct: return "direct";
    case Conv2dVariant::Gemm: return "gemm";
    case Conv2dVariant::Pointwise: return "pointwise";
    case Conv2dVariant::Tiled: return "tiled";
    case Conv2dVariant::Im2col: return "im2col";
    case Conv2dVariant::Winograd: return "winograd";
    case Conv2dVariant::Depthwise: return "depthwise";
  }
  return "?";
}

bool Conv2d::supports(const Context& context, const Conv2dParams& params, Conv2dVariant variant) {
  switch (variant) {
    case Conv2dVariant::Pointwise: return is_pointwise(params);
    case Conv2dVariant::Depthwise: return is_depthwise(params);
    case Conv2dVariant::Tiled: return fits(context.info(), k_small_tile);
    case Conv2dVariant::Im2col:
      return params.groups == 1 && packed_fits(context, im2col_weight_texels(params));
    case Conv2dVariant::Winograd:
      return WinogradConv::applies(params) && packed_fits(context, winograd_weight_texels(params));
    default: return true;
  }
}

Conv2dVariant Conv2d::rule_variant(const Context& context, const Conv2dParams& params) {
  return auto_variant(context, params);
}

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
  if (!supports(context, p, p.variant)) {
    throw Error(fmt::format("conv2d: the {} variant cannot run this layer on this device",
                            variant_name(p.variant)));
  }
  variant_ = p.variant == Conv2dVariant::Auto ? auto_variant(context, p) : p.variant;
  type_ = storage_type(p.precision);
  require_precision(context, "conv2d", p.precision);
  shuffle_weights_ = has_subgroup_shuffle(context);
  if (variant_ == Conv2dVariant::Im2col) packed_ = std::make_shared<Im2colConv>(context, p);
  if (variant_ == Conv2dVariant::Winograd) packed_ = std::make_shared<WinogradConv>(context, p);
}

Shape Conv2d::prepared_weight_shape() const {
  return packed_ ? Shape{1, 1, 1, uint32_t(packed_->weight_floats())} : weight_shape();
}

DType Conv2d::prepared_weight_type() const {
  return variant_ == Conv2dVariant::Winograd ? DType::F32 : type_;
}

std::vector<float> Conv2d::prepare_weights(const std::vector<float>& weights) const {
  if (weights.size() != weight_shape().count()) {
    throw Error(fmt::format("conv2d: {} weights given, the layer has {}", weights.size(),
                            weight_shape().count()));
  }
  return packed_ ? packed_->prepare_weights(weights) : weights;
}

uint64_t Conv2d::workspace_bytes(const Shape& input) const {
  return packed_ ? packed_->workspace_bytes(output_shape(input)) : 0;
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
                  conv_extent(input.h, p.kernel_h, p.stride_h, p.pad_h, p.bottom(), p.dilation_h),
                  conv_extent(input.w, p.kernel_w, p.stride_w, p.pad_w, p.right(), p.dilation_w)};
  if (out.h == 0 || out.w == 0) {
    throw Error(fmt::format("conv2d: a {}x{} kernel does not fit a padded {}x{} input", p.kernel_h,
                            p.kernel_w, input.h, input.w));
  }
  return out;
}

void Conv2d::record(vk::Recorder& recorder, const Tensor& input, const Tensor& weight,
                    const Tensor* bias, const Tensor& output, const Tensor* workspace) const {
  require_fits("conv2d", "input", input, type_);
  require_fits("conv2d", "weight", weight, prepared_weight_type());
  require_fits("conv2d", "output", output, type_);
  require_shape("conv2d", "weight", weight.shape, prepared_weight_shape());
  require_shape("conv2d", "output", output.shape, output_shape(input.shape));
  const auto& p = params_;
  if (p.bias) {
    if (!bias) throw Error("conv2d: the layer has a bias but none was given");
    require_fits("conv2d", "bias", *bias, DType::F32);
    require_shape("conv2d", "bias", bias->shape, {1, p.out_channels, 1, 1});
  }
  if (packed_) {
    if (!workspace) throw Error("conv2d: the layer needs a workspace but none was given");
    packed_->record(recorder, input, weight, bias, output, *workspace);
    return;
  }
  const DeviceInfo& info = context_.info();
  const Shape& in = input.shape;
  const Shape& o = output.shape;
  const uint32_t cin = p.in_channels / p.groups, cout = p.out_channels / p.groups;
  const uint32_t hw = o.h * o.w;
  const uint64_t channel_bytes = weight.bytes() / o.c;
  std::vector<uint32_t> conv_constants{p.kernel_h, p.kernel_w, p.stride_h,   p.stride_w, p.pad_h,
                                       p.pad_w,    p.dilation_h, p.dilation_w, p.bias};
  const std::vector<uint32_t> activation = p.activation.constants();
  conv_constants.insert(conv_constants.end(), activation.begin(), activation.end());
  // Specialization constants 0-2 are the workgroup size (local_size x local_y x 1).
  auto key = [&](const char* shader, uint32_t local_size, std::initializer_list<uint32_t> own,
                 uint32_t push_bytes, uint32_t local_y = 1, uint32_t texel_bindings = 0) {
    vk::PipelineKey k{shader_variant(context_, "conv2d", shader, p.precision),
                      {local_size, local_y, 1}, 4, push_bytes, texel_bindings};
    k.specialization.insert(k.specialization.end(), conv_constants.begin(), conv_constants.end());
    k.specialization.insert(k.specialization.end(), own.begin(), own.end());
    return k;
  };
  // A texel-buffer input is read as R32F or R16F texels unless `input_format` says otherwise.
  auto dispatch = [&](const vk::Pipeline& pipeline, ChannelRange r, const vk::BufferView& in_view,
                      const void* push, uint32_t push_bytes, uint32_t gx, uint32_t gy,
                      uint64_t gz, VkFormat input_format = VK_FORMAT_UNDEFINED) {
    if (gx > info.max_workgroup_count[0] || gy > info.max_workgroup_count[1] ||
        gz > info.max_workgroup_count[2]) {
      throw Error(fmt::format("conv2d: {}x{}x{} workgroups exceed the device's limit", gx, gy, gz));
    }
    const vk::BufferView weights{weight.view.buffer, weight.view.offset + r.begin * channel_bytes,
                                 (r.end - r.begin) * channel_bytes};
    if ((pipeline.texel_bindings & 1) && input_format == VK_FORMAT_UNDEFINED) {
      input_format = activation_texel_format(p.precision);
    }
    recorder.dispatch(pipeline,
                      {{in_view, vk::Access::Read, input_format},
                       {weights, vk::Access::Read},
                       {bias ? bias->view : weights, vk::Access::Read},
                       {output.view, vk::Access::Write}},
                      push, push_bytes, gx, gy, uint32_t(gz),
                      fmt::format("conv2d_{}", variant_name(variant_)));
  };
  // Workgroup rows (y) of a GEMM dispatch: segments of a group (or less) times blocks of `tile`.
  auto segments = [&](ChannelRange r, uint32_t tile, uint32_t& seg, uint32_t& seg_blocks) {
    seg = std::min(cout, r.end - r.begin);
    seg_blocks = ceil_div(seg, tile);
    return (r.end - r.begin) / seg * seg_blocks;
  };
  const auto ranges = dispatch_ranges(info, channel_bytes, o.c, cout);

  switch (variant_) {
    case Conv2dVariant::Auto:
    case Conv2dVariant::Im2col:
    case Conv2dVariant::Winograd:
    case Conv2dVariant::Direct: {
      const auto& pipeline = vk::state(context_).pipeline(
          key("conv2d", k_direct_local_size, {k_direct_oc_block}, sizeof(DirectPush)));
      for (const ChannelRange& r : ranges) {
        const DirectPush push{in.c, in.h, in.w, o.c, o.h, o.w, p.groups, r.begin, r.end};
        dispatch(pipeline, r, input.view, &push, sizeof push, ceil_div(hw, k_direct_local_size),
                 ceil_div(r.end - r.begin, k_direct_oc_block), o.n);
      }
      break;
    }
    case Conv2dVariant::Depthwise: {
      const uint32_t px = depthwise_outputs_per_invocation(o.w);
      const uint32_t row_blocks = ceil_div(o.w, px);
      auto pipeline = [&](bool vec4) -> const vk::Pipeline& {
        return vk::state(context_).pipeline(key("conv2d_depthwise", k_depthwise_local_size,
                                                {px, vec4}, sizeof(DepthwisePush), 1, 0b0001));
      };
      const uint32_t element = element_bytes(type_), texel4 = 4 * element;
      const bool window_rows = depthwise_window(p, px);
      const uint64_t input_end = input.view.offset + input.view.size;
      // The input is read through a texel buffer: a dispatch reads the channels (planes n * c +
      // channel) that fit one.
      for (uint32_t n = 0; n < o.n; ++n) {
        for (const ChannelRange& r : ranges) {
          const uint64_t image = uint64_t(n) * in.c;
          for_each_texel_window(
              info, input.view, uint64_t(in.h) * in.w, element, image + r.begin, image + r.end,
              [&](uint64_t first, uint64_t count, TexelWindow window) {
                // Texels of 4 where the range, rounded up to whole ones, stays in the input's.
                const uint64_t whole = (window.view.size + texel4 - 1) / texel4 * texel4;
                const bool vec4 = window_rows && window.view.offset + whole <= input_end;
                if (vec4) window.view.size = whole;
                const uint32_t texels = uint32_t(window.view.size / (vec4 ? texel4 : element));
                const uint32_t c0 = uint32_t(first - image);
                const DepthwisePush push{in.h, in.w, o.h, o.w, window.first_texel, c0,
                                         c0 - r.begin, n * o.c + c0, row_blocks, texels};
                // x walks one channel's row blocks, z the channels.
                dispatch(pipeline(vec4), r, window.view, &push, sizeof push,
                         ceil_div(uint64_t(o.h) * row_blocks, k_depthwise_local_size), 1, count,
                         vec4 ? activation_texel4_format(type_) : VK_FORMAT_UNDEFINED);
              });
        }
      }
      break;
    }
    case Conv2dVariant::Gemm:
    case Conv2dVariant::Pointwise: {
      const bool pointwise = variant_ == Conv2dVariant::Pointwise;
      const uint32_t ocb = cout >= 32 ? 32 : cout >= 16 ? 16 : 8;
      const uint32_t pxb = pointwise ? std::min(8u, hw) : pixels_per_invocation(o.w);
      const uint32_t row_blocks = ceil_div(o.w, pxb);
      const uint32_t blocks = pointwise ? ceil_div(hw, pxb) : o.h * row_blocks;
      const uint32_t local_size = std::min(k_gemm_max_local_size, round_up(blocks, 8));
      const auto& pipeline = vk::state(context_).pipeline(
          key("conv2d_gemm", local_size, {ocb, pxb, shuffle_weights_, pointwise}, sizeof(GemmPush)));
      for (const ChannelRange& r : ranges) {
        GemmPush push{in.c, in.h, in.w, o.c, o.h, o.w, cin, cout, r.begin, r.end, 0, 0,
                      row_blocks, blocks};
        const uint32_t gy = segments(r, ocb, push.seg, push.seg_blocks);
        dispatch(pipeline, r, input.view, &push, sizeof push, ceil_div(blocks, local_size), gy,
                 o.n);
      }
      break;
    }
    case Conv2dVariant::Tiled: {
      const TileShape t = o.c >= 128 && hw >= 128 && fits(info, k_large_tile) ? k_large_tile
                                                                               : k_small_tile;
      const auto& pipeline = vk::state(context_).pipeline(
          key("conv2d_tiled", t.invocations(), {t.tm, t.tn, t.tk, t.rm, t.rn, is_pointwise(p)},
              sizeof(TiledPush)));
      for (const ChannelRange& r : ranges) {
        TiledPush push{in.c, in.h, in.w, o.c, o.h, o.w, cin, cout, r.begin, r.end, 0, 0};
        const uint32_t gy = segments(r, t.tm, push.seg, push.seg_blocks);
        dispatch(pipeline, r, input.view, &push, sizeof push, ceil_div(hw, t.tn), gy, o.n);
      }
      break;
    }
  }
}

}  // namespace vkseg::ops
