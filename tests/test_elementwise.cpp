// Elementwise (add, sub, mul, div, prelu) against a CPU reference in double on random shapes
// with every broadcasting pattern (random per-dimension broadcasts, NxCxHxW with NxCx1x1,
// 1xCx1x1 and 1x1x1x1, 1xCx1xW with Nx1xHx1, either operand first), random fused activations,
// odd sizes and batches, at fp32 and fp16 (on fp16-rounded inputs).
// Tolerance: fp32 relative 1e-5 plus 1e-6 absolute: add, sub, mul are one fp32 rounding
// (6e-8 relative) and div within 2.5 ulps, so the bound is the fused activation's, as in
// test_activation.cpp (its exp-based sigmoid and tanh); fp16 one output rounding
// (k_fp16_rel_tol). IEEE specials must match exactly: x / 0 = +-inf, 0 / 0 = NaN, inf - inf =
// NaN, 0 * inf = NaN, and a NaN in either operand gives NaN for every op and activation.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "harness.hpp"
#include "ops/dispatch.hpp"
#include "ops/elementwise.hpp"

namespace vkseg::test {
namespace {

using ops::ElementwiseKind;
constexpr ElementwiseKind k_binary_kinds[] = {ElementwiseKind::Add, ElementwiseKind::Sub,
                                              ElementwiseKind::Mul, ElementwiseKind::Div};

double reference_op(ElementwiseKind kind, double a, double b) {
  switch (kind) {
    case ElementwiseKind::Add: return a + b;
    case ElementwiseKind::Sub: return a - b;
    case ElementwiseKind::Mul: return a * b;
    case ElementwiseKind::Div: return a / b;
    case ElementwiseKind::PRelu: return a >= 0 ? a : b * a;  // torch.nn.functional.prelu
  }
  return NAN;
}

// The index of output element (n, c, y, x) in a tensor of shape s that broadcasts to it.
size_t broadcast_index(const ops::Shape& s, uint32_t n, uint32_t c, uint32_t y, uint32_t x) {
  return ((size_t(s.n == 1 ? 0 : n) * s.c + (s.c == 1 ? 0 : c)) * s.h + (s.h == 1 ? 0 : y)) *
             s.w +
         (s.w == 1 ? 0 : x);
}

ops::Shape reference_broadcast(const ops::Shape& a, const ops::Shape& b) {
  return {std::max(a.n, b.n), std::max(a.c, b.c), std::max(a.h, b.h), std::max(a.w, b.w)};
}

std::vector<float> reference_elementwise(ElementwiseKind kind, const ops::Activation& act,
                                         const ops::Shape& sa, const std::vector<float>& a,
                                         const ops::Shape& sb, const std::vector<float>& b) {
  const ops::Shape o = reference_broadcast(sa, sb);
  std::vector<float> y;
  for (uint32_t n = 0; n < o.n; ++n)
    for (uint32_t c = 0; c < o.c; ++c)
      for (uint32_t h = 0; h < o.h; ++h)
        for (uint32_t w = 0; w < o.w; ++w) {
          const double v = reference_op(kind, a[broadcast_index(sa, n, c, h, w)],
                                        b[broadcast_index(sb, n, c, h, w)]);
          y.push_back(float(reference_activation(act, v)));
        }
  return y;
}

// Random values; for a divisor kept at least 0.25 from zero, so quotients stay within fp16.
std::vector<float> operand(size_t count, bool divisor, Precision precision) {
  std::vector<float> v = random_floats(count, -4.0f, 4.0f);
  if (divisor) {
    for (float& x : v) x += std::copysign(0.25f, x);
  }
  return rounded(std::move(v), precision);
}

void check_elementwise(Precision precision, ElementwiseKind kind, const ops::Activation& act,
                       const ops::Shape& sa, const ops::Shape& sb) {
  SCOPED_TRACE(fmt::format("{} {} {} with {}, activation {}", precision_name(precision),
                           ops::elementwise_name(kind), sa.str(), sb.str(),
                           ops::activation_name(act.kind)));
  const ops::DType type = ops::storage_type(precision);
  ops::Elementwise op(context(), kind, act, precision);
  const auto a = operand(sa.count(), false, precision);
  const auto b = operand(sb.count(), kind == ElementwiseKind::Div, precision);
  auto da = device_tensor(sa, a, type);
  auto db = device_tensor(sb, b, type);
  auto dy = device_tensor(reference_broadcast(sa, sb), type);
  run([&](vk::Recorder& r) { op.record(r, *da, *db, *dy); });
  EXPECT_TRUE(all_close(read_floats(dy), reference_elementwise(kind, act, sa, a, sb, b),
                        rel_tol(precision, 1e-5f), 1e-6f));
}

// `full` with each dimension independently kept or set to 1.
ops::Shape random_broadcast_of(const ops::Shape& full) {
  auto pick = [](uint32_t d) { return random_int(0, 1) ? d : 1u; };
  return {pick(full.n), pick(full.c), pick(full.h), pick(full.w)};
}

// Odd sizes: 1x1 maps, channel counts that are no multiple of 4, batches up to 3.
ops::Shape random_shape() {
  return {random_int(1, 3), random_int(1, 9), random_int(1, 17), random_int(1, 17)};
}

class ElementwiseAtPrecision : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(ElementwiseAtPrecision);

TEST_P(ElementwiseAtPrecision, RandomShapesAndBroadcasts) {
  for (ElementwiseKind kind : k_binary_kinds) {
    for (int trial = 0; trial < 12; ++trial) {
      const ops::Shape full = random_shape();
      check_elementwise(precision(), kind, random_activation(), random_broadcast_of(full),
                        random_broadcast_of(full));
    }
  }
}

TEST_P(ElementwiseAtPrecision, NetworkBroadcastPatterns) {
  for (ElementwiseKind kind : k_binary_kinds) {
    const ops::Shape x{2, 5, 7, 3};
    const ops::Shape patterns[][2] = {
        {x, x},                          // a residual sum
        {x, {2, 5, 1, 1}},               // per-sample, per-channel (squeeze-and-excitation)
        {x, {1, 5, 1, 1}},               // per-channel
        {x, {1, 1, 1, 1}},               // a scalar
        {{1, 5, 1, 3}, {2, 1, 7, 1}},    // both broadcast: an outer product
        {{3, 6, 1, 1}, {3, 6, 1, 1}},    // 1x1 maps
    };
    for (const auto& p : patterns) {
      const ops::Activation act = random_activation();
      check_elementwise(precision(), kind, act, p[0], p[1]);
      check_elementwise(precision(), kind, act, p[1], p[0]);
    }
  }
}

TEST_P(ElementwiseAtPrecision, FusedReluAsInResNet) {
  check_elementwise(precision(), ElementwiseKind::Add, k_relu, {2, 64, 9, 11}, {2, 64, 9, 11});
}

TEST_P(ElementwiseAtPrecision, PReluPerChannelAndShared) {
  for (int trial = 0; trial < 12; ++trial) {
    const ops::Shape x = random_shape();
    const ops::Shape slopes{1, random_int(0, 1) ? x.c : 1u, 1, 1};
    check_elementwise(precision(), ElementwiseKind::PRelu, {}, x, slopes);
  }
}

// More workgroups than one grid row holds: the flat launch folds into y.
TEST_P(ElementwiseAtPrecision, LargeTensorFoldsTheGrid) {
  const ops::Shape x{1, 4, 1030, 1030};
  ASSERT_GT(x.count(), uint64_t(context().info().max_workgroup_count[0]) * ops::k_flat_local_size)
      << "the test no longer exceeds one grid row on this device";
  check_elementwise(precision(), ElementwiseKind::Mul, {}, x, {1, 4, 1, 1});
}

TEST_P(ElementwiseAtPrecision, IeeeSpecialsAndNanPropagate) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  // Pairs (a[i], b[i]); every op's result is compared with IEEE arithmetic in double.
  const std::vector<float> a{1.0f, -1.0f, 0.0f, inf, inf, 0.0f, nan, 1.0f, nan, -2.0f, -0.0f, 3.0f};
  const std::vector<float> b{0.0f, 0.0f, 0.0f, inf, 0.0f, inf, 1.0f, nan, nan, -0.0f, 2.0f, -inf};
  const ops::Shape s{1, 1, 1, uint32_t(a.size())};
  const ops::DType type = ops::storage_type(precision());
  auto da = device_tensor(s, a, type);
  auto db = device_tensor(s, b, type);
  for (ElementwiseKind kind : {ElementwiseKind::Add, ElementwiseKind::Sub, ElementwiseKind::Mul,
                               ElementwiseKind::Div, ElementwiseKind::PRelu}) {
    for (const ops::Activation& act : {ops::Activation{}, k_relu}) {
      SCOPED_TRACE(fmt::format("{} activation {}", ops::elementwise_name(kind),
                               ops::activation_name(act.kind)));
      ops::Elementwise op(context(), kind, act, precision());
      auto dy = device_tensor(s, type);
      run([&](vk::Recorder& r) { op.record(r, *da, *db, *dy); });
      const auto y = read_floats(dy);
      const auto expected = reference_elementwise(kind, act, s, a, s, b);
      EXPECT_TRUE(all_close(y, expected, 0.0f, 0.0f));
      // A NaN a gives NaN from every op; a NaN b too, except as the slope of a positive x.
      EXPECT_TRUE(std::isnan(y[6]) && std::isnan(y[8])) << y[6] << ", " << y[8];
      EXPECT_EQ(std::isnan(y[7]), kind != ElementwiseKind::PRelu) << y[7];
    }
  }
}

TEST(Elementwise, BroadcastShape) {
  EXPECT_EQ(ops::broadcast_shape("add", {2, 3, 4, 5}, {1, 3, 1, 1}), (ops::Shape{2, 3, 4, 5}));
  EXPECT_EQ(ops::broadcast_shape("add", {1, 3, 1, 5}, {2, 1, 4, 1}), (ops::Shape{2, 3, 4, 5}));
  try {
    ops::broadcast_shape("div", {2, 3, 4, 5}, {2, 2, 4, 5});
    ADD_FAILURE() << "3 and 2 channels broadcast";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "div: 2x3x4x5 and 2x2x4x5 do not broadcast (each dimension must be "
                           "equal or 1 in one of them)");
  }
}

TEST(Elementwise, RejectsShapeOrTypeMismatch) {
  ops::Elementwise add(context(), ElementwiseKind::Add);
  auto a = device_tensor({2, 3, 4, 5});
  auto b = device_tensor({1, 3, 1, 1});
  auto other = device_tensor({2, 3, 4, 6});
  auto halves = device_tensor({2, 3, 4, 5}, ops::DType::F16);
  auto small = device_tensor({1, 3, 1, 1});
  run([&](vk::Recorder& r) {
    EXPECT_THROW(add.record(r, *a, *other, *a), Error);   // the inputs do not broadcast
    EXPECT_THROW(add.record(r, *a, *b, *small), Error);   // the output has the smaller shape
    EXPECT_THROW(add.record(r, *a, *b, *halves), Error);  // an fp16 output of an fp32 op
    EXPECT_THROW(add.record(r, *halves, *b, *a), Error);
  });
}

}  // namespace
}  // namespace vkseg::test
