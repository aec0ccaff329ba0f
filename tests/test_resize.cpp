// Resize against a naive CPU resize on random shapes for every mode, coordinate transformation
// and nearest rounding, with a size and with scales, up and down, 1x1 maps and batches, at fp32
// and fp16 (on fp16-rounded inputs); against PyTorch's F.interpolate itself (fixtures from
// tests/fixtures/make_resize_fixtures.py, run through a network); the node refused at load and
// run in graphs with each kind of target.
// The reference follows PyTorch's CPU kernels: the scale in fp32 (area_pixel_compute_scale),
// nearest coordinates as fp32 products (nearest_idx), so that nearest picks the very same
// elements, and linear coordinates and interpolation in double. Tolerances: nearest copies,
// exact at both precisions; linear fp32 relative 1e-5 plus 1e-6 absolute (the weights' and the
// fp32 interpolation's rounding, for outputs interpolating to near zero), also against PyTorch;
// fp16 relative 2e-3 (the output's rounding, see harness.hpp).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "harness.hpp"
#include "op_harness.hpp"
#include "ops/resize.hpp"
#include "vkseg/npy.hpp"

namespace vkseg::test {
namespace {

using ops::CoordinateTransform;
using ops::NearestRounding;
using ops::ResizeMode;

constexpr CoordinateTransform k_transforms[] = {
    CoordinateTransform::HalfPixel, CoordinateTransform::PytorchHalfPixel,
    CoordinateTransform::AlignCorners, CoordinateTransform::Asymmetric};
constexpr NearestRounding k_roundings[] = {NearestRounding::RoundPreferFloor,
                                           NearestRounding::RoundPreferCeil,
                                           NearestRounding::Floor, NearestRounding::Ceil};

// Input units per output unit along an axis, in fp32 as PyTorch computes them.
float source_scale(const ops::ResizeParams& p, uint32_t in, uint32_t out, size_t axis) {
  if (p.transform == CoordinateTransform::AlignCorners) {
    return out > 1 ? float(in - 1) / float(out - 1) : 0.0f;
  }
  return p.scale ? float(1.0 / p.scale->at(axis)) : float(in) / float(out);
}

// Input coordinate of output index `dst` along an axis: in fp32 for nearest mode, in double
// for linear mode.
double source_coordinate(const ops::ResizeParams& p, uint32_t dst, uint32_t in, uint32_t out,
                         size_t axis) {
  const float scale = source_scale(p, in, out, axis);
  if (p.transform == CoordinateTransform::PytorchHalfPixel && out == 1) return 0.0;
  const bool centres = p.transform == CoordinateTransform::HalfPixel ||
                       p.transform == CoordinateTransform::PytorchHalfPixel;
  if (p.mode == ResizeMode::Linear) return centres ? scale * (dst + 0.5) - 0.5 : double(scale) * dst;
  return centres ? scale * (float(dst) + 0.5f) - 0.5f : scale * float(dst);
}

// ONNX's nearest_mode on the exact coordinate, clamped to the input.
uint32_t nearest_index(NearestRounding rounding, double src, uint32_t in) {
  const double below = std::floor(src), fraction = src - below;
  double index = below;
  switch (rounding) {
    case NearestRounding::RoundPreferFloor: index += fraction > 0.5; break;
    case NearestRounding::RoundPreferCeil: index += fraction >= 0.5; break;
    case NearestRounding::Floor: break;
    case NearestRounding::Ceil: index += fraction > 0; break;
  }
  return uint32_t(std::clamp(index, 0.0, double(in - 1)));
}

// Linear taps: both neighbours of the coordinate (clamped to zero, then to the input) and the
// upper one's weight.
struct Taps {
  uint32_t i0, i1;
  double lambda;
};
Taps linear_taps(double src, uint32_t in) {
  src = std::max(src, 0.0);
  const uint32_t i0 = std::min(uint32_t(src), in - 1);
  return {i0, std::min(i0 + 1, in - 1), src - i0};
}

std::vector<float> reference_resize(const ops::ResizeParams& p, const ops::Shape& in,
                                    const std::vector<float>& x, const ops::Shape& out) {
  std::vector<float> y;
  for (uint32_t plane = 0; plane < out.n * out.c; ++plane)
    for (uint32_t oy = 0; oy < out.h; ++oy)
      for (uint32_t ox = 0; ox < out.w; ++ox) {
        const double sy = source_coordinate(p, oy, in.h, out.h, 0);
        const double sx = source_coordinate(p, ox, in.w, out.w, 1);
        const auto at = [&](uint32_t r, uint32_t c) {
          return double(x[(size_t(plane) * in.h + r) * in.w + c]);
        };
        if (p.mode == ResizeMode::Nearest) {
          y.push_back(float(at(nearest_index(p.rounding, sy, in.h),
                               nearest_index(p.rounding, sx, in.w))));
          continue;
        }
        const Taps ty = linear_taps(sy, in.h), tx = linear_taps(sx, in.w);
        const double top = (1 - tx.lambda) * at(ty.i0, tx.i0) + tx.lambda * at(ty.i0, tx.i1);
        const double bottom = (1 - tx.lambda) * at(ty.i1, tx.i0) + tx.lambda * at(ty.i1, tx.i1);
        y.push_back(float((1 - ty.lambda) * top + ty.lambda * bottom));
      }
  return y;
}

// The output floor(in * scale), or an empty shape where a scale leaves no rows or columns.
ops::Shape scaled(const ops::Shape& in, const std::array<double, 2>& scale) {
  return {in.n, in.c, uint32_t(std::floor(in.h * scale[0])), uint32_t(std::floor(in.w * scale[1]))};
}

std::string describe(const ops::ResizeParams& p) {
  return fmt::format("mode {} transform {} rounding {} scale {}", uint32_t(p.mode),
                     uint32_t(p.transform), uint32_t(p.rounding),
                     p.scale ? fmt::format("{}x{}", p.scale->at(0), p.scale->at(1)) : "none");
}

// Tolerances (relative, absolute) of the op's output against the reference.
std::pair<float, float> tolerance(const ops::ResizeParams& p, Precision precision) {
  if (p.mode == ResizeMode::Nearest) return {0.0f, 0.0f};
  return {rel_tol(precision, 1e-5f), 1e-6f};
}

// Resizes random values of shape `in` to `out` (with scales: their output, which must be `out`).
void check_resize(Precision precision, ops::ResizeParams p, const ops::Shape& in,
                  const ops::Shape& out) {
  SCOPED_TRACE(fmt::format("{} {} input {} output {}", precision_name(precision), describe(p),
                           in.str(), out.str()));
  p.precision = precision;
  ops::Resize op(context(), p);
  if (p.scale) {
    EXPECT_EQ(op.scaled_shape(in), out);
  }
  const auto x = rounded(random_floats(in.count()), precision);
  const auto [rel, abs] = tolerance(p, precision);
  EXPECT_TRUE(all_close(run_op(op, precision, in, x, out), reference_resize(p, in, x, out), rel, abs));
}

// Every combination of mode, transformation and (in nearest mode) rounding.
std::vector<ops::ResizeParams> every_combination() {
  std::vector<ops::ResizeParams> all;
  for (CoordinateTransform t : k_transforms) {
    all.push_back({ResizeMode::Linear, t});
    for (NearestRounding r : k_roundings) all.push_back({ResizeMode::Nearest, t, r});
  }
  return all;
}

class ResizeAtPrecision : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(ResizeAtPrecision);

TEST_P(ResizeAtPrecision, RandomShapesToASize) {
  for (const ops::ResizeParams& p : every_combination()) {
    for (int trial = 0; trial < 6; ++trial) {
      const uint32_t n = random_int(1, 3), c = random_int(1, 4);
      check_resize(precision(), p, {n, c, random_int(1, 12), random_int(1, 12)},
                   {n, c, random_int(1, 25), random_int(1, 25)});
    }
  }
}

TEST_P(ResizeAtPrecision, RandomShapesByScales) {
  for (ops::ResizeParams p : every_combination()) {
    for (int trial = 0; trial < 6; ++trial) {
      const ops::Shape in{random_int(1, 2), random_int(1, 4), random_int(1, 15), random_int(1, 15)};
      // Round and fractional scales, below and above one.
      const auto random_scale = [] {
        return random_int(0, 1) ? double(random_int(1, 4)) : random_int(20, 350) / 100.0;
      };
      p.scale = std::array<double, 2>{random_scale(), random_scale()};
      const ops::Shape out = scaled(in, *p.scale);
      if (out.h == 0 || out.w == 0) {
        --trial;
        continue;
      }
      check_resize(precision(), p, in, out);
    }
  }
}

// ResizeBilinear's cases, now at every combination.
TEST_P(ResizeAtPrecision, UpsampleAndDownsample) {
  for (const ops::ResizeParams& p : every_combination()) {
    check_resize(precision(), p, {1, 21, 7, 9}, {1, 21, 56, 72});  // x8, like FCN-8s's last step
    check_resize(precision(), p, {2, 3, 5, 5}, {2, 3, 17, 11});    // non-integer factors
    check_resize(precision(), p, {1, 5, 31, 23}, {1, 5, 8, 6});    // downsampling
    check_resize(precision(), p, {1, 5, 12, 12}, {1, 5, 6, 4});    // by 2 and 3: nearest ties
    check_resize(precision(), p, {1, 2, 6, 7}, {1, 2, 6, 7});      // identity size
  }
}

TEST_P(ResizeAtPrecision, SinglePixelInputOrOutput) {
  for (const ops::ResizeParams& p : every_combination()) {
    check_resize(precision(), p, {1, 3, 9, 6}, {1, 3, 1, 1});  // out == 1
    check_resize(precision(), p, {1, 3, 9, 6}, {1, 3, 1, 4});
    check_resize(precision(), p, {2, 3, 1, 1}, {2, 3, 5, 7});  // broadcast one pixel
  }
}

TEST_P(ResizeAtPrecision, LargeOutput) {
  check_resize(precision(), {ResizeMode::Linear}, {1, 3, 65, 65}, {1, 3, 513, 513});
  check_resize(precision(), {ResizeMode::Nearest, CoordinateTransform::Asymmetric,
                             NearestRounding::Floor, std::array<double, 2>{8.0, 8.0}},
               {1, 2, 65, 65}, {1, 2, 520, 520});
}

// half_pixel and pytorch_half_pixel differ only for an output of one: the centre or the first.
TEST(Resize, PytorchHalfPixelTakesTheFirstPixelForAnOutputOfOne) {
  const ops::Shape in{1, 1, 2, 4};
  const std::vector<float> x{1, 2, 3, 4, 5, 6, 7, 8};
  for (CoordinateTransform t : {CoordinateTransform::HalfPixel,
                                CoordinateTransform::PytorchHalfPixel}) {
    const ops::Resize op(context(), {ResizeMode::Linear, t});
    EXPECT_EQ(run_op(op, Precision::Fp32, in, x, {1, 1, 1, 1}),
              std::vector<float>{t == CoordinateTransform::HalfPixel ? 4.5f : 1.0f});
  }
}

TEST(Resize, RejectsMismatchedShapesAndScales) {
  ops::Resize op(context(), {});
  auto dx = device_tensor({2, 3, 4, 4});
  auto wrong_channels = device_tensor({2, 4, 8, 8});
  auto wrong_batch = device_tensor({1, 3, 8, 8});
  ops::Resize scaled_op(context(), {.scale = std::array<double, 2>{2.0, 2.0}});
  auto not_scaled = device_tensor({2, 3, 8, 7});
  run([&](vk::Recorder& r) {
    EXPECT_THROW(op.record(r, *dx, *wrong_channels), Error);
    EXPECT_THROW(op.record(r, *dx, *wrong_batch), Error);
    EXPECT_THROW(scaled_op.record(r, *dx, *not_scaled), Error);
  });
  EXPECT_THROW(ops::Resize(context(), {.scale = std::array<double, 2>{1.0, 0.0}}), Error);
  ops::Resize shrink(context(), {.scale = std::array<double, 2>{0.2, 1.0}});
  EXPECT_THROW(shrink.scaled_shape({1, 1, 4, 4}), Error);  // no rows left
  EXPECT_EQ(shrink.scaled_shape({1, 1, 5, 4}), (ops::Shape{1, 1, 1, 4}));
}

std::filesystem::path resize_fixture_dir() {
  const char* root = std::getenv("VKSEG_FIXTURES");
  const std::filesystem::path dir = std::filesystem::path(root ? root : "") / "resize";
  if (!root || !std::filesystem::exists(dir / "cases.json")) {
    ADD_FAILURE() << "resize fixtures missing: run the make_resize_fixtures test first "
                  << "(VKSEG_FIXTURES=" << (root ? root : "unset") << ")";
  }
  return dir;
}

// A resize node with the attributes a fixture case gives, as JSON.
graph::Node fixture_node(const nlohmann::json& attrs) {
  graph::Node node = graph::make_node("resize", "resize", {"x"});
  for (const auto& [key, value] : attrs.items()) {
    if (value.is_string()) {
      node.attrs[key] = value.get<std::string>();
    } else if (key == "size") {
      node.attrs[key] = value.get<graph::Ints>();
    } else {
      node.attrs[key] = value.get<graph::Floats>();
    }
  }
  return node;
}

class ResizeMatchesPyTorch : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(ResizeMatchesPyTorch);

TEST_P(ResizeMatchesPyTorch, Interpolate) {
  const std::filesystem::path dir = resize_fixture_dir();
  const nlohmann::json cases = nlohmann::json::parse(std::ifstream(dir / "cases.json"));
  ASSERT_GE(cases["cases"].size(), 18u);
  for (const nlohmann::json& c : cases["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const NpyArray x = read_npy((dir / c["input"].get<std::string>()).string());
    const NpyArray expected = read_npy((dir / c["output"].get<std::string>()).string());
    const auto& s = x.shape;
    const ops::Shape in{uint32_t(s[0]), uint32_t(s[1]), uint32_t(s[2]), uint32_t(s[3])};
    const GraphOutput y =
        run_graph(graph_model({fixture_node(c["attrs"])}, in.c), precision(), in, x.values);
    const auto& e = expected.shape;
    EXPECT_EQ(y.shape, (ops::Shape{uint32_t(e[0]), uint32_t(e[1]), uint32_t(e[2]), uint32_t(e[3])}));
    const bool nearest = c["attrs"]["mode"] == "nearest";
    EXPECT_TRUE(all_close(y.values, expected.values, nearest ? 0.0f : rel_tol(precision(), 1e-5f),
                          nearest ? 0.0f : 1e-6f));
  }
}

graph::Node resize_node(std::map<std::string, graph::AttrValue> attrs,
                        std::vector<std::string> inputs = {"x"}) {
  return graph::make_node("resize", "resize", std::move(inputs), std::move(attrs));
}

TEST(ResizeNode, MalformedNodesAreRefusedAtLoad) {
  EXPECT_CONTAINS(refusal(resize_node({})),
                  "graph node 'resize' (resize): needs exactly one target: 'size', 'scale' or a "
                  "second input (it has 0 'size' values, 0 'scale' values and 1 input(s))");
  EXPECT_CONTAINS(refusal(resize_node({{"size", graph::Ints{4, 4}}}, {"x", "x"})),
                  "needs exactly one target");
  EXPECT_CONTAINS(refusal(resize_node({{"size", graph::Ints{4, 4}},
                                       {"scale", graph::Floats{2, 2}}})),
                  "needs exactly one target");
  EXPECT_CONTAINS(refusal(resize_node({{"size", graph::Ints{4, 4, 4}}})),
                  "'size' must hold 2 values (height, width), not 3");
  EXPECT_CONTAINS(refusal(resize_node({{"size", graph::Ints{0, 4}}})),
                  "attribute 'size' value 0 is outside");
  EXPECT_CONTAINS(refusal(resize_node({{"scale", graph::Floats{2, -1}}})),
                  "'scale' must hold 2 positive values (height, width)");
  EXPECT_CONTAINS(refusal(resize_node({{"size", graph::Ints{4, 4}},
                                       {"mode", std::string("cubic")}})),
                  "attribute 'mode' is 'cubic'; supported: nearest, linear");
  EXPECT_CONTAINS(refusal(resize_node({{"size", graph::Ints{4, 4}},
                                       {"coordinate_transformation",
                                        std::string("tf_crop_and_resize")}})),
                  "supported: half_pixel, pytorch_half_pixel, align_corners, asymmetric");
  EXPECT_CONTAINS(refusal(resize_node({{"size", graph::Ints{4, 4}},
                                       {"nearest_mode", std::string("round")}})),
                  "supported: round_prefer_floor, round_prefer_ceil, floor, ceil");
}

TEST(ResizeNode, SessionRefusesScalesThatLeaveNoPixels) {
  const Model model = graph_model({resize_node({{"scale", graph::Floats{0.25, 1.0}}})}, 1);
  Network network(context(), model);
  EXPECT_NO_THROW(Session(network, 1, 4, 3));
  try {
    Session(network, 1, 3, 3);
    ADD_FAILURE() << "a scale of 0.25 was planned for 3 rows";
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), "layer 'resize' at input 3x3: resize: scales 0.25x1 make 0 rows "
                              "and 3 columns of the 3x3 input; 1 to 2^20 are supported");
  }
}

class ResizeGraph : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(ResizeGraph);

// FCN's pattern: pool, then bilinear back to the size of the graph's input (a second input).
TEST_P(ResizeGraph, ToTheSizeOfASecondInput) {
  const Model model = graph_model(
      {graph::make_node("pool", "avg_pool2d", {"x"},
                        {{"kernel", graph::Ints{2, 2}}, {"stride", graph::Ints{2, 2}}}),
       resize_node({{"mode", std::string("linear")},
                    {"coordinate_transformation", std::string("align_corners")}},
                   {"pool", "x"})},
      3);
  const ops::Shape in{2, 3, 9, 10}, pooled{2, 3, 4, 5};
  // Multiples of 1/64, whose averages of four are exact at fp16 too: the resize reads exactly
  // the pooled values of the reference.
  std::vector<float> x = random_floats(in.count());
  for (float& v : x) v = std::round(v * 64) / 64;
  const GraphOutput y = run_graph(model, precision(), in, x);
  EXPECT_EQ(y.shape, in);
  // The pooled map, on the host.
  std::vector<float> pool(pooled.count());
  for (uint32_t plane = 0; plane < 6; ++plane)
    for (uint32_t r = 0; r < 4; ++r)
      for (uint32_t c = 0; c < 5; ++c) {
        const auto at = [&](uint32_t dy, uint32_t dx) {
          return double(x[(size_t(plane) * 9 + 2 * r + dy) * 10 + 2 * c + dx]);
        };
        pool[(plane * 4 + r) * 5 + c] = float((at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4);
      }
  const ops::ResizeParams p{ResizeMode::Linear, CoordinateTransform::AlignCorners};
  EXPECT_TRUE(all_close(y.values, reference_resize(p, pooled, pool, in),
                        rel_tol(precision(), 1e-5f), 1e-6f));
}

// Empty 'size' and 'scale' (not given) survive a model file.
TEST_P(ResizeGraph, SurvivesAModelFile) {
  const Model model = graph_model({resize_node({}, {"x", "x"})}, 3);
  const std::string path = (temp_dir() / "resize.vkseg").string();
  detail::save_model(detail::ModelAccess::data(model), path);
  const ops::Shape in{1, 3, 4, 6};
  const std::vector<float> x = rounded(random_floats(in.count()), precision());
  const GraphOutput y = run_graph(Model::load(path), precision(), in, x);
  EXPECT_EQ(y.shape, in);
  EXPECT_EQ(y.values, x);  // nearest to its own size: a copy
}

TEST_P(ResizeGraph, ToASizeAndByScales) {
  const ops::Shape in{1, 2, 5, 6};
  const std::vector<float> x = rounded(random_floats(in.count()), precision());
  const ops::ResizeParams nearest{ResizeMode::Nearest, CoordinateTransform::HalfPixel,
                                  NearestRounding::RoundPreferCeil};
  const GraphOutput sized = run_graph(
      graph_model({resize_node({{"size", graph::Ints{11, 3}},
                                {"nearest_mode", std::string("round_prefer_ceil")}})},
                  2),
      precision(), in, x);
  const ops::Shape sized_shape{1, 2, 11, 3};
  EXPECT_EQ(sized.shape, sized_shape);
  EXPECT_TRUE(all_close(sized.values, reference_resize(nearest, in, x, sized_shape), 0.0f, 0.0f));

  ops::ResizeParams linear{ResizeMode::Linear, CoordinateTransform::Asymmetric};
  linear.scale = std::array<double, 2>{1.5, 0.5};
  const GraphOutput by_scale = run_graph(
      graph_model({resize_node({{"scale", graph::Floats{1.5, 0.5}},
                                {"mode", std::string("linear")},
                                {"coordinate_transformation", std::string("asymmetric")}})},
                  2),
      precision(), in, x);
  const ops::Shape scaled_shape{1, 2, 7, 3};
  EXPECT_EQ(by_scale.shape, scaled_shape);
  EXPECT_TRUE(all_close(by_scale.values, reference_resize(linear, in, x, scaled_shape),
                        rel_tol(precision(), 1e-5f), 1e-6f));
}

}  // namespace
}  // namespace vkseg::test
