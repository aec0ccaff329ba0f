// AvgPool2d against a naive CPU average pool (PyTorch's loop, in double) on random shapes with
// random asymmetric padding, both rounding modes and both divisor rules, at fp32 and fp16 (on
// fp16-rounded inputs); PyTorch's own outputs for the ceil-mode windows that reach past the
// padding; the node refused at load and run in a graph. Tolerance: fp32 relative 1e-5 plus
// 1e-6 absolute (a sum of at most 25 elements of magnitude 1, for averages near zero); fp16
// relative 2e-3 (the output's rounding, see harness.hpp).
#include <fmt/format.h>

#include <algorithm>

#include "harness.hpp"
#include "op_harness.hpp"
#include "ops/avg_pool2d.hpp"

namespace vkseg::test {
namespace {

// Output extent along one axis: PyTorch's pooling_output_shape, with its ceil-mode rule that the
// last window must start inside the input or the leading padding.
int64_t reference_extent(int64_t in, int64_t k, int64_t s, int64_t p0, int64_t p1, bool ceil) {
  const int64_t span = in + p0 + p1 - k;
  if (span < 0) return 0;
  int64_t out = (ceil ? (span + s - 1) / s : span / s) + 1;
  if (ceil && (out - 1) * s >= in + p0) --out;
  return out;
}

// PyTorch's cpu_avg_pool: the window clipped to [-pad, in + pad) gives the divisor when padding
// counts; clipped to the input, the sum and otherwise the divisor.
std::vector<float> reference_avg_pool2d(const ops::AvgPool2dParams& p, const ops::Shape& in,
                                        const std::vector<float>& x, const ops::Shape& out) {
  std::vector<float> y(out.count());
  size_t i = 0;
  for (uint32_t plane = 0; plane < out.n * out.c; ++plane)
    for (int64_t oy = 0; oy < out.h; ++oy)
      for (int64_t ox = 0; ox < out.w; ++ox, ++i) {
        int64_t y0 = oy * p.stride_h - p.pad_top, x0 = ox * p.stride_w - p.pad_left;
        int64_t y1 = std::min<int64_t>(y0 + p.kernel_h, in.h + p.pad_bottom);
        int64_t x1 = std::min<int64_t>(x0 + p.kernel_w, in.w + p.pad_right);
        const int64_t padded = (y1 - y0) * (x1 - x0);
        y0 = std::max<int64_t>(y0, 0), x0 = std::max<int64_t>(x0, 0);
        y1 = std::min<int64_t>(y1, in.h), x1 = std::min<int64_t>(x1, in.w);
        double sum = 0;
        for (int64_t iy = y0; iy < y1; ++iy)
          for (int64_t ix = x0; ix < x1; ++ix) sum += x[(size_t(plane) * in.h + iy) * in.w + ix];
        y[i] = float(sum / double(p.count_include_pad ? padded : (y1 - y0) * (x1 - x0)));
      }
  return y;
}

std::string describe(const ops::AvgPool2dParams& p) {
  return fmt::format("k{}x{} s{}x{} pads {},{},{},{} ceil {} count_include_pad {}", p.kernel_h,
                     p.kernel_w, p.stride_h, p.stride_w, p.pad_top, p.pad_left, p.pad_bottom,
                     p.pad_right, p.ceil_mode, p.count_include_pad);
}

// Runs the pool at `precision` on x (random when empty), checks its shape and values against
// the reference and returns the output.
std::vector<float> check_avg_pool2d(Precision precision, ops::AvgPool2dParams p,
                                    const ops::Shape& in, std::vector<float> x = {}) {
  SCOPED_TRACE(fmt::format("{} input {} {}", precision_name(precision), in.str(), describe(p)));
  p.precision = precision;
  ops::AvgPool2d pool(context(), p);
  const ops::Shape out = pool.output_shape(in);
  EXPECT_EQ(out.h, reference_extent(in.h, p.kernel_h, p.stride_h, p.pad_top, p.pad_bottom,
                                    p.ceil_mode));
  EXPECT_EQ(out.w, reference_extent(in.w, p.kernel_w, p.stride_w, p.pad_left, p.pad_right,
                                    p.ceil_mode));
  if (x.empty()) x = random_floats(in.count());
  x = rounded(std::move(x), precision);
  std::vector<float> y = run_op(pool, precision, in, x, out);
  EXPECT_TRUE(all_close(y, reference_avg_pool2d(p, in, x, out), rel_tol(precision, 1e-5f), 1e-6f));
  return y;
}

ops::AvgPool2dParams random_params() {
  ops::AvgPool2dParams p;
  p.kernel_h = random_int(1, 5), p.kernel_w = random_int(1, 5);
  p.stride_h = random_int(1, 3), p.stride_w = random_int(1, 3);
  p.pad_top = random_int(0, p.kernel_h / 2), p.pad_bottom = random_int(0, p.kernel_h / 2);
  p.pad_left = random_int(0, p.kernel_w / 2), p.pad_right = random_int(0, p.kernel_w / 2);
  p.ceil_mode = random_int(0, 1);
  p.count_include_pad = random_int(0, 1);
  return p;
}

class AvgPool2dAtPrecision : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(AvgPool2dAtPrecision);

TEST_P(AvgPool2dAtPrecision, RandomShapesAndPadding) {
  for (int trial = 0; trial < 60; ++trial) {
    const ops::AvgPool2dParams p = random_params();
    const ops::Shape in{random_int(1, 3), random_int(1, 6), random_int(1, 17), random_int(1, 17)};
    // Keep only shapes whose padded input holds a window.
    if (in.h + p.pad_top + p.pad_bottom < p.kernel_h ||
        in.w + p.pad_left + p.pad_right < p.kernel_w) {
      --trial;
      continue;
    }
    check_avg_pool2d(precision(), p, in);
  }
}

TEST_P(AvgPool2dAtPrecision, EveryRoundingAndDivisorRule) {
  for (bool ceil : {false, true})
    for (bool count_pad : {false, true}) {
      const ops::AvgPool2dParams p{.kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2,
                                   .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1,
                                   .ceil_mode = ceil, .count_include_pad = count_pad};
      check_avg_pool2d(precision(), p, {2, 3, 6, 7});
      check_avg_pool2d(precision(), p, {1, 2, 1, 1});  // one pixel, padded all round
      check_avg_pool2d(precision(), p, {3, 1, 13, 2});
    }
}

// F.avg_pool2d(torch.ones(1, 1, 6, 6), 3, 2, 1, ceil_mode=True, count_include_pad=...): the
// last window starts in the input, reaches one past the bottom and right padding and so counts
// two rows or columns of the padded input, not three.
TEST_P(AvgPool2dAtPrecision, MatchesPyTorchWhereCeilModeReachesPastThePadding) {
  const ops::Shape in{1, 1, 6, 6};
  const std::vector<float> ones(in.count(), 1.0f);
  ops::AvgPool2dParams p{.kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2,
                         .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1,
                         .ceil_mode = true};
  const float a = 4.0f / 9, b = 6.0f / 9, c = 2.0f / 6, d = 3.0f / 6, e = 1.0f / 4;
  EXPECT_TRUE(all_close(check_avg_pool2d(precision(), p, in, ones),
                        {a, b, b, c, b, 1, 1, d, b, 1, 1, d, c, d, d, e},
                        rel_tol(precision(), 1e-6f)));
  p.count_include_pad = false;
  EXPECT_TRUE(all_close(check_avg_pool2d(precision(), p, in, ones),
                        std::vector<float>(16, 1.0f), rel_tol(precision(), 1e-6f)));
}

TEST_P(AvgPool2dAtPrecision, LargeMapAndWholeMapKernel) {
  check_avg_pool2d(precision(), {.kernel_h = 2, .kernel_w = 2}, {1, 4, 260, 260});
  check_avg_pool2d(precision(),
                   {.kernel_h = 9, .kernel_w = 7, .stride_h = 9, .stride_w = 7}, {2, 5, 9, 7});
}

TEST(AvgPool2d, RejectsBadParameters) {
  EXPECT_THROW(ops::AvgPool2d(context(), {.kernel_h = 0}), Error);
  EXPECT_THROW(ops::AvgPool2d(context(), {.stride_w = 0}), Error);
  EXPECT_THROW(ops::AvgPool2d(context(), {.pad_bottom = 2}), Error);  // above half of 2
  EXPECT_THROW(ops::AvgPool2d(context(), {.kernel_w = 3, .pad_right = 2}), Error);
  ops::AvgPool2d pool(context(), {.kernel_h = 5, .kernel_w = 5, .stride_h = 1, .stride_w = 1});
  EXPECT_THROW(pool.output_shape({1, 1, 4, 9}), Error);  // no window fits
}

graph::Node pool_node(std::map<std::string, graph::AttrValue> attrs) {
  return graph::make_node("pool", "avg_pool2d", {"x"}, std::move(attrs));
}

TEST(AvgPool2dNode, MalformedNodesAreRefusedAtLoad) {
  EXPECT_CONTAINS(refusal(pool_node({{"kernel", graph::Ints{3, 3}}, {"stride", graph::Ints{1, 1}},
                                     {"pads", graph::Ints{1, 2, 1, 1}}})),
                  "graph node 'pool' (avg_pool2d): 'pads' 1x2x1x1 exceed half the 3x3 kernel");
  EXPECT_CONTAINS(refusal(pool_node({{"stride", graph::Ints{1, 1}}})),
                  "needs the attribute 'kernel'");
  EXPECT_CONTAINS(refusal(pool_node({{"kernel", graph::Ints{2, 2}}, {"stride", graph::Ints{2, 2}},
                                     {"count_include_pad", int64_t(2)}})),
                  "'count_include_pad' value 2 is outside [0, 1]");
}

class AvgPool2dGraph : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(AvgPool2dGraph);

TEST_P(AvgPool2dGraph, RunsInANetwork) {
  const ops::AvgPool2dParams p{.kernel_h = 3, .kernel_w = 2, .stride_h = 2, .stride_w = 1,
                               .pad_top = 1, .pad_left = 0, .pad_bottom = 0, .pad_right = 1,
                               .ceil_mode = true, .count_include_pad = false};
  const Model model = graph_model(
      {pool_node({{"kernel", graph::Ints{3, 2}}, {"stride", graph::Ints{2, 1}},
                  {"pads", graph::Ints{1, 0, 0, 1}}, {"ceil_mode", int64_t(1)},
                  {"count_include_pad", int64_t(0)}})},
      3);
  const ops::Shape in{2, 3, 8, 5};
  const std::vector<float> x = rounded(random_floats(in.count()), precision());
  const GraphOutput y = run_graph(model, precision(), in, x);
  const ops::Shape out{2, 3, 4, 5};
  EXPECT_EQ(y.shape, out);
  EXPECT_TRUE(all_close(y.values, reference_avg_pool2d(p, in, x, out),
                        rel_tol(precision(), 1e-5f), 1e-6f));
}

}  // namespace
}  // namespace vkseg::test
