#pragma once
#include <vector>

#include "ops/conv2d_params.hpp"
#include "ops/packed_gemm.hpp"

namespace vkseg::ops {

// The two convolutions built on PackedGemm (groups = 1). Both read weights repacked on the host
// once (prepare_weights) and need a workspace, used in chunks of at most about
// k_conv_workspace_budget bytes so that large inputs do not need large scratch memory.
constexpr uint64_t k_conv_workspace_budget = uint64_t(32) << 20;

// What Conv2d needs of a convolution built on PackedGemm.
class PackedConv {
 public:
  virtual ~PackedConv() = default;
  // Floats of the repacked weights, and the repacking of PyTorch's layout.
  virtual uint64_t weight_floats() const = 0;
  virtual std::vector<float> prepare_weights(const std::vector<float>& weights) const = 0;
  virtual uint64_t workspace_bytes(const Shape& output) const = 0;
  virtual void record(vk::Recorder& recorder, const Tensor& input, const Tensor& weight,
                      const Tensor* bias, const Tensor& output, const Tensor& workspace) const = 0;
};

// im2col packing of the input, then one GEMM: any kernel, stride, padding and dilation.
class Im2colConv : public PackedConv {
 public:
  Im2colConv(Context& context, const Conv2dParams& params);
  uint64_t weight_floats() const override;
  std::vector<float> prepare_weights(const std::vector<float>& weights) const override;
  uint64_t workspace_bytes(const Shape& output) const override;
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& weight,
              const Tensor* bias, const Tensor& output, const Tensor& workspace) const override;

 private:
  uint32_t columns_per_chunk(const Shape& output) const;
  Context& context_;
  Conv2dParams params_;
  PackedGemm gemm_;
  uint32_t k_;  // GEMM depth: in_channels * kernel_h * kernel_w
};

// Winograd F(4x4, 3x3) for 3x3, stride-1 layers: input transform, 36 GEMMs over channels, output
// transform (with bias and ReLU). 4x fewer multiplications than im2col; a dilated layer runs as
// undilated ones on its sub-grids, whose tiles waste more the fewer points a sub-grid has. The
// transformed weights stay fp32 at every precision: the transforms cancel large terms, and
// fp16-rounded transformed weights cost about 10x the error of fp16 inputs.
class WinogradConv : public PackedConv {
 public:
  WinogradConv(Context& context, const Conv2dParams& params);
  static bool applies(const Conv2dParams& params);
  uint64_t weight_floats() const override;
  std::vector<float> prepare_weights(const std::vector<float>& weights) const override;
  uint64_t workspace_bytes(const Shape& output) const override;
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& weight,
              const Tensor* bias, const Tensor& output, const Tensor& workspace) const override;

 private:
  struct Chunking {
    uint32_t res_h, res_w;  // sub-grids of a dilated layer along each axis
    uint32_t tiles_w, tiles_per_image, total, per_chunk;
    uint64_t v_bytes, m_offset, m_bytes;
  };
  Chunking chunking(const Shape& output) const;
  Context& context_;
  Conv2dParams params_;
  PackedGemm gemm_;
};

}  // namespace vkseg::ops
