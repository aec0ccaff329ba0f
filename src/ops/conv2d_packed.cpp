#include "ops/conv2d_packed.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "ops/dispatch.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

struct Im2colPush {
  uint32_t c, h, w, ow, image, col0, n, k, k4, first_row, rows, row_blocks, texels;
};
struct WinogradPush {
  uint32_t c, h, w, tiles_w, tiles_per_image, res_h, res_w, t0, tc, c4;
  uint32_t texels;  // winograd_input.comp: texels in its input binding
};

// How many of `total` units of `unit_bytes` each one chunk takes: what fits the budget and
// `max_texels` texels of `unit_texels` each (at least one).
uint32_t units_per_chunk(uint64_t budget, uint64_t unit_bytes, uint64_t unit_texels,
                         uint64_t max_texels, uint32_t total) {
  if (budget == 0) budget = k_conv_workspace_budget;
  uint64_t n = std::max<uint64_t>(1, budget / unit_bytes);
  n = std::min<uint64_t>(n, std::max<uint64_t>(1, max_texels / unit_texels));
  return uint32_t(std::min<uint64_t>(n, total));
}

// How im2col_pack.comp and winograd_input.comp bind their whole input: in texels of 4
// activations where that pays (`four_pays`) and its range holds whole ones (they then fetch 4 at
// a time), else one a texel.
struct InputTexels {
  bool four;
  VkFormat format;
  uint32_t count;
};
InputTexels whole_input_texels(const vk::BufferView& view, Precision precision,
                               bool four_pays = true) {
  const DType type = storage_type(precision);
  const uint64_t texel4 = 4 * element_bytes(type);
  if (four_pays && view.size % texel4 == 0) {
    return {true, activation_texel4_format(type), uint32_t(view.size / texel4)};
  }
  return {false, activation_texel_format(type), uint32_t(view.size / element_bytes(type))};
}

// A readable error for fits/shapes, as Conv2d::record's own checks phrase them.
void require_workspace(const Tensor& workspace, uint64_t bytes) {
  if (workspace.view.size < bytes) {
    throw Error(fmt::format("conv2d: the workspace holds {} bytes, the layer needs {}",
                            workspace.view.size, bytes));
  }
}

