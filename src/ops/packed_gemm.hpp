#pragma once
#include <vector>

#include "ops/activation.hpp"
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

// Extents of one gemm_packed.comp product, out[z] = A[z] B[z] for z < batch (see the shader for
// the packed layouts). Offsets and strides are in texels of A and B and elements of out (vec4s
// when packed_out).
struct PackedGemmDims {
  uint32_t m = 0, n = 0, k4 = 0, batch = 1;
  uint32_t a_batch = 0, b_batch = 0;
  uint32_t out_batch = 0, out_row = 0, out_offset = 0;
};

// Batched GEMM on texel-packed operands, the fast matrix product on CPU Vulkan: the GEMM of the
// im2col and Winograd convolutions.
class PackedGemm {
 public:
  // Rows per invocation; A's rows are zero-padded to a multiple of it.
  static constexpr uint32_t k_rows = 16;
  // A holds `a_precision` texels. out is `out_precision` NCHW rows (bias and activation applied) or,
  // with packed_out, fp32 vec4s of 4 rows (no bias, no activation).
  PackedGemm(Context& context, Precision a_precision, Precision out_precision, bool bias,
             const Activation& activation, bool packed_out);
  // Whether the device has what the shader needs: subgroup shuffles in groups of 8 and uniform
  // texel buffers of the formats vkseg uses.
  static bool supported(const Context& context);

  // Texels of A for an m x k matrix, and its packing from row-major floats (zero-padded).
  static uint64_t a_texels(uint32_t m, uint32_t k);
  static void pack_a(const float* matrix, uint32_t m, uint32_t k, float* texels);
  static VkFormat a_format(Precision precision);

  // bias may be null when constructed without one.
  void record(vk::Recorder& recorder, vk::BufferView a, vk::BufferView b, const vk::BufferView* bias,
              vk::BufferView out, const PackedGemmDims& dims) const;

 private:
  Context& context_;
  Precision a_precision_, precision_;
  bool bias_;
  Activation activation_;
  bool packed_out_;
};

inline uint32_t texels4(uint64_t values) { return uint32_t((values + 3) / 4); }

}  // namespace vkseg::ops
