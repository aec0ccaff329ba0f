// Pad against a naive CPU padding (F.pad's definition of each mode) on random shapes and
// asymmetric pads, every mode, 1x1 maps and a large map, at fp32 and fp16 (on fp16-rounded
// inputs); reflect padding no smaller than its axis refused when a session is created; the node
// refused at load and run in a graph. Padding copies, so the output is exact; the constant fill
// at fp16 is the value's one rounding (tolerance relative 2e-3, see harness.hpp).
#include <fmt/format.h>

#include <cmath>

#include <algorithm>

#include "harness.hpp"
#include "op_harness.hpp"
#include "ops/pad.hpp"

namespace vkseg::test {
namespace {

const char* mode_name(ops::PadMode mode) {
  return mode == ops::PadMode::Constant ? "constant" : mode == ops::PadMode::Reflect ? "reflect"
                                                                                      : "edge";
}

// The input index output index i (before padding) reads, or -1 for the constant fill: reflect
// mirrors without repeating the border element (F.pad 'reflect'), edge repeats it ('replicate').
int64_t reference_source(int64_t i, int64_t size, ops::PadMode mode) {
  if (i >= 0 && i < size) return i;
  switch (mode) {
    case ops::PadMode::Constant: return -1;
    case ops::PadMode::Reflect: return i < 0 ? -i : 2 * (size - 1) - i;
    case ops::PadMode::Edge: return std::clamp<int64_t>(i, 0, size - 1);
  }
  return -1;
}

std::vector<float> reference_pad(const ops::PadParams& p, const ops::Shape& in,
                                 const std::vector<float>& x, const ops::Shape& out) {
  std::vector<float> y;
  for (uint32_t plane = 0; plane < out.n * out.c; ++plane)
    for (int64_t oy = 0; oy < out.h; ++oy)
      for (int64_t ox = 0; ox < out.w; ++ox) {
        const int64_t sy = reference_source(oy - p.top, in.h, p.mode);
        const int64_t sx = reference_source(ox - p.left, in.w, p.mode);
        y.push_back(sy < 0 || sx < 0 ? p.value : x[(size_t(plane) * in.h + sy) * in.w + sx]);
      }
  return y;
}

void check_pad(Precision precision, ops::PadParams p, const ops::Shape& in) {
  SCOPED_TRACE(fmt::format("{} {} pads {},{},{},{} value {} input {}", precision_name(precision),
                           mode_name(p.mode), p.top, p.left, p.bottom, p.right, p.value,
                           in.str()));
  p.precision = precision;
  ops::Pad pad(context(), p);
  const ops::Shape out = pad.output_shape(in);
  EXPECT_EQ(out, (ops::Shape{in.n, in.c, in.h + p.top + p.bottom, in.w + p.left + p.right}));
  const std::vector<float> x = rounded(random_floats(in.count()), precision);
  EXPECT_TRUE(all_close(run_op(pad, precision, in, x, out), reference_pad(p, in, x, out), rel_tol(precision, 0.0f),
                        0.0f));
}

class PadAtPrecision : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(PadAtPrecision);

TEST_P(PadAtPrecision, RandomShapesEveryMode) {
  for (ops::PadMode mode : {ops::PadMode::Constant, ops::PadMode::Reflect, ops::PadMode::Edge}) {
    for (int trial = 0; trial < 20; ++trial) {
      const ops::Shape in{random_int(1, 3), random_int(1, 5), random_int(1, 13), random_int(1, 13)};
      // Reflect pads stay below their axis; the others may exceed it.
      const uint32_t max_h = mode == ops::PadMode::Reflect ? in.h - 1 : 2 * in.h + 1;
      const uint32_t max_w = mode == ops::PadMode::Reflect ? in.w - 1 : 2 * in.w + 1;
      const ops::PadParams p{random_int(0, max_h), random_int(0, max_w), random_int(0, max_h),
                             random_int(0, max_w), mode, random_floats(1, -3.0f, 3.0f)[0]};
      check_pad(precision(), p, in);
    }
  }
}

TEST_P(PadAtPrecision, SinglePixelsNoPaddingAndLargeMaps) {
  for (ops::PadMode mode : {ops::PadMode::Constant, ops::PadMode::Edge}) {
    check_pad(precision(), {3, 1, 0, 2, mode, 0.5f}, {2, 3, 1, 1});
  }
  for (ops::PadMode mode : {ops::PadMode::Constant, ops::PadMode::Reflect, ops::PadMode::Edge}) {
    check_pad(precision(), {0, 0, 0, 0, mode}, {2, 2, 5, 3});
    check_pad(precision(), {0, 1, 0, 1, mode}, {1, 2, 1, 4});  // reflect along the width only
    check_pad(precision(), {1, 2, 3, 4, mode, -1.25f}, {1, 3, 260, 260});
  }
}

TEST(Pad, ReflectRefusesPadsNotSmallerThanTheAxis) {
  ops::Pad pad(context(), {2, 0, 1, 0, ops::PadMode::Reflect});
  EXPECT_NO_THROW(pad.output_shape({1, 1, 3, 1}));
  EXPECT_THROW(pad.output_shape({1, 1, 2, 5}), Error);
  ops::Pad edge(context(), {2, 0, 5, 0, ops::PadMode::Edge});
  EXPECT_NO_THROW(edge.output_shape({1, 1, 1, 1}));
}

graph::Node pad_node(std::map<std::string, graph::AttrValue> attrs) {
  return graph::make_node("pad", "pad", {"x"}, std::move(attrs));
}

TEST(PadNode, MalformedNodesAreRefusedAtLoad) {
  EXPECT_CONTAINS(refusal(pad_node({{"pads", graph::Ints{1, -1, 1, 1}}})),
                  "graph node 'pad' (pad): attribute 'pads' value -1 is outside");
  EXPECT_CONTAINS(refusal(pad_node({{"pads", graph::Ints{1, 1}}})),
                  "attribute 'pads' must hold 4 values, not 2");
  EXPECT_CONTAINS(refusal(pad_node({{"pads", graph::Ints{1, 1, 1, 1}},
                                    {"mode", std::string("wrap")}})),
                  "attribute 'mode' is 'wrap'; supported: constant, reflect, edge");
  EXPECT_CONTAINS(refusal(graph::make_node("pad", "pad", {"x", "x"},
                                           {{"pads", graph::Ints{1, 0, 0, 0}}})),
                  "'pads' must be all zero then");
}

TEST(PadNode, SessionRefusesReflectPaddingAsLargeAsTheInput) {
  const Model model = graph_model(
      {pad_node({{"pads", graph::Ints{0, 4, 0, 1}}, {"mode", std::string("reflect")}})}, 2);
  Network network(context(), model);
  EXPECT_NO_THROW(Session(network, 1, 1, 5));
  try {
    Session(network, 1, 9, 4);
    ADD_FAILURE() << "reflect padding of 4 was planned for a width of 4";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_CONTAINS(message, "layer 'pad' at input 9x4: pad: reflect padding 0x4x0x1 (top, left, "
                             "bottom, right) must be smaller than the 9x4 input it mirrors");
  }
}

class PadGraph : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(PadGraph);

// Reflect then constant, as a network pads before a convolution.
TEST_P(PadGraph, RunsInANetwork) {
  const Model model =
      graph_model({pad_node({{"pads", graph::Ints{2, 1, 1, 3}}, {"mode", std::string("reflect")}}),
                   graph::make_node("fill", "pad", {"pad"},
                                    {{"pads", graph::Ints{1, 1, 1, 1}}, {"value", 0.75}})},
                  3);
  const ops::Shape in{2, 3, 6, 5};
  const std::vector<float> x = rounded(random_floats(in.count()), precision());
  const GraphOutput y = run_graph(model, precision(), in, x);
  const ops::PadParams reflect{2, 1, 1, 3, ops::PadMode::Reflect};
  const ops::PadParams fill{1, 1, 1, 1, ops::PadMode::Constant, 0.75f};
  const ops::Shape mid{2, 3, 9, 9}, out{2, 3, 11, 11};
  EXPECT_EQ(y.shape, out);
  EXPECT_TRUE(all_close(y.values, reference_pad(fill, mid, reference_pad(reflect, in, x, mid), out),
                        0.0f, 0.0f));
}

// U-Net's F.pad of its upsampled map to its skip's size: a 2x2 max pool of an odd-sized map,
// padded back to the map's size, half the difference before (rounded down) and the rest after.
TEST_P(PadGraph, CentredToASecondInputsSize) {
  const Model model = graph_model(
      {graph::make_node("small", "max_pool2d", {"x"},
                        {{"kernel", graph::Ints{2, 2}}, {"stride", graph::Ints{2, 2}}}),
       graph::make_node("pad", "pad", {"small", "x"}, {{"value", -2.0}})},
      2);
  for (const ops::Shape in : {ops::Shape{2, 2, 7, 9}, ops::Shape{1, 2, 4, 5}}) {
    const std::vector<float> x = rounded(random_floats(in.count()), precision());
    const GraphOutput y = run_graph(model, precision(), in, x);
    const ops::Shape pooled{in.n, in.c, in.h / 2, in.w / 2};
    std::vector<float> small(pooled.count());
    for (size_t i = 0; i < small.size(); ++i) {
      const size_t ox = i % pooled.w, oy = i / pooled.w % pooled.h, plane = i / (pooled.h * pooled.w);
      float m = -INFINITY;
      for (size_t dy = 0; dy < 2; ++dy) {
        for (size_t dx = 0; dx < 2; ++dx) {
          m = std::max(m, x[(plane * in.h + 2 * oy + dy) * in.w + 2 * ox + dx]);
        }
      }
      small[i] = m;
    }
    const uint32_t dy = in.h - pooled.h, dx = in.w - pooled.w;
    const ops::PadParams centred{dy / 2, dx / 2, dy - dy / 2, dx - dx / 2, ops::PadMode::Constant,
                                 -2.0f};
    EXPECT_EQ(y.shape, in);
    EXPECT_TRUE(all_close(y.values, reference_pad(centred, pooled, small, in), 0.0f, 0.0f));
  }
}

}  // namespace
}  // namespace vkseg::test
