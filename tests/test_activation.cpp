// Every activation, stand-alone (out of place and in place) and at fp32 and fp16, against
// PyTorch's definitions in double (reference_activation). Tolerance: fp32 relative 1e-5 plus
// 1e-6 absolute (exp and tanh are within a few ulps; the absolute part covers tanh and
// sigmoid near 0, where the shader's exp-based forms lose relative accuracy); fp16 one
// output rounding (k_fp16_rel_tol). NaN in gives NaN out for every kind, infinities map as in
// PyTorch.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "harness.hpp"

namespace vkseg::test {
namespace {

std::vector<float> reference(const ops::Activation& a, std::vector<float> x) {
  for (float& v : x) v = float(reference_activation(a, v));
  return x;
}

// Every kind, with the parameters networks use.
std::vector<ops::Activation> every_activation() {
  using K = ops::ActivationKind;
  return {{K::Relu},          {K::LeakyRelu, 0.01f},          {K::LeakyRelu, 0.2f},
          {K::Clip, 0, 6},    {K::Clip, -1.5f, 0.25f},        {K::Sigmoid},
          {K::HardSigmoid, 1.0f / 6, 0.5f}, {K::HardSigmoid, 0.2f, 0.5f}, {K::HardSwish},
          {K::Tanh}};
}

class ActivationAtPrecision : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(ActivationAtPrecision);

TEST_P(ActivationAtPrecision, MatchesPyTorchOnRandomShapes) {
  for (const ops::Activation& a : every_activation()) {
    ops::ActivationOp op(context(), a, precision());
    for (int trial = 0; trial < 3; ++trial) {
      const ops::Shape s{random_int(1, 3), random_int(1, 9), random_int(1, 17), random_int(1, 17)};
      SCOPED_TRACE(fmt::format("{} alpha {} beta {}, shape {}", ops::activation_name(a.kind),
                               a.alpha, a.beta, s.str()));
      const auto x = rounded(random_floats(s.count(), -8.0f, 8.0f), precision());
      auto dx = device_tensor(s, x, type());
      auto dy = device_tensor(s, type());
      run([&](vk::Recorder& r) { op.record(r, *dx, *dy); });
      EXPECT_TRUE(all_close(read_floats(dy), reference(a, x), rel_tol(precision(), 1e-5f), 1e-6f));
      EXPECT_EQ(read_floats(dx), x);  // the input is untouched
    }
  }
}

TEST_P(ActivationAtPrecision, InPlace) {
  for (const ops::Activation& a : every_activation()) {
    ops::ActivationOp op(context(), a, precision());
    const ops::Shape s{2, 3, 5, 7};
    SCOPED_TRACE(ops::activation_name(a.kind));
    const auto x = rounded(random_floats(s.count(), -8.0f, 8.0f), precision());
    auto dx = device_tensor(s, x, type());
    run([&](vk::Recorder& r) { op.record(r, *dx, *dx); });
    EXPECT_TRUE(all_close(read_floats(dx), reference(a, x), rel_tol(precision(), 1e-5f), 1e-6f));
  }
}

TEST_P(ActivationAtPrecision, NanPropagatesAndInfinitiesMapAsInPyTorch) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x{std::nanf(""), inf, -inf, 0.0f, -0.0f, 1e30f, -1e30f, 3.0f};
  for (const ops::Activation& a : every_activation()) {
    SCOPED_TRACE(ops::activation_name(a.kind));
    ops::ActivationOp op(context(), a, precision());
    const auto input = rounded(x, precision());
    auto dx = device_tensor({1, 1, 1, uint32_t(x.size())}, input, type());
    auto dy = device_tensor({1, 1, 1, uint32_t(x.size())}, type());
    run([&](vk::Recorder& r) { op.record(r, *dx, *dy); });
    const auto y = read_floats(dy);
    EXPECT_TRUE(std::isnan(y[0])) << y[0];
    EXPECT_TRUE(all_close(y, reference(a, input), rel_tol(precision(), 1e-5f), 1e-6f));
  }
}

TEST(Activation, RejectsShapeOrTypeMismatch) {
  ops::ActivationOp op(context(), k_relu);
  auto dx = device_tensor({1, 3, 4, 4});
  auto dy = device_tensor({1, 3, 4, 5});
  auto labels = device_tensor({1, 3, 4, 4}, ops::DType::U32);
  run([&](vk::Recorder& r) {
    EXPECT_THROW(op.record(r, *dx, *dy), Error);
    EXPECT_THROW(op.record(r, *dx, *labels), Error);
  });
}

TEST(Activation, Fp16NeedsSixteenBitStorage) {
  if (context().info().fp16_storage) {
    EXPECT_NO_THROW(ops::ActivationOp(context(), k_relu, Precision::Fp16));
  } else {
    EXPECT_THROW(ops::ActivationOp(context(), k_relu, Precision::Fp16), Error);
  }
}

}  // namespace
}  // namespace vkseg::test
