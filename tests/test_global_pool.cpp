// GlobalPool (global_avg_pool, global_max_pool) against a naive CPU mean and max per plane (in
// double) on random shapes, 1x1 maps, many planes and the large maps of segmentation heads
// (65x65, 260x260), with NaN and -inf inputs, at fp32 and fp16 (on fp16-rounded inputs); the
// nodes refused at load and run in a graph. Tolerance: max is exact; mean fp32 relative 1e-5
// plus 1e-6 absolute (the rounding of the fp32 partial sums, which a mean near zero keeps); fp16
// relative 2e-3 (the output's rounding, see harness.hpp).
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "harness.hpp"
#include "op_harness.hpp"
#include "ops/global_pool.hpp"

namespace vkseg::test {
namespace {

constexpr float k_nan = std::numeric_limits<float>::quiet_NaN();
constexpr float k_inf = std::numeric_limits<float>::infinity();

// The mean (in double) or the maximum of each plane; a NaN anywhere makes either NaN.
std::vector<float> reference_global_pool(bool max, const ops::Shape& in,
                                         const std::vector<float>& x) {
  const size_t plane_size = size_t(in.h) * in.w;
  std::vector<float> y;
  for (size_t plane = 0; plane < size_t(in.n) * in.c; ++plane) {
    double sum = 0, m = -k_inf;
    for (size_t k = 0; k < plane_size; ++k) {
      const double v = x[plane * plane_size + k];
      sum += v;
      if (std::isnan(v) || v > m) m = std::isnan(m) ? m : v;
    }
    y.push_back(float(max ? m : sum / double(plane_size)));
  }
  return y;
}

std::vector<float> check_global_pool(Precision precision, bool max, const ops::Shape& in,
                                     std::vector<float> x = {}) {
  SCOPED_TRACE(fmt::format("{} {} input {}", precision_name(precision),
                           max ? "global_max_pool" : "global_avg_pool", in.str()));
  ops::GlobalPool pool(context(), max, precision);
  const ops::Shape out = pool.output_shape(in);
  EXPECT_EQ(out, (ops::Shape{in.n, in.c, 1, 1}));
  if (x.empty()) x = random_floats(in.count());
  x = rounded(std::move(x), precision);
  std::vector<float> y = run_op(pool, precision, in, x, out);
  if (max) {
    EXPECT_TRUE(all_close(y, reference_global_pool(max, in, x), 0.0f, 0.0f));
  } else {
    EXPECT_TRUE(all_close(y, reference_global_pool(max, in, x), rel_tol(precision, 1e-5f), 1e-6f));
  }
  return y;
}

class GlobalPoolAtPrecision : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(GlobalPoolAtPrecision);

TEST_P(GlobalPoolAtPrecision, RandomShapes) {
  for (bool max : {false, true}) {
    for (int trial = 0; trial < 25; ++trial) {
      check_global_pool(precision(), max,
                        {random_int(1, 3), random_int(1, 40), random_int(1, 40), random_int(1, 40)});
    }
  }
}

TEST_P(GlobalPoolAtPrecision, SmallMapsPackPlanesTogether) {
  for (bool max : {false, true}) {
    check_global_pool(precision(), max, {2, 300, 1, 1});  // a classifier head's 1x1 maps
    check_global_pool(precision(), max, {1, 3, 1, 1});
    check_global_pool(precision(), max, {3, 37, 7, 7});   // 49: 64 lanes, two planes a group
    check_global_pool(precision(), max, {1, 5, 1, 3});
    check_global_pool(precision(), max, {1, 129, 2, 64});  // exactly one group per plane
  }
}

TEST_P(GlobalPoolAtPrecision, LargeMaps) {
  for (bool max : {false, true}) {
    check_global_pool(precision(), max, {2, 8, 65, 65});
    check_global_pool(precision(), max, {1, 3, 260, 260});
  }
}

TEST_P(GlobalPoolAtPrecision, MaxPropagatesNanAndKeepsInfinities) {
  const ops::Shape in{1, 5, 9, 11};
  const size_t plane = 99;
  std::vector<float> x = random_floats(in.count());
  x[0] = k_nan;                   // plane 0: NaN first
  x[plane + 98] = k_nan;          // plane 1: NaN last, after a larger value
  x[plane + 3] = 100.0f;
  for (size_t k = 0; k < plane; ++k) x[2 * plane + k] = -k_inf;  // plane 2: all -inf
  x[3 * plane + 50] = k_inf;      // plane 3: +inf
  const std::vector<float> y = check_global_pool(precision(), true, in, x);
  ASSERT_EQ(y.size(), 5u);
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_TRUE(std::isnan(y[1]));
  EXPECT_EQ(y[2], -k_inf);
  EXPECT_EQ(y[3], k_inf);
  EXPECT_FALSE(std::isnan(y[4]));
  // The mean propagates NaN too, by arithmetic.
  const std::vector<float> mean = check_global_pool(precision(), false, in, x);
  EXPECT_TRUE(std::isnan(mean[0]) && std::isnan(mean[1]));
}

TEST(GlobalPool, RejectsAWrongOutputShape) {
  ops::GlobalPool pool(context(), false);
  auto dx = device_tensor({2, 3, 4, 4});
  auto wrong = device_tensor({2, 3, 2, 1});
  run([&](vk::Recorder& r) { EXPECT_THROW(pool.record(r, *dx, *wrong), Error); });
}

TEST(GlobalPoolNode, MalformedNodesAreRefusedAtLoad) {
  EXPECT_CONTAINS(refusal(graph::make_node("gap", "global_avg_pool", {"x"},
                                           {{"keepdims", int64_t(1)}})),
                  "graph node 'gap' (global_avg_pool): unknown attribute 'keepdims'");
  EXPECT_CONTAINS(refusal(graph::make_node("gmp", "global_max_pool", {"x", "x"})),
                  "graph node 'gmp' (global_max_pool): takes 1 input(s), not 2");
}

class GlobalPoolGraph : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(GlobalPoolGraph);

// Both pools side by side, joined along the channels.
TEST_P(GlobalPoolGraph, RunsInANetwork) {
  const Model model = graph_model({graph::make_node("gap", "global_avg_pool", {"x"}),
                                   graph::make_node("gmp", "global_max_pool", {"x"}),
                                   graph::make_node("both", "concat", {"gap", "gmp"})},
                                  4);
  const ops::Shape in{2, 4, 33, 47};
  const std::vector<float> x = rounded(random_floats(in.count()), precision());
  const GraphOutput y = run_graph(model, precision(), in, x);
  EXPECT_EQ(y.shape, (ops::Shape{2, 8, 1, 1}));
  const std::vector<float> mean = reference_global_pool(false, in, x);
  const std::vector<float> max = reference_global_pool(true, in, x);
  std::vector<float> expected;  // per image: the 4 means, then the 4 maxima
  for (size_t i = 0; i < 16; ++i) {
    const size_t image = i / 8, channel = i % 4;
    expected.push_back((i % 8 < 4 ? mean : max)[image * 4 + channel]);
  }
  EXPECT_TRUE(all_close(y.values, expected, rel_tol(precision(), 1e-5f), 1e-6f));
}

}  // namespace
}  // namespace vkseg::test