// Winograd F(4x4, 3x3) weight transform G g G^T of one 3x3 kernel, in double precision.
std::array<double, 36> winograd_kernel(const float* g) {
  static constexpr double G[6][3] = {{1.0 / 4, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                     {-1.0 / 6, 1.0 / 6, -1.0 / 6}, {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                     {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
  double gg[6][3];  // G g
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 3; ++j) {
      gg[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
    }
  }
  std::array<double, 36> u;
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 6; ++j) {
      u[i * 6 + j] = gg[i][0] * G[j][0] + gg[i][1] * G[j][1] + gg[i][2] * G[j][2];
    }
  }
  return u;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// im2col

Im2colConv::Im2colConv(Context& context, const Conv2dParams& params)
    : context_(context), params_(params),
      gemm_(context, params.precision, params.precision, params.bias, params.activation, false),
      k_(params.in_channels * params.kernel_h * params.kernel_w) {}

uint64_t Im2colConv::weight_floats() const {
  return PackedGemm::a_texels(params_.out_channels, k_) * 4;
}

std::vector<float> Im2colConv::prepare_weights(const std::vector<float>& weights) const {
  std::vector<float> packed(weight_floats());
  PackedGemm::pack_a(weights.data(), params_.out_channels, k_, packed.data());
  return packed;
}

uint32_t Im2colConv::columns_per_chunk(const Shape& output) const {
  const uint32_t k4 = texels4(k_);
  return units_per_chunk(params_.workspace_budget, uint64_t(k4) * 16, k4, context_.info().max_texel_buffer_elements,
                         output.h * output.w);
}

uint64_t Im2colConv::workspace_bytes(const Shape& output) const {
  return uint64_t(texels4(k_)) * 16 * columns_per_chunk(output);
}

void Im2colConv::record(vk::Recorder& recorder, const Tensor& input, const Tensor& weight,
                        const Tensor* bias, const Tensor& output, const Tensor& workspace) const {
  const auto& p = params_;
  require_workspace(workspace, workspace_bytes(output.shape));
  const Shape& in = input.shape;
  const Shape& o = output.shape;
  const uint32_t k4 = texels4(k_), hw = o.h * o.w, chunk = columns_per_chunk(o);
  const InputTexels input_texels = whole_input_texels(input.view, p.precision);
  const vk::Pipeline& pack = vk::state(context_).pipeline(
      {"im2col_pack",
       {k_flat_local_size, 1, 1, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w,
        p.dilation_h, p.dilation_w, input_texels.four},
       2, sizeof(Im2colPush), 0b01});
  const uint32_t row_blocks = ceil_div(o.w, 4);
  for (uint32_t image = 0; image < o.n; ++image) {
    for (uint32_t col0 = 0; col0 < hw; col0 += chunk) {
      const uint32_t n = std::min(chunk, hw - col0);
      const vk::BufferView packed{workspace.view.buffer, workspace.view.offset,
                                  uint64_t(k4) * n * 16};
      // Invocations cover blocks of 4 pixels of every output row the chunk touches.
      const uint32_t first_row = col0 / o.w, rows = (col0 + n - 1) / o.w - first_row + 1;
      const Im2colPush push{in.c, in.h, in.w, o.w, image * in.c * in.h * in.w, col0, n, k_, k4,
                            first_row, rows, row_blocks, input_texels.count};
      const FlatGrid grid = flat_grid(context_.info(), uint64_t(k4) * rows * row_blocks);
      recorder.dispatch(pack,
                        {{input.view, vk::Access::Read, input_texels.format},
                         {packed, vk::Access::Write}},
                        &push, sizeof push, grid.x, grid.y, 1, "im2col_pack");
      PackedGemmDims d;
      d.m = o.c, d.n = n, d.k4 = k4;
      d.out_row = hw;
      d.out_offset = image * o.c * hw + col0;
      gemm_.record(recorder, weight.view, packed, bias ? &bias->view : nullptr, output.view, d);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Winograd F(4x4, 3x3)

namespace {

// winograd_output.comp's workgroup size, bias flag, fused activation, whether it stores rows of
// 4 (undilated output rows of whole texels of 4) and the dilation.
std::vector<uint32_t> winograd_output_constants(const Conv2dParams& p, uint32_t output_width) {
  std::vector<uint32_t> constants{k_flat_local_size, 1, 1, p.bias};
  const std::vector<uint32_t> activation = p.activation.constants();
  constants.insert(constants.end(), activation.begin(), activation.end());
  constants.push_back(p.dilation_w == 1 && output_width % 4 == 0);
  constants.push_back(p.dilation_h);
  constants.push_back(p.dilation_w);
  return constants;
}

// Tiles along an output axis of `extent` dilated by `dilation`: 4 points of each sub-grid a tile.
uint32_t tiles_along(uint32_t extent, uint32_t dilation) {
  return std::min(dilation, extent) * ceil_div(ceil_div(extent, dilation), 4);
}

}  // namespace

WinogradConv::WinogradConv(Context& context, const Conv2dParams& params)
    : context_(context), params_(params),
      gemm_(context, Precision::Fp32, params.precision, false, Activation{}, true) {}

bool WinogradConv::applies(const Conv2dParams& p) {
  return p.kernel_h == 3 && p.kernel_w == 3 && p.stride_h == 1 && p.stride_w == 1 &&
         p.groups == 1;
}

uint64_t WinogradConv::weight_floats() const {
  return 36 * PackedGemm::a_texels(params_.out_channels, params_.in_channels) * 4;
}

std::vector<float> WinogradConv::prepare_weights(const std::vector<float>& weights) const {
  const uint32_t oc = params_.out_channels, c = params_.in_channels;
  // U[xi] = (G g G^T)[xi] as an oc x c matrix per position, each packed as GEMM operand A.
  std::vector<float> u(uint64_t(36) * oc * c);
  for (uint32_t o = 0; o < oc; ++o) {
    for (uint32_t i = 0; i < c; ++i) {
      const auto t = winograd_kernel(&weights[(uint64_t(o) * c + i) * 9]);
      for (int xi = 0; xi < 36; ++xi) u[(uint64_t(xi) * oc + o) * c + i] = float(t[xi]);
    }
  }
  const uint64_t per_xi = PackedGemm::a_texels(oc, c) * 4;
  std::vector<float> packed(36 * per_xi);
  for (int xi = 0; xi < 36; ++xi) {
    PackedGemm::pack_a(&u[uint64_t(xi) * oc * c], oc, c, &packed[xi * per_xi]);
  }
  return packed;
}

WinogradConv::Chunking WinogradConv::chunking(const Shape& o) const {
  Chunking ch{};
  ch.res_h = std::min(params_.dilation_h, o.h), ch.res_w = std::min(params_.dilation_w, o.w);
  ch.tiles_w = tiles_along(o.w, params_.dilation_w);
  ch.tiles_per_image = ch.tiles_w * tiles_along(o.h, params_.dilation_h);
  ch.total = ch.tiles_per_image * o.n;
  const uint32_t c4 = texels4(params_.in_channels), oc4 = texels4(params_.out_channels);
  ch.per_chunk = units_per_chunk(params_.workspace_budget, 36 * 16 * uint64_t(c4 + oc4), 36 * uint64_t(std::max(c4, oc4)),
                                 context_.info().max_texel_buffer_elements, ch.total);
  ch.v_bytes = 36 * 16 * uint64_t(c4) * ch.per_chunk;
  ch.m_offset = align_to_binding(context_.info(), ch.v_bytes);
  ch.m_bytes = 36 * 16 * uint64_t(oc4) * ch.per_chunk;
  return ch;
}

uint64_t WinogradConv::workspace_bytes(const Shape& output) const {
  const Chunking ch = chunking(output);
  return ch.m_offset + ch.m_bytes;
}

void WinogradConv::record(vk::Recorder& recorder, const Tensor& input, const Tensor& weight,
                          const Tensor* bias, const Tensor& output,
                          const Tensor& workspace) const {
  const auto& p = params_;
  require_workspace(workspace, workspace_bytes(output.shape));
  const Shape& in = input.shape;
  const Shape& o = output.shape;
  const Chunking ch = chunking(o);
  const uint32_t c4 = texels4(p.in_channels), oc4 = texels4(p.out_channels);
  const DeviceInfo& info = context_.info();
  // A patch row's 6 inputs lie in fewer than 6 texels of 4 while they are at most 3 apart.
  const InputTexels input_texels =
      whole_input_texels(input.view, p.precision, p.dilation_w <= 3);
  const vk::Pipeline& transform_in = vk::state(context_).pipeline(
      {"winograd_input",
       {k_flat_local_size, 1, 1, p.pad_h, p.pad_w, input_texels.four, p.dilation_h,
        p.dilation_w},
       2, sizeof(WinogradPush), 0b01});
  const vk::Pipeline& transform_out = vk::state(context_).pipeline(
      {shader_variant(context_, "conv2d", "winograd_output", p.precision),
       winograd_output_constants(p, o.w), 3, sizeof(WinogradPush), 0b001});
  const uint64_t a_batch = PackedGemm::a_texels(p.out_channels, p.in_channels);
  for (uint32_t t0 = 0; t0 < ch.total; t0 += ch.per_chunk) {
    const uint32_t tc = std::min(ch.per_chunk, ch.total - t0);
    const vk::BufferView v{workspace.view.buffer, workspace.view.offset, 36 * 16 * uint64_t(c4) * tc};
    const vk::BufferView m{workspace.view.buffer, workspace.view.offset + ch.m_offset,
                           36 * 16 * uint64_t(oc4) * tc};
    const WinogradPush in_push{in.c,     in.h,     in.w, ch.tiles_w, ch.tiles_per_image,
                               ch.res_h, ch.res_w, t0,   tc,         c4,
                               input_texels.count};
    FlatGrid grid = flat_grid(info, uint64_t(c4) * tc);
    recorder.dispatch(transform_in,
                      {{input.view, vk::Access::Read, input_texels.format}, {v, vk::Access::Write}},
                      &in_push, sizeof in_push, grid.x, grid.y, 1, "winograd_input");
    PackedGemmDims d;
    d.m = p.out_channels, d.n = tc, d.k4 = c4, d.batch = 36;
    d.a_batch = uint32_t(a_batch), d.b_batch = c4 * tc;
    d.out_batch = oc4 * tc, d.out_row = tc;
    gemm_.record(recorder, weight.view, v, nullptr, m, d);
    const WinogradPush out_push{o.c,      o.h, o.w, ch.tiles_w, ch.tiles_per_image, ch.res_h,
                                ch.res_w, t0,  tc,  oc4,        0};
    grid = flat_grid(info, uint64_t(oc4) * tc);
    // Without a bias, binding 1 gets a few bytes of the products; the shader never reads it.
    const vk::BufferView bias_view = bias ? bias->view : vk::BufferView{m.buffer, m.offset, 16};
    recorder.dispatch(transform_out,
                      {{m, vk::Access::Read, VK_FORMAT_R32G32B32A32_SFLOAT},
                       {bias_view, vk::Access::Read},
                       {output.view, vk::Access::Write}},
                      &out_push, sizeof out_push, grid.x, grid.y, 1, "winograd_output");
  }
}

}  // namespace vkseg::ops
