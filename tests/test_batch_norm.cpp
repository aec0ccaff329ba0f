// Inference batch norm (batch_norm_affine on the host, then ChannelAffine on the device) against
// (x - mean) / sqrt(var + epsilon) * scale + bias in double, on random shapes, with and without
// scale and bias (affine=False), at fp32 and fp16 (on fp16-rounded inputs).
// Tolerance: fp32 relative 1e-5 plus an absolute 1e-6 times the largest |x * a| + |b| of the
// test (a, b the folded per-channel affine): a and b are each one fp32 rounding and x * a + b two
// more, which cancellation in the sum turns into an absolute error of a few ulps of the terms;
// fp16 adds one output rounding (k_fp16_rel_tol). NaN in gives NaN out; infinities map through
// the affine.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "harness.hpp"
#include "ops/batch_norm.hpp"

namespace vkseg::test {
namespace {

struct BatchNormCase {
  ops::Shape shape;
  std::vector<float> mean, var, scale, bias;  // scale and bias empty: affine=False
  double epsilon;
};

BatchNormCase random_case(const ops::Shape& shape, bool affine) {
  const uint32_t c = shape.c;
  const double epsilons[] = {1e-5, 1e-3, 0.1};
  BatchNormCase bn{shape, random_floats(c, -2.0f, 2.0f), random_floats(c, 0.0f, 3.0f), {}, {},
                   epsilons[random_int(0, 2)]};
  bn.var[0] = 0.0f;  // a channel that was constant in training: only epsilon keeps it finite
  if (affine) {
    bn.scale = random_floats(c, -2.0f, 2.0f);
    bn.bias = random_floats(c, -2.0f, 2.0f);
  }
  return bn;
}

std::vector<float> reference_batch_norm(const BatchNormCase& bn, const std::vector<float>& x) {
  std::vector<float> y(x.size());
  const size_t plane = size_t(bn.shape.h) * bn.shape.w;
  for (size_t i = 0; i < x.size(); ++i) {
    const size_t c = i / plane % bn.shape.c;
    const double scale = bn.scale.empty() ? 1.0 : bn.scale[c];
    const double bias = bn.bias.empty() ? 0.0 : bn.bias[c];
    y[i] = float((x[i] - double(bn.mean[c])) / std::sqrt(double(bn.var[c]) + bn.epsilon) * scale +
                 bias);
  }
  return y;
}

// Runs the batch norm on x and compares with the reference (see the header for the tolerance).
void check_batch_norm(Precision precision, const BatchNormCase& bn, const std::vector<float>& x) {
  SCOPED_TRACE(fmt::format("{} {} epsilon {} affine {}", precision_name(precision),
                           bn.shape.str(), bn.epsilon, !bn.scale.empty()));
  const ops::DType type = ops::storage_type(precision);
  const ops::ChannelAffineValues affine =
      ops::batch_norm_affine(bn.mean, bn.var, bn.scale, bn.bias, bn.epsilon);
  float x_max = 0, term_max = 0;
  for (float v : x) x_max = std::isfinite(v) ? std::max(x_max, std::fabs(v)) : x_max;
  for (uint32_t c = 0; c < bn.shape.c; ++c) {
    term_max = std::max(term_max, x_max * std::fabs(affine.scale[c]) + std::fabs(affine.shift[c]));
  }
  const ops::Shape per_channel{1, bn.shape.c, 1, 1};
  auto dscale = device_tensor(per_channel, affine.scale);
  auto dshift = device_tensor(per_channel, affine.shift);
  auto dx = device_tensor(bn.shape, x, type);
  auto dy = device_tensor(bn.shape, type);
  ops::ChannelAffine op(context(), precision);
  run([&](vk::Recorder& r) { op.record(r, *dx, *dscale, *dshift, *dy); });
  EXPECT_TRUE(all_close(read_floats(dy), reference_batch_norm(bn, x), rel_tol(precision, 1e-5f),
                        1e-6f * term_max));
}

class BatchNormAtPrecision : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(BatchNormAtPrecision);

TEST_P(BatchNormAtPrecision, RandomShapesWithAndWithoutAffine) {
  for (int trial = 0; trial < 24; ++trial) {
    const ops::Shape s{random_int(1, 3), random_int(1, 13), random_int(1, 17), random_int(1, 17)};
    const BatchNormCase bn = random_case(s, trial % 2 == 0);
    check_batch_norm(precision(), bn, rounded(random_floats(s.count(), -4.0f, 4.0f), precision()));
  }
}

TEST_P(BatchNormAtPrecision, OneByOneMaps) {
  const BatchNormCase bn = random_case({4, 7, 1, 1}, true);
  check_batch_norm(precision(), bn, rounded(random_floats(28, -4.0f, 4.0f), precision()));
}

TEST_P(BatchNormAtPrecision, NanPropagatesAndInfinitiesMap) {
  const float inf = std::numeric_limits<float>::infinity();
  BatchNormCase bn = random_case({1, 2, 1, 3}, true);
  bn.scale = {1.5f, -0.5f};  // a positive and a negative slope
  const std::vector<float> x{std::nanf(""), inf, -inf, std::nanf(""), inf, 0.0f};
  check_batch_norm(precision(), bn, x);
}

TEST(BatchNorm, RejectsMismatchedParameters) {
  ops::ChannelAffine op(context());
  auto x = device_tensor({2, 3, 4, 5});
  auto y = device_tensor({2, 3, 4, 5});
  auto three = device_tensor({1, 3, 1, 1});
  auto four = device_tensor({1, 4, 1, 1});
  auto halves = device_tensor({1, 3, 1, 1}, ops::DType::F16);
  auto other = device_tensor({2, 3, 5, 4});
  run([&](vk::Recorder& r) {
    EXPECT_THROW(op.record(r, *x, *four, *three, *y), Error);
    EXPECT_THROW(op.record(r, *x, *three, *halves, *y), Error);  // parameters stay fp32
    EXPECT_THROW(op.record(r, *x, *three, *three, *other), Error);
  });
}

}  // namespace
}  // namespace vkseg::test
