// MaxPool2d against a naive CPU max pool on random shapes, both rounding modes, NaN inputs and the
// FCN's ceil-mode 2x2 pool on odd sizes, at fp32 and fp16 (on fp16-rounded inputs). Max is exact
// at either precision, but the tolerance is the suite's usual one.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "harness.hpp"
#include "ops/max_pool2d.hpp"

namespace vkseg::test {
namespace {

// PyTorch's loop: padding is skipped (acts as -inf) and a NaN anywhere in the window wins.
std::vector<float> reference_max_pool2d(const ops::MaxPool2dParams& p, const ops::Shape& in,
                                        const std::vector<float>& x, const ops::Shape& out) {
  std::vector<float> y(out.count());
  for (uint32_t plane = 0; plane < out.n * out.c; ++plane)
    for (uint32_t oy = 0; oy < out.h; ++oy)
      for (uint32_t ox = 0; ox < out.w; ++ox) {
        float m = -std::numeric_limits<float>::infinity();
        for (uint32_t ky = 0; ky < p.kernel_h; ++ky)
          for (uint32_t kx = 0; kx < p.kernel_w; ++kx) {
            const int64_t iy = int64_t(oy) * p.stride_h - p.pad_h + int64_t(ky) * p.dilation_h;
            const int64_t ix = int64_t(ox) * p.stride_w - p.pad_w + int64_t(kx) * p.dilation_w;
            if (iy < 0 || ix < 0 || iy >= in.h || ix >= in.w) continue;
            const float v = x[(size_t(plane) * in.h + iy) * in.w + ix];
            if (v > m || std::isnan(v)) m = v;
          }
        y[(size_t(plane) * out.h + oy) * out.w + ox] = m;
      }
  return y;
}

// Runs the pool at `precision` on x (random when empty) and compares with the reference; returns
// the output.
std::vector<float> check_max_pool2d(Precision precision, ops::MaxPool2dParams p,
                                    const ops::Shape& in, std::vector<float> x = {}) {
  SCOPED_TRACE(fmt::format("{} input {} k{}x{} s{}x{} p{}x{} d{}x{} ceil{}",
                           precision_name(precision), in.str(), p.kernel_h, p.kernel_w, p.stride_h,
                           p.stride_w, p.pad_h, p.pad_w, p.dilation_h, p.dilation_w, p.ceil_mode));
  p.precision = precision;
  const ops::DType type = ops::storage_type(precision);
  ops::MaxPool2d pool(context(), p);
  const ops::Shape out = pool.output_shape(in);
  if (x.empty()) x = random_floats(in.count());
  x = rounded(std::move(x), precision);
  auto dx = device_tensor(in, x, type);
  auto dy = device_tensor(out, type);
  run([&](vk::Recorder& r) { pool.record(r, *dx, *dy); });
  std::vector<float> y = read_floats(dy);
  EXPECT_TRUE(all_close(y, reference_max_pool2d(p, in, x, out)));
  return y;
}

class MaxPool2dAtPrecision : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(MaxPool2dAtPrecision);

TEST_P(MaxPool2dAtPrecision, RandomShapes) {
  for (int trial = 0; trial < 40; ++trial) {
    ops::MaxPool2dParams p;
    p.kernel_h = random_int(1, 5);
    p.kernel_w = random_int(1, 5);
    p.stride_h = random_int(1, 3);
    p.stride_w = random_int(1, 3);
    p.pad_h = random_int(0, p.kernel_h / 2);
    p.pad_w = random_int(0, p.kernel_w / 2);
    // Dilation only without padding: a dilated window can otherwise straddle the input and
    // hold padding alone, giving -inf, which all_close cannot compare.
    p.dilation_h = p.pad_h ? 1 : random_int(1, 2);
    p.dilation_w = p.pad_w ? 1 : random_int(1, 2);
    p.ceil_mode = random_int(0, 1);
    ops::Shape in{random_int(1, 3), random_int(1, 7), random_int(1, 17), random_int(1, 17)};
    // Keep only shapes whose padded input holds at least one dilated window.
    if (in.h + 2 * p.pad_h < p.dilation_h * (p.kernel_h - 1) + 1 ||
        in.w + 2 * p.pad_w < p.dilation_w * (p.kernel_w - 1) + 1) {
      --trial;
      continue;
    }
    check_max_pool2d(precision(), p, in);
  }
}

TEST_P(MaxPool2dAtPrecision, FcnCeilModeOnOddSizes) {
  const ops::MaxPool2dParams ceil{.ceil_mode = true};
  EXPECT_EQ(ops::MaxPool2d(context(), ceil).output_shape({1, 3, 7, 5}), (ops::Shape{1, 3, 4, 3}));
  check_max_pool2d(precision(), ceil, {2, 3, 7, 5});
  check_max_pool2d(precision(), ceil, {1, 5, 1, 1});
  check_max_pool2d(precision(), ceil, {1, 6, 13, 8});
  const ops::MaxPool2dParams floor{};
  EXPECT_EQ(ops::MaxPool2d(context(), floor).output_shape({1, 3, 7, 5}), (ops::Shape{1, 3, 3, 2}));
  check_max_pool2d(precision(), floor, {2, 3, 7, 5});
}

TEST_P(MaxPool2dAtPrecision, CeilModeDropsWindowStartingInRightPadding) {
  // (5 + 2 - 1 - 1) / 2 rounds up to 3, plus one is 4, but the 4th window would start at row 5,
  // in the right padding, so PyTorch keeps 3.
  const ops::MaxPool2dParams p{.pad_h = 1, .pad_w = 1, .ceil_mode = true};
  EXPECT_EQ(ops::MaxPool2d(context(), p).output_shape({1, 1, 5, 5}), (ops::Shape{1, 1, 3, 3}));
  check_max_pool2d(precision(), p, {1, 2, 5, 5});
}

TEST_P(MaxPool2dAtPrecision, KernelLargerThanInputWithPadding) {
  const ops::MaxPool2dParams p{.kernel_h = 7, .kernel_w = 6, .stride_h = 1, .stride_w = 1,
                               .pad_h = 3, .pad_w = 3};
  check_max_pool2d(precision(), p, {2, 3, 2, 1});
}

TEST_P(MaxPool2dAtPrecision, PropagatesNan) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const ops::Shape in{1, 2, 4, 4};
  std::vector<float> x = random_floats(in.count());
  x[0] = nan;           // first element of channel 0's first window
  x[1 * 4 + 3] = nan;   // last element of channel 0's second window
  x[16 + 2 * 4] = nan;  // channel 1's third window, next to a larger value
  x[16 + 2 * 4 + 1] = 100.0f;
  const std::vector<float> y = check_max_pool2d(precision(), {}, in, x);
  ASSERT_EQ(y.size(), 8u);
  const std::vector<bool> expect_nan{true, true, false, false, false, false, true, false};
  for (size_t i = 0; i < y.size(); ++i) {
    EXPECT_EQ(std::isnan(y[i]), expect_nan[i]) << "output " << i;
  }
}

TEST(MaxPool2d, RejectsBadParameters) {
  EXPECT_THROW(ops::MaxPool2d(context(), {.kernel_h = 0}), Error);
  EXPECT_THROW(ops::MaxPool2d(context(), {.stride_w = 0}), Error);
  EXPECT_THROW(ops::MaxPool2d(context(), {.dilation_h = 0}), Error);
  // Padding above half the kernel, as PyTorch refuses it.
  EXPECT_THROW(ops::MaxPool2d(context(), {.kernel_h = 3, .kernel_w = 3, .pad_h = 2}), Error);
  EXPECT_THROW(ops::MaxPool2d(context(), {.pad_w = 2}), Error);
  ops::MaxPool2d pool(context(), {.kernel_h = 5, .kernel_w = 5, .stride_h = 1, .stride_w = 1});
  EXPECT_THROW(pool.output_shape({1, 1, 4, 9}), Error);  // no window fits
  ops::MaxPool2d dilated(context(), {.kernel_h = 3, .kernel_w = 3, .dilation_h = 3});
  EXPECT_THROW(dilated.output_shape({1, 1, 6, 6}), Error);
}

}  // namespace
}  // namespace vkseg::test
