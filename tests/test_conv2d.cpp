// Conv2d against a naive CPU convolution on random shapes, with every shader variant the device
// can run forced in turn, at fp32 and fp16. Tolerance: fp32, relative 1e-4 (plus 1e-5 absolute
// for sums that cancel to near zero); fp16, relative 2e-3 on fp16-rounded inputs and weights
// (see k_fp16_rel_tol in harness.hpp: one rounding of the output, fp32 accumulation).
#include <fmt/format.h>

#include <cmath>

#include "harness.hpp"
#include "ops/conv2d.hpp"
#include "ops/packed_gemm.hpp"

namespace vkseg::test {
namespace {

std::vector<float> reference_conv2d(const ops::Conv2dParams& p, const ops::Shape& in,
                                    const std::vector<float>& x, const std::vector<float>& w,
                                    const std::vector<float>& b, const ops::Shape& out) {
  std::vector<float> y(out.count());
  const uint32_t cin = p.in_channels / p.groups, cout = p.out_channels / p.groups;
  for (uint32_t n = 0; n < out.n; ++n)
    for (uint32_t o = 0; o < out.c; ++o)
      for (uint32_t oy = 0; oy < out.h; ++oy)
        for (uint32_t ox = 0; ox < out.w; ++ox) {
          double acc = p.bias ? b[o] : 0.0;
          const uint32_t g = o / cout;
          for (uint32_t ic = 0; ic < cin; ++ic)
            for (uint32_t ky = 0; ky < p.kernel_h; ++ky)
              for (uint32_t kx = 0; kx < p.kernel_w; ++kx) {
                const int64_t iy = int64_t(oy) * p.stride_h - p.pad_h + int64_t(ky) * p.dilation_h;
                const int64_t ix = int64_t(ox) * p.stride_w - p.pad_w + int64_t(kx) * p.dilation_w;
                if (iy < 0 || ix < 0 || iy >= in.h || ix >= in.w) continue;
                acc += double(x[((size_t(n) * in.c + g * cin + ic) * in.h + iy) * in.w + ix]) *
                       w[((size_t(o) * cin + ic) * p.kernel_h + ky) * p.kernel_w + kx];
              }
          y[((size_t(n) * out.c + o) * out.h + oy) * out.w + ox] =
              float(reference_activation(p.activation, acc));
        }
  return y;
}

constexpr ops::Conv2dVariant k_variants[] = {
    ops::Conv2dVariant::Auto,  ops::Conv2dVariant::Direct, ops::Conv2dVariant::Gemm,
    ops::Conv2dVariant::Pointwise, ops::Conv2dVariant::Tiled, ops::Conv2dVariant::Im2col,
    ops::Conv2dVariant::Winograd, ops::Conv2dVariant::Depthwise};

// Runs the layer at `precision` on input x with every variant that supports it (Pointwise only
// takes 1x1 stride-1 layers).
void check_conv2d(Precision precision, ops::Conv2dParams p, const ops::Shape& in,
                  std::vector<float> x) {
  p.precision = precision;
  const ops::DType type = ops::storage_type(precision);
  const ops::Shape ws{p.out_channels, p.in_channels / p.groups, p.kernel_h, p.kernel_w};
  x = rounded(std::move(x), precision);
  const auto w = rounded(random_floats(ws.count()), precision);
  const auto b = random_floats(p.out_channels);  // fp32 at every precision
  auto dx = device_tensor(in, x, type);
  auto db = device_tensor({1, p.out_channels, 1, 1}, b);
  std::vector<float> expected;
  for (ops::Conv2dVariant variant : k_variants) {
    p.variant = variant;
    if (!ops::Conv2d::supports(context(), p, variant)) continue;
    SCOPED_TRACE(fmt::format("{} {} variant, input {} k{}x{} s{}x{} p{}x{}x{}x{} d{}x{} g{} oc{} "
                             "bias{} {}",
                             precision_name(precision), ops::variant_name(variant), in.str(),
                             p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w,
                             p.bottom(), p.right(), p.dilation_h, p.dilation_w, p.groups,
                             p.out_channels, p.bias, ops::activation_name(p.activation.kind)));
    ops::Conv2d conv(context(), p);
    const ops::Shape out = conv.output_shape(in);
    ASSERT_EQ(conv.weight_shape(), ws);
    if (expected.empty()) expected = reference_conv2d(p, in, x, w, b, out);
    auto dw = device_tensor(conv.prepared_weight_shape(), conv.prepare_weights(w),
                            conv.prepared_weight_type());
    auto dy = device_tensor(out, type);
    const uint64_t workspace_bytes = conv.workspace_bytes(in);
    auto workspace = device_tensor({1, 1, 1, uint32_t(std::max<uint64_t>(4, workspace_bytes) / 4)});
    run([&](vk::Recorder& r) {
      conv.record(r, *dx, *dw, p.bias ? &*db : nullptr, *dy, workspace_bytes ? &*workspace : nullptr);
    });
    // Winograd F(4x4, 3x3) computes each output from transformed sums whose terms cancel: its
    // fp32 error is bounded by the layer's output scale rather than by each output (cuDNN's
    // Winograd behaves the same), so it is held to 1e-4 of the largest output; every other
    // variant to the per-element tolerance.
    float abs_tol = 1e-5f;
    if (conv.chosen_variant() == ops::Conv2dVariant::Winograd) {
      float scale = 0;
      for (float v : expected) scale = std::max(scale, std::abs(v));
      abs_tol = std::max(abs_tol, 1e-4f * scale);
    }
    EXPECT_TRUE(all_close(read_floats(dy), expected, rel_tol(precision, 1e-4f), abs_tol));
  }
}

void check_conv2d(Precision precision, const ops::Conv2dParams& p, const ops::Shape& in) {
  check_conv2d(precision, p, in, random_floats(in.count()));
}

class Conv2dAtPrecision : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(Conv2dAtPrecision);

TEST_P(Conv2dAtPrecision, RandomShapes) {
  for (int trial = 0; trial < 40; ++trial) {
    ops::Conv2dParams p;
    p.groups = random_int(0, 3) == 0 ? random_int(2, 3) : 1;
    p.in_channels = p.groups * random_int(1, 7);
    p.out_channels = p.groups * random_int(1, 9);
    p.kernel_h = random_int(1, 5);
    p.kernel_w = random_int(1, 5);
    p.stride_h = random_int(1, 3);
    p.stride_w = random_int(1, 3);
    p.dilation_h = random_int(1, 2);
    p.dilation_w = random_int(1, 2);
    p.pad_h = random_int(0, 3);
    p.pad_w = random_int(0, 3);
    p.bias = random_int(0, 1);
    p.activation = random_activation();
    if (random_int(0, 2) == 0) p.pad_bottom = random_int(0, 3), p.pad_right = random_int(0, 3);
    ops::Shape in{random_int(1, 3), p.in_channels, random_int(1, 17), random_int(1, 17)};
    // Keep only shapes whose padded input holds at least one dilated kernel window.
    if (int(in.h + p.pad_h + p.bottom()) < int(p.dilation_h * (p.kernel_h - 1) + 1) ||
        int(in.w + p.pad_w + p.right()) < int(p.dilation_w * (p.kernel_w - 1) + 1)) {
      --trial;
      continue;
    }
    check_conv2d(precision(), p, in);
  }
}

// Depthwise layers as MobileNetV3 and DeepLab have them (3x3 and 5x5, strides 1 and 2, dilated,
// odd and one-pixel maps, asymmetric padding, rows shorter and longer than a workgroup), every
// variant that runs them against the reference.
TEST_P(Conv2dAtPrecision, DepthwiseRandomShapes) {
  for (int trial = 0; trial < 16; ++trial) {
    ops::Conv2dParams p;
    p.groups = p.in_channels = p.out_channels = random_int(2, 40);
    p.kernel_h = p.kernel_w = random_int(0, 1) ? 3 : 5;
    if (random_int(0, 3) == 0) p.kernel_w = random_int(1, 4);
    p.stride_h = p.stride_w = random_int(1, 2);
    p.dilation_h = p.dilation_w = random_int(0, 3) == 0 ? random_int(2, 4) : 1;
    p.pad_h = p.pad_w = p.dilation_h * (p.kernel_h / 2);
    if (random_int(0, 3) == 0) p.pad_bottom = random_int(0, 2), p.pad_right = random_int(0, 2);
    p.bias = random_int(0, 1);
    p.activation = random_activation();
    ops::Shape in{random_int(1, 2), p.in_channels, random_int(1, 40), random_int(1, 150)};
    if (int(in.h + p.pad_h + p.bottom()) < int(p.dilation_h * (p.kernel_h - 1) + 1) ||
        int(in.w + p.pad_w + p.right()) < int(p.dilation_w * (p.kernel_w - 1) + 1)) {
      continue;
    }
    ASSERT_TRUE(ops::Conv2d::supports(context(), p, ops::Conv2dVariant::Depthwise));
    check_conv2d(precision(), p, in);
  }
}

// The depthwise shader fetches a window 4 inputs at a time where the input's size is a whole
// number of such texels (count a multiple of 4) and one at a time elsewhere: both, with windows
// that start left of a row (padding), inside a texel and at the binding's last texel.
TEST_P(Conv2dAtPrecision, DepthwiseFourAtATimeAndOneAtATime) {
  const ops::Conv2dParams p3{.in_channels = 6, .out_channels = 6, .kernel_h = 3, .kernel_w = 3,
                             .pad_h = 1, .pad_w = 1, .groups = 6, .bias = true};
  check_conv2d(precision(), p3, {2, 6, 9, 10});  // 1080 inputs: texels of 4
  check_conv2d(precision(), p3, {1, 6, 7, 9});   // 378: one at a time
  const ops::Conv2dParams dilated{.in_channels = 8, .out_channels = 8, .kernel_h = 5,
                                  .kernel_w = 5, .pad_h = 4, .pad_w = 4, .dilation_h = 2,
                                  .dilation_w = 2, .groups = 8};
  check_conv2d(precision(), dilated, {1, 8, 33, 33});
  check_conv2d(precision(), dilated, {1, 8, 33, 31});
  const ops::Conv2dParams strided{.in_channels = 4, .out_channels = 4, .kernel_h = 3,
                                  .kernel_w = 3, .stride_h = 2, .stride_w = 2, .pad_h = 1,
                                  .pad_w = 1, .groups = 4};
  check_conv2d(precision(), strided, {1, 4, 17, 21});
  check_conv2d(precision(), strided, {1, 4, 17, 23});
}

TEST_P(Conv2dAtPrecision, OneByOneMapAndPointwise) {
  ops::Conv2dParams p{.in_channels = 5, .out_channels = 7, .kernel_h = 1, .kernel_w = 1};
  check_conv2d(precision(), p, {2, 5, 1, 1});
}

TEST_P(Conv2dAtPrecision, KernelLargerThanInputWithPadding) {
  ops::Conv2dParams p{.in_channels = 3, .out_channels = 6, .kernel_h = 7, .kernel_w = 7,
                      .pad_h = 3, .pad_w = 3, .activation = k_relu};
  check_conv2d(precision(), p, {1, 3, 2, 3});
}

TEST_P(Conv2dAtPrecision, CaffeFcnFirstLayerPad100) {
  ops::Conv2dParams p{.in_channels = 3, .out_channels = 5, .kernel_h = 3, .kernel_w = 3,
                      .pad_h = 100, .pad_w = 100, .activation = k_relu};
  check_conv2d(precision(), p, {1, 3, 5, 4});
}

TEST_P(Conv2dAtPrecision, DepthwiseAndGroupsStraddlingBlocks) {
  // 6 groups of 1 output channel: every 4-channel block of the shader spans several groups.
  ops::Conv2dParams p{.in_channels = 6, .out_channels = 6, .kernel_h = 3, .kernel_w = 3,
                      .pad_h = 1, .pad_w = 1, .groups = 6};
  check_conv2d(precision(), p, {2, 6, 9, 11});
  p.out_channels = 18;
  p.groups = 3;
  check_conv2d(precision(), p, {1, 6, 8, 5});
}

TEST_P(Conv2dAtPrecision, WideLayersWithBlockTails) {
  // Channel counts that leave partial blocks of 32, 16 and 8 channels (per group), rows that
  // leave partial pixel blocks, and enough channels and pixels for the large shared-memory tile.
  check_conv2d(precision(), {.in_channels = 5, .out_channels = 37, .kernel_h = 3, .kernel_w = 3, .pad_h = 1,
                .pad_w = 1, .activation = k_relu},
               {2, 5, 11, 13});
  check_conv2d(precision(), {.in_channels = 6, .out_channels = 20, .kernel_h = 3, .kernel_w = 2, .stride_h = 2,
                .stride_w = 2, .groups = 2},
               {1, 6, 9, 10});
  check_conv2d(precision(), {.in_channels = 8, .out_channels = 34, .groups = 2}, {2, 8, 5, 7});
  check_conv2d(precision(), {.in_channels = 3, .out_channels = 16, .kernel_h = 7, .kernel_w = 7, .pad_h = 3,
                .pad_w = 3, .dilation_h = 2, .dilation_w = 2, .bias = false},
               {1, 3, 20, 21});
  check_conv2d(precision(), {.in_channels = 4, .out_channels = 130, .kernel_h = 3, .kernel_w = 3, .pad_h = 1,
                .pad_w = 1, .activation = k_relu},
               {1, 4, 12, 12});
}

TEST_P(Conv2dAtPrecision, PackedGemmVariantsOnRandomWideShapes) {
  // Im2col and Winograd pad rows to 16, K to 4 and tiles to 4x4: channel counts and sizes that
  // leave every kind of tail, batches, paddings from none to larger than the kernel, and a
  // workspace budget that is either the default or small enough to force many chunks.
  for (int trial = 0; trial < 16; ++trial) {
    ops::Conv2dParams p{.in_channels = uint32_t(random_int(1, 41)),
                        .out_channels = uint32_t(random_int(1, 45)), .kernel_h = 3, .kernel_w = 3};
    p.pad_h = random_int(0, 3);
    p.pad_w = random_int(0, 3);
    if (trial % 4 == 3) {  // im2col only: other kernels, strides and dilations
      p.kernel_h = random_int(1, 7), p.kernel_w = random_int(1, 7);
      p.stride_h = random_int(1, 3), p.stride_w = random_int(1, 3);
      p.dilation_h = random_int(1, 2), p.dilation_w = random_int(1, 2);
    }
    p.bias = random_int(0, 1);
    p.activation = random_activation();
    if (trial % 3 == 2) p.pad_bottom = random_int(0, 3), p.pad_right = random_int(0, 3);
    p.workspace_budget = trial % 2 ? 4096 : 0;
    const ops::Shape in{uint32_t(random_int(1, 2)), p.in_channels, uint32_t(random_int(1, 23)),
                        uint32_t(random_int(1, 23))};
    if (int(in.h + p.pad_h + p.bottom()) < int(p.dilation_h * (p.kernel_h - 1) + 1) ||
        int(in.w + p.pad_w + p.right()) < int(p.dilation_w * (p.kernel_w - 1) + 1)) {
      --trial;
      continue;
    }
    check_conv2d(precision(), p, in);
  }
}

// Dilated 3x3 layers, which Winograd runs on sub-grids of outputs `dilation` apart: DeepLab's
// dilations (2, 4, 12 with padding = dilation), unequal ones, maps smaller than the dilation (a
// sub-grid of one point), asymmetric padding, batches, chunked workspaces, and inputs read 4 at a
// time (whole texels of 4, dilation_w <= 3) and one at a time.
TEST_P(Conv2dAtPrecision, DilatedWinogradOnSubGrids) {
  struct Case {
    uint32_t c, oc, dh, dw, pad_h, pad_w;
    ops::Shape in;
    uint64_t budget;
  };
  const Case cases[] = {
      {8, 12, 2, 2, 2, 2, {1, 8, 17, 19}, 0},     {16, 8, 4, 4, 4, 4, {2, 16, 13, 10}, 4096},
      {4, 20, 12, 12, 12, 12, {1, 4, 29, 26}, 0}, {12, 9, 3, 2, 3, 2, {1, 12, 11, 16}, 0},
      {5, 7, 2, 5, 1, 6, {1, 5, 9, 7}, 4096},     {8, 8, 6, 7, 6, 7, {1, 8, 4, 3}, 0},
      {9, 16, 1, 3, 1, 3, {2, 9, 6, 12}, 0}};
  for (const Case& c : cases) {
    ops::Conv2dParams p{.in_channels = c.c, .out_channels = c.oc, .kernel_h = 3, .kernel_w = 3,
                        .pad_h = c.pad_h, .pad_w = c.pad_w, .dilation_h = c.dh,
                        .dilation_w = c.dw, .activation = k_relu, .workspace_budget = c.budget};
    if (c.budget) p.pad_bottom = c.pad_h - 1;
    // Winograd runs wherever its GEMM does (subgroups of 8 or more).
    EXPECT_EQ(ops::Conv2d::supports(context(), p, ops::Conv2dVariant::Winograd),
              ops::PackedGemm::supported(context()));
    check_conv2d(precision(), p, c.in);
  }
}

TEST_P(Conv2dAtPrecision, PackedGemmVariantsOnVggShapes) {
  // A VGG16 block (64 channels, 3x3, padding 1) in 4 KiB chunks, and an fc6-like 7x7 kernel over
  // 64 channels (K = 3136).
  check_conv2d(precision(), {.in_channels = 64, .out_channels = 64, .kernel_h = 3, .kernel_w = 3,
                             .pad_h = 1, .pad_w = 1, .activation = k_relu, .workspace_budget = 4096},
               {1, 64, 18, 21});
  check_conv2d(precision(), {.in_channels = 64, .out_channels = 24, .kernel_h = 7, .kernel_w = 7,
                             .activation = k_relu},
               {1, 64, 9, 8});
}

TEST_P(Conv2dAtPrecision, WeightsSplitAcrossStorageBindings) {
  // One output channel holds 8192 weights (32 KiB at fp32, 16 KiB at fp16); one more channel
  // than a binding holds forces a second dispatch, within one group and (with two groups) at a
  // group boundary. Only every 256th input is nonzero, so the 8192-term sums stay well within
  // the tolerance.
  const uint64_t range = context().info().max_storage_buffer_range;
  if (range > (256ull << 20)) GTEST_SKIP() << "the device binds " << range << " bytes at once";
  const uint32_t cin = 8192;
  const uint32_t fit = uint32_t(range / (uint64_t(cin) * ops::element_bytes(type())));
  auto sparse_input = [](uint32_t count) {
    std::vector<float> x(count);
    for (uint32_t i = 0; i < count; i += 256) x[i] = random_floats(1)[0];
    return x;
  };
  check_conv2d(precision(), {.in_channels = cin, .out_channels = fit + 1}, {1, cin, 1, 1},
               sparse_input(cin));
  check_conv2d(precision(), {.in_channels = 2 * cin, .out_channels = fit + 2, .groups = 2},
               {1, 2 * cin, 1, 1}, sparse_input(2 * cin));
}

// NaN in, NaN out, as PyTorch (issue 11, class 9): a NaN weight of output channel 0 makes every
// output of that channel NaN, its padded borders too (PyTorch multiplies padding zeros by the
// weights), and leaves the other channels finite, whatever the variant; a NaN input pixel
// reaches at least the outputs whose windows cover it (Winograd's transform widens that to its
// 4x4 output tile, never to other channels' finiteness). Every variant, with every activation.
TEST_P(Conv2dAtPrecision, NanWeightsAndInputsPropagateAsInPyTorch) {
  for (const ops::Activation activation : {ops::Activation{}, k_relu, ops::Activation{ops::ActivationKind::Clip, 0, 6}}) {
    ops::Conv2dParams p{.in_channels = 16, .out_channels = 16, .kernel_h = 3, .kernel_w = 3,
                        .pad_h = 1, .pad_w = 1, .activation = activation};
    p.precision = precision();
    const ops::Shape in{1, 16, 9, 10};
    for (ops::Conv2dVariant variant : k_variants) {
      p.variant = variant;
      if (!ops::Conv2d::supports(context(), p, variant)) continue;
      SCOPED_TRACE(fmt::format("{} {}", ops::variant_name(variant),
                               ops::activation_name(activation.kind)));
      ops::Conv2d conv(context(), p);
      const ops::Shape out = conv.output_shape(in);
      std::vector<float> w = random_floats(conv.weight_shape().count());
      w[5] = std::nanf("");  // output channel 0, input channel 0, tap (1, 2)
      std::vector<float> x = random_floats(in.count());
      x[size_t(3) * in.h * in.w + 4 * in.w + 5] = std::nanf("");  // input channel 3, pixel (4, 5)
      auto dx = device_tensor(in, rounded(x, precision()), type());
      auto dw = device_tensor(conv.prepared_weight_shape(), conv.prepare_weights(rounded(w, precision())),
                              conv.prepared_weight_type());
      auto db = device_tensor({1, 16, 1, 1}, random_floats(16));
      auto dy = device_tensor(out, type());
      const uint64_t workspace_bytes = conv.workspace_bytes(in);
      auto workspace = device_tensor({1, 1, 1, uint32_t(std::max<uint64_t>(4, workspace_bytes) / 4)});
      run([&](vk::Recorder& r) {
        conv.record(r, *dx, *dw, &*db, *dy, workspace_bytes ? &*workspace : nullptr);
      });
      const std::vector<float> y = read_floats(dy);
      const size_t plane = size_t(out.h) * out.w;
      size_t nan_in_channel0 = 0;
      for (size_t i = 0; i < plane; ++i) nan_in_channel0 += std::isnan(y[i]);
      EXPECT_EQ(nan_in_channel0, plane);
      for (uint32_t c = 1; c < out.c; ++c) {
        for (int dy_ = -1; dy_ <= 1; ++dy_) {
          for (int dx_ = -1; dx_ <= 1; ++dx_) {  // every output whose window covers (4, 5)
            EXPECT_TRUE(std::isnan(y[c * plane + size_t(4 + dy_) * out.w + size_t(5 + dx_)]));
          }
        }
        EXPECT_FALSE(std::isnan(y[c * plane]));  // (0, 0) is far from the NaN pixel
      }
    }
  }
}

TEST(Conv2d, RejectsImpossibleShapes) {
  ops::Conv2dParams bad_groups{.in_channels = 5, .out_channels = 4, .kernel_h = 3, .kernel_w = 3,
                               .groups = 2};
  EXPECT_THROW(ops::Conv2d(context(), bad_groups), Error);
  ops::Conv2dParams not_pointwise{.in_channels = 3, .out_channels = 8, .kernel_h = 3,
                                  .kernel_w = 3, .variant = ops::Conv2dVariant::Pointwise};
  EXPECT_THROW(ops::Conv2d(context(), not_pointwise), Error);
  ops::Conv2dParams p{.in_channels = 3, .out_channels = 4, .kernel_h = 5, .kernel_w = 5};
  ops::Conv2d conv(context(), p);
  EXPECT_THROW(conv.output_shape({1, 3, 4, 4}), Error);  // kernel does not fit
  EXPECT_THROW(conv.output_shape({1, 2, 9, 9}), Error);  // wrong channel count
}

TEST(Conv2d, RejectsTensorsOfAnotherPrecision) {
  if (!context().info().fp16_storage) GTEST_SKIP() << "the device has no 16-bit storage buffers";
  ops::Conv2dParams p{.in_channels = 2, .out_channels = 8, .precision = Precision::Fp16};
  ops::Conv2d conv(context(), p);
  const ops::DType f16 = ops::DType::F16;
  auto x = device_tensor({1, 2, 4, 4}, f16), w = device_tensor(conv.weight_shape(), f16);
  auto b16 = device_tensor({1, 8, 1, 1}, f16), b32 = device_tensor({1, 8, 1, 1});
  auto y16 = device_tensor({1, 8, 4, 4}, f16), y32 = device_tensor({1, 8, 4, 4});
  run([&](vk::Recorder& r) {
    EXPECT_THROW(conv.record(r, *x, *w, &*b32, *y32), Error);  // an fp32 output
    EXPECT_THROW(conv.record(r, *x, *w, &*b16, *y16), Error);  // biases stay fp32
  });
}

}  // namespace
}  // namespace vkseg::test
