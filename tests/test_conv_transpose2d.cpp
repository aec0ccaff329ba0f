// ConvTranspose2d against a naive CPU scatter (the textbook form, unlike the shader's gather) on
// random shapes and the FCN upsampling layers, at fp32 and fp16. Tolerance: fp32, relative 1e-4
// (plus 1e-5 absolute for sums that cancel to near zero); fp16, relative 2e-3 on fp16-rounded
// inputs and weights (one rounding of the output, fp32 accumulation: see harness.hpp).
#include <fmt/format.h>

#include <algorithm>

#include "harness.hpp"
#include "ops/conv_transpose2d.hpp"

namespace vkseg::test {
namespace {

// Every input element adds its kernel-weighted copy into the output at (iy * s - p + ky * d).
std::vector<float> reference_conv_transpose2d(const ops::ConvTranspose2dParams& p,
                                              const ops::Shape& in, const std::vector<float>& x,
                                              const std::vector<float>& w,
                                              const std::vector<float>& b, const ops::Shape& out) {
  std::vector<double> acc(out.count());
  const uint32_t cin = p.in_channels / p.groups, cout = p.out_channels / p.groups;
  for (uint32_t n = 0; n < out.n; ++n)
    for (uint32_t o = 0; o < out.c; ++o)
      for (size_t i = 0; i < size_t(out.h) * out.w; ++i)
        acc[(size_t(n) * out.c + o) * out.h * out.w + i] = p.bias ? b[o] : 0.0;
  for (uint32_t n = 0; n < in.n; ++n)
    for (uint32_t c = 0; c < in.c; ++c)
      for (uint32_t iy = 0; iy < in.h; ++iy)
        for (uint32_t ix = 0; ix < in.w; ++ix) {
          const double v = x[((size_t(n) * in.c + c) * in.h + iy) * in.w + ix];
          const uint32_t g = c / cin;
          for (uint32_t ol = 0; ol < cout; ++ol)
            for (uint32_t ky = 0; ky < p.kernel_h; ++ky)
              for (uint32_t kx = 0; kx < p.kernel_w; ++kx) {
                const int64_t oy = int64_t(iy) * p.stride_h - p.pad_h + int64_t(ky) * p.dilation_h;
                const int64_t ox = int64_t(ix) * p.stride_w - p.pad_w + int64_t(kx) * p.dilation_w;
                if (oy < 0 || ox < 0 || oy >= out.h || ox >= out.w) continue;
                acc[((size_t(n) * out.c + g * cout + ol) * out.h + oy) * out.w + ox] +=
                    v * w[((size_t(c) * cout + ol) * p.kernel_h + ky) * p.kernel_w + kx];
              }
        }
  return {acc.begin(), acc.end()};
}

void check_conv_transpose2d(Precision precision, ops::ConvTranspose2dParams p,
                            const ops::Shape& in) {
  SCOPED_TRACE(fmt::format("{} input {} k{}x{} s{}x{} p{}x{} op{}x{} d{}x{} g{} oc{} bias{}",
                           precision_name(precision), in.str(), p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h,
                           p.pad_w, p.output_pad_h, p.output_pad_w, p.dilation_h, p.dilation_w,
                           p.groups, p.out_channels, p.bias));
  p.precision = precision;
  const ops::DType type = ops::storage_type(precision);
  ops::ConvTranspose2d conv(context(), p);
  const ops::Shape out = conv.output_shape(in);
  const ops::Shape ws = conv.weight_shape();
  const auto x = rounded(random_floats(in.count()), precision);
  const auto w = rounded(random_floats(ws.count()), precision);
  const auto b = random_floats(p.out_channels);  // fp32 at every precision
  auto dx = device_tensor(in, x, type);
  auto dw = device_tensor(conv.prepared_weight_shape(), conv.prepare_weights(w));
  auto db = device_tensor({1, p.out_channels, 1, 1}, b);
  auto dy = device_tensor(out, type);
  run([&](vk::Recorder& r) { conv.record(r, *dx, *dw, p.bias ? &*db : nullptr, *dy); });
  EXPECT_TRUE(all_close(read_floats(dy), reference_conv_transpose2d(p, in, x, w, b, out),
                        rel_tol(precision, 1e-4f), 1e-5f));
}

class ConvTranspose2dAtPrecision : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(ConvTranspose2dAtPrecision);

TEST_P(ConvTranspose2dAtPrecision, RandomShapes) {
  for (int trial = 0; trial < 40; ++trial) {
    ops::ConvTranspose2dParams p;
    p.groups = random_int(0, 3) == 0 ? random_int(2, 3) : 1;
    p.in_channels = p.groups * random_int(1, 7);
    p.out_channels = p.groups * random_int(1, 9);
    p.kernel_h = random_int(1, 5);
    p.kernel_w = random_int(1, 5);
    p.stride_h = random_int(1, 3);
    p.stride_w = random_int(1, 3);
    p.dilation_h = random_int(1, 3);
    p.dilation_w = random_int(1, 3);
    p.pad_h = random_int(0, 3);
    p.pad_w = random_int(0, 3);
    p.output_pad_h = random_int(0, std::max(p.stride_h, p.dilation_h) - 1);
    p.output_pad_w = random_int(0, std::max(p.stride_w, p.dilation_w) - 1);
    p.bias = random_int(0, 1);
    ops::Shape in{random_int(1, 3), p.in_channels, random_int(1, 9), random_int(1, 9)};
    // Keep only shapes whose padding leaves some output.
    const auto extent = [](uint32_t i, uint32_t k, uint32_t s, uint32_t pad, uint32_t op,
                           uint32_t d) {
      return (int(i) - 1) * int(s) - 2 * int(pad) + int(d * (k - 1) + op) + 1;
    };
    if (extent(in.h, p.kernel_h, p.stride_h, p.pad_h, p.output_pad_h, p.dilation_h) < 1 ||
        extent(in.w, p.kernel_w, p.stride_w, p.pad_w, p.output_pad_w, p.dilation_w) < 1) {
      --trial;
      continue;
    }
    check_conv_transpose2d(precision(), p, in);
  }
}

// The FCN upsampling layers: PyTorch ports pad by s/2 (k = 2s), Caffe's originals do not pad and
// crop afterwards. Each runs as a full 3-channel layer and as a depthwise (groups = channels) one.
TEST_P(ConvTranspose2dAtPrecision, FcnUpsamplingLayers) {
  struct Layer {
    uint32_t kernel, stride, pad;
    ops::Shape input;
  };
  const Layer layers[] = {{4, 2, 1, {2, 3, 5, 7}},   {16, 8, 4, {1, 3, 3, 4}},
                          {32, 16, 8, {1, 3, 3, 2}}, {64, 32, 16, {1, 3, 2, 3}},
                          {4, 2, 0, {2, 3, 5, 7}},   {16, 8, 0, {1, 3, 3, 4}},
                          {32, 16, 0, {1, 3, 3, 2}}, {64, 32, 0, {1, 3, 2, 3}}};
  for (const Layer& l : layers) {
    for (uint32_t groups : {1u, 3u}) {
      const ops::ConvTranspose2dParams p{.in_channels = 3, .out_channels = 3,
                                         .kernel_h = l.kernel, .kernel_w = l.kernel,
                                         .stride_h = l.stride, .stride_w = l.stride,
                                         .pad_h = l.pad, .pad_w = l.pad, .groups = groups,
                                         .bias = false};
      EXPECT_EQ(ops::ConvTranspose2d(context(), p).output_shape(l.input),
                (ops::Shape{l.input.n, 3, l.stride * (l.input.h - 1) + l.kernel - 2 * l.pad,
                            l.stride * (l.input.w - 1) + l.kernel - 2 * l.pad}));
      check_conv_transpose2d(precision(), p, l.input);
    }
  }
}

TEST_P(ConvTranspose2dAtPrecision, OneByOneMapKernelLargerThanInputAndChannelMultiplier) {
  check_conv_transpose2d(precision(), {.in_channels = 5, .out_channels = 7, .kernel_h = 4, .kernel_w = 4,
                          .stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1},
                         {2, 5, 1, 1});
  check_conv_transpose2d(precision(), {.in_channels = 3, .out_channels = 6, .kernel_h = 7, .kernel_w = 7,
                          .pad_h = 3, .pad_w = 3},
                         {1, 3, 2, 3});
  // Depthwise with two outputs per input channel, and output padding on a dilated kernel.
  check_conv_transpose2d(precision(), {.in_channels = 3, .out_channels = 6, .kernel_h = 3, .kernel_w = 5,
                          .stride_h = 2, .stride_w = 3, .output_pad_h = 1, .output_pad_w = 2,
                          .dilation_h = 2, .groups = 3},
                         {2, 3, 4, 3});
}

// More output channels than one invocation computes (blocks of up to 16, split evenly; the
// FCN's 21 classes), with groups, and more (image, channel block, phase) slices than one
// dispatch holds in z (65535 on most devices: 260 images x 256 phases).
TEST_P(ConvTranspose2dAtPrecision, ChannelBlocksAndSlicesBeyondOneDispatch) {
  check_conv_transpose2d(precision(), {.in_channels = 21, .out_channels = 21, .kernel_h = 16,
                          .kernel_w = 16, .stride_h = 8, .stride_w = 8, .pad_h = 4, .pad_w = 4},
                         {1, 21, 3, 4});
  check_conv_transpose2d(precision(), {.in_channels = 6, .out_channels = 70, .kernel_h = 3,
                          .kernel_w = 2, .stride_h = 2, .stride_w = 1, .pad_h = 1, .groups = 2},
                         {2, 6, 5, 3});
  check_conv_transpose2d(precision(), {.in_channels = 2, .out_channels = 1, .kernel_h = 16,
                          .kernel_w = 16, .stride_h = 16, .stride_w = 16},
                         {260, 2, 1, 1});
}

TEST_P(ConvTranspose2dAtPrecision, FusedCropAndSkipAddition) {
  // What the runner fuses in FCNs: only a window of the result (a crop), plus a window of
  // another tensor (a skip connection), against the reference result cropped and summed.
  for (int trial = 0; trial < 12; ++trial) {
    ops::ConvTranspose2dParams p{.in_channels = uint32_t(random_int(1, 5)),
                                 .kernel_h = uint32_t(random_int(2, 8)),
                                 .kernel_w = uint32_t(random_int(2, 8)),
                                 .stride_h = uint32_t(random_int(1, 4)),
                                 .stride_w = uint32_t(random_int(1, 4)),
                                 .bias = random_int(0, 1) == 1};
    p.out_channels = random_int(0, 1) ? p.in_channels : uint32_t(random_int(1, 5));
    p.groups = p.out_channels == p.in_channels && random_int(0, 1) ? p.in_channels : 1;
    p.precision = precision();
    const ops::DType type = ops::storage_type(precision());
    ops::ConvTranspose2d conv(context(), p);
    const ops::Shape in{uint32_t(random_int(1, 2)), p.in_channels, uint32_t(random_int(1, 9)),
                        uint32_t(random_int(1, 9))};
    const ops::Shape full = conv.output_shape(in);
    ops::ConvTransposeFusion fusion;
    fusion.crop_y = random_int(0, full.h - 1), fusion.crop_x = random_int(0, full.w - 1);
    const ops::Shape out{in.n, p.out_channels, uint32_t(random_int(1, full.h - fusion.crop_y)),
                         uint32_t(random_int(1, full.w - fusion.crop_x))};
    const ops::Shape addend_shape{in.n, p.out_channels, out.h + uint32_t(random_int(0, 4)),
                                  out.w + uint32_t(random_int(0, 4))};
    fusion.addend_y = random_int(0, addend_shape.h - out.h);
    fusion.addend_x = random_int(0, addend_shape.w - out.w);
    SCOPED_TRACE(fmt::format("{} input {} full {} window {} at ({}, {}) addend {} at ({}, {})",
                             precision_name(precision()), in.str(), full.str(), out.str(),
                             fusion.crop_y, fusion.crop_x, addend_shape.str(), fusion.addend_y,
                             fusion.addend_x));
    const auto x = rounded(random_floats(in.count()), precision());
    const auto w = rounded(random_floats(conv.weight_shape().count()), precision());
    const auto b = random_floats(p.out_channels);
    const auto a = rounded(random_floats(addend_shape.count()), precision());
    const auto reference = reference_conv_transpose2d(p, in, x, w, b, full);
    std::vector<float> expected(out.count());
    for (uint32_t n = 0; n < out.n; ++n)
      for (uint32_t c = 0; c < out.c; ++c)
        for (uint32_t y = 0; y < out.h; ++y)
          for (uint32_t xx = 0; xx < out.w; ++xx) {
            const size_t plane = size_t(n) * out.c + c;
            expected[(plane * out.h + y) * out.w + xx] =
                reference[(plane * full.h + y + fusion.crop_y) * full.w + xx + fusion.crop_x] +
                a[(plane * addend_shape.h + y + fusion.addend_y) * addend_shape.w + xx +
                  fusion.addend_x];
          }
    auto dx = device_tensor(in, x, type);
    auto dw = device_tensor(conv.prepared_weight_shape(), conv.prepare_weights(w));
    auto db = device_tensor({1, p.out_channels, 1, 1}, b);
    auto da = device_tensor(addend_shape, a, type);
    auto dy = device_tensor(out, type);
    fusion.addend = &*da;
    run([&](vk::Recorder& r) { conv.record(r, *dx, *dw, p.bias ? &*db : nullptr, *dy, fusion); });
    EXPECT_TRUE(all_close(read_floats(dy), expected, rel_tol(precision(), 1e-4f), 1e-5f));
  }
}

TEST(ConvTranspose2d, RejectsBadParameters) {
  EXPECT_THROW(ops::ConvTranspose2d(context(), {.in_channels = 3, .out_channels = 0}), Error);
  EXPECT_THROW(ops::ConvTranspose2d(context(), {.in_channels = 3, .out_channels = 3,
                                                .kernel_h = 0}),
               Error);
  EXPECT_THROW(ops::ConvTranspose2d(context(), {.in_channels = 4, .out_channels = 6,
                                                .groups = 4}),
               Error);
  // Output padding must stay below the stride or the dilation.
  EXPECT_THROW(ops::ConvTranspose2d(context(), {.in_channels = 1, .out_channels = 1,
                                                .kernel_h = 3, .kernel_w = 3, .stride_h = 2,
                                                .stride_w = 2, .output_pad_w = 2}),
               Error);
  EXPECT_NO_THROW(ops::ConvTranspose2d(context(), {.in_channels = 1, .out_channels = 1,
                                                   .kernel_h = 3, .kernel_w = 3,
                                                   .output_pad_h = 1, .dilation_h = 2}));
  ops::ConvTranspose2d conv(context(), {.in_channels = 2, .out_channels = 2, .pad_h = 1});
  EXPECT_THROW(conv.output_shape({1, 2, 2, 2}), Error);  // (2 - 1) - 2 + 1 = 0 rows
  EXPECT_THROW(conv.output_shape({1, 3, 5, 5}), Error);  // wrong channel count
  auto x = device_tensor({1, 2, 3, 3});
  auto w = device_tensor(conv.prepared_weight_shape());
  auto y = device_tensor(conv.output_shape(x->shape));
  vk::Recorder recorder(context());
  recorder.begin();
  EXPECT_THROW(conv.record(recorder, *x, *w, nullptr, *y), Error);  // the layer has a bias
  recorder.end();
}

}  // namespace
}  // namespace vkseg::test
