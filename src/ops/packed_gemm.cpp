#include "ops/packed_gemm.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "ops/dispatch.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

constexpr uint32_t k_row_blocks = PackedGemm::k_rows / 8;  // RMB
constexpr uint32_t k_columns = 4;                          // RN
constexpr uint32_t k_local_size = 8;                       // one group of 8 lanes

struct Push {
  uint32_t m, n, k4, a_batch, b_batch, out_batch, out_row, out_offset;
};

bool texel_format_supported(VkPhysicalDevice device, VkFormat format) {
  VkFormatProperties properties{};
  vkGetPhysicalDeviceFormatProperties(device, format, &properties);
  return properties.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT;
}

}  // namespace

PackedGemm::PackedGemm(Context& context, Precision a_precision, Precision out_precision,
                       bool bias, const Activation& activation, bool packed_out)
    : context_(context), a_precision_(a_precision), precision_(out_precision), bias_(bias),
      activation_(activation), packed_out_(packed_out) {
  if (!supported(context)) {
    throw Error("packed GEMM: the device lacks subgroup shuffles or uniform texel buffers");
  }
  require_precision(context, "packed GEMM", out_precision);
}

bool PackedGemm::supported(const Context& context) {
  // Subgroup sizes are powers of two, so at least 8 is a multiple of 8 as the shader needs.
  if (!has_subgroup_shuffle(context)) return false;
  for (VkFormat format : {VK_FORMAT_R32_SFLOAT, VK_FORMAT_R16_SFLOAT,
                          VK_FORMAT_R32G32B32A32_SFLOAT, VK_FORMAT_R16G16B16A16_SFLOAT}) {
    if (!texel_format_supported(context.physical_device(), format)) return false;
  }
  return true;
}

uint64_t PackedGemm::a_texels(uint32_t m, uint32_t k) {
  return uint64_t(ceil_div(m, k_rows)) * k_rows * texels4(k);
}

void PackedGemm::pack_a(const float* matrix, uint32_t m, uint32_t k, float* texels) {
  const uint32_t k4 = texels4(k), blocks = ceil_div(m, k_rows) * k_row_blocks;
  std::fill_n(texels, a_texels(m, k) * 4, 0.0f);
  for (uint32_t block = 0; block < blocks; ++block) {
    for (uint32_t lane = 0; lane < 8; ++lane) {
      const uint32_t row = block * 8 + lane;
      if (row >= m) continue;
      for (uint32_t col = 0; col < k; ++col) {
        texels[((uint64_t(block) * k4 + col / 4) * 8 + lane) * 4 + col % 4] =
            matrix[uint64_t(row) * k + col];
      }
    }
  }
}

VkFormat PackedGemm::a_format(Precision precision) {
  return precision == Precision::Fp16 ? VK_FORMAT_R16G16B16A16_SFLOAT
                                      : VK_FORMAT_R32G32B32A32_SFLOAT;
}

void PackedGemm::record(vk::Recorder& recorder, vk::BufferView a, vk::BufferView b,
                        const vk::BufferView* bias, vk::BufferView out,
                        const PackedGemmDims& d) const {
  if (bias_ != (bias != nullptr)) throw Error("internal error: packed GEMM bias mismatch");
  vk::PipelineKey key{shader_variant(context_, "packed GEMM", "gemm_packed", precision_),
                      {k_local_size, 1, 1, k_row_blocks, k_columns, bias_}, 4, sizeof(Push)};
  const std::vector<uint32_t> activation = activation_.constants();
  key.specialization.insert(key.specialization.end(), activation.begin(), activation.end());
  key.specialization.push_back(packed_out_);
  key.texel_bindings = 0b0011;
  const vk::Pipeline& pipeline = vk::state(context_).pipeline(key);
  const Push push{d.m, d.n, d.k4, d.a_batch, d.b_batch, d.out_batch, d.out_row, d.out_offset};
  // Without a bias, binding 2 gets a few bytes of A; the shader never reads it.
  const vk::BufferView bias_view = bias ? *bias : vk::BufferView{a.buffer, a.offset, 16};
  const uint32_t groups_x = ceil_div(d.n, k_columns * 8 * (k_local_size / 8));
  const uint32_t groups_y = ceil_div(d.m, k_rows);
  recorder.dispatch(pipeline,
                    {{a, vk::Access::Read, a_format(a_precision_)},
                     {b, vk::Access::Read, VK_FORMAT_R32G32B32A32_SFLOAT},
                     {bias_view, vk::Access::Read},
                     {out, vk::Access::Write}},
                    &push, sizeof push, groups_x, groups_y, d.batch, "gemm_packed");
}

}  // namespace vkseg::ops
