// DepthToSpace against a naive CPU rearrangement (ONNX's reshape-transpose-reshape definition,
// scattering each input element to its place) on random shapes and block sizes in DCR and CRD
// modes, 1x1 maps and a large map, at fp32 and fp16; ONNX's worked example of both modes; the
// node refused at load and run in a graph. A rearrangement copies, so every comparison is exact.
#include <fmt/format.h>

#include <numeric>

#include "harness.hpp"
#include "op_harness.hpp"
#include "ops/depth_to_space.hpp"

namespace vkseg::test {
namespace {

// DCR: x viewed as [N, b, b, C', H, W], transposed to [N, C', H, b, W, b]; CRD: [N, C', b, b, H,
// W] to the same.
std::vector<float> reference_depth_to_space(uint32_t b, bool crd, const ops::Shape& in,
                                            const std::vector<float>& x) {
  const uint32_t channels = in.c / (b * b);
  const ops::Shape out{in.n, channels, in.h * b, in.w * b};
  std::vector<float> y(out.count());
  size_t i = 0;
  for (uint32_t n = 0; n < in.n; ++n)
    for (uint32_t ci = 0; ci < in.c; ++ci)
      for (uint32_t h = 0; h < in.h; ++h)
        for (uint32_t w = 0; w < in.w; ++w, ++i) {
          const uint32_t c = crd ? ci / (b * b) : ci % channels;
          const uint32_t block = crd ? ci % (b * b) : ci / channels;  // i * b + j
          const uint32_t oy = h * b + block / b, ox = w * b + block % b;
          y[((size_t(n) * channels + c) * out.h + oy) * out.w + ox] = x[i];
        }
  return y;
}

std::vector<float> check_depth_to_space(Precision precision, uint32_t b, bool crd,
                                        const ops::Shape& in, std::vector<float> x = {}) {
  SCOPED_TRACE(fmt::format("{} blocksize {} {} input {}", precision_name(precision), b,
                           crd ? "CRD" : "DCR", in.str()));
  ops::DepthToSpace op(context(), b, crd, precision);
  const ops::Shape out = op.output_shape(in);
  EXPECT_EQ(out, (ops::Shape{in.n, in.c / (b * b), in.h * b, in.w * b}));
  if (x.empty()) x = random_floats(in.count());
  x = rounded(std::move(x), precision);
  std::vector<float> y = run_op(op, precision, in, x, out);
  EXPECT_TRUE(all_close(y, reference_depth_to_space(b, crd, in, x), 0.0f, 0.0f));
  return y;
}

class DepthToSpaceAtPrecision : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(DepthToSpaceAtPrecision);

TEST_P(DepthToSpaceAtPrecision, RandomShapesBothModes) {
  for (bool crd : {false, true}) {
    for (int trial = 0; trial < 25; ++trial) {
      const uint32_t b = random_int(1, 4);
      check_depth_to_space(precision(), b, crd,
                           {random_int(1, 3), b * b * random_int(1, 5), random_int(1, 11),
                            random_int(1, 11)});
    }
  }
}

TEST_P(DepthToSpaceAtPrecision, SinglePixelsAndLargeMaps) {
  for (bool crd : {false, true}) {
    check_depth_to_space(precision(), 3, crd, {2, 18, 1, 1});
    check_depth_to_space(precision(), 1, crd, {1, 5, 4, 3});  // blocksize 1 copies
    check_depth_to_space(precision(), 8, crd, {1, 64 * 3, 33, 33});  // 3 x 264 x 264
  }
}

// ONNX's DepthToSpace example: 8 channels of one pixel, blocksize 2.
TEST_P(DepthToSpaceAtPrecision, MatchesOnnxExample) {
  std::vector<float> x(8);
  std::iota(x.begin(), x.end(), 0.0f);
  EXPECT_EQ(check_depth_to_space(precision(), 2, false, {1, 8, 1, 1}, x),
            (std::vector<float>{0, 2, 4, 6, 1, 3, 5, 7}));
  EXPECT_EQ(check_depth_to_space(precision(), 2, true, {1, 8, 1, 1}, x),
            (std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(DepthToSpace, RejectsBadParameters) {
  EXPECT_THROW(ops::DepthToSpace(context(), 0, false), Error);
  ops::DepthToSpace op(context(), 2, true);
  EXPECT_THROW(op.output_shape({1, 6, 2, 2}), Error);  // 6 channels are not 2x2 blocks
}

graph::Node d2s_node(std::map<std::string, graph::AttrValue> attrs) {
  return graph::make_node("d2s", "depth_to_space", {"x"}, std::move(attrs));
}

TEST(DepthToSpaceNode, MalformedNodesAreRefusedAtLoad) {
  EXPECT_CONTAINS(refusal(d2s_node({{"blocksize", int64_t(2)}}), 3),
                  "graph node 'd2s' (depth_to_space): its input's 3 channels do not divide into "
                  "2x2 blocks");
  EXPECT_CONTAINS(refusal(d2s_node({{"blocksize", int64_t(0)}}), 4),
                  "attribute 'blocksize' value 0 is outside");
  EXPECT_CONTAINS(refusal(d2s_node({{"blocksize", int64_t(2)}, {"mode", std::string("RCD")}}), 4),
                  "attribute 'mode' is 'RCD'; supported: DCR, CRD");
  EXPECT_CONTAINS(refusal(d2s_node({}), 4), "needs the attribute 'blocksize'");
}

class DepthToSpaceGraph : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(DepthToSpaceGraph);

TEST_P(DepthToSpaceGraph, RunsInANetwork) {
  for (bool crd : {false, true}) {
    const Model model = graph_model(
        {d2s_node({{"blocksize", int64_t(2)}, {"mode", std::string(crd ? "CRD" : "DCR")}})}, 4);
    const ops::Shape in{3, 4, 5, 7};
    const std::vector<float> x = rounded(random_floats(in.count()), precision());
    const GraphOutput y = run_graph(model, precision(), in, x);
    EXPECT_EQ(y.shape, (ops::Shape{3, 1, 10, 14}));
    EXPECT_TRUE(all_close(y.values, reference_depth_to_space(2, crd, in, x), 0.0f, 0.0f));
  }
}

}  // namespace
}  // namespace vkseg::test
