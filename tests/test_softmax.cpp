// Softmax over channels against a double-precision CPU softmax, at fp32 and fp16 (sums in fp32
// at both). Tolerance: fp32 relative 1e-4 plus 1e-6 absolute, since probabilities near zero carry
// exp()'s absolute error; fp16 relative 2e-3 on fp16-rounded inputs (the output's one rounding to
// fp16, see harness.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "harness.hpp"
#include "ops/softmax.hpp"

namespace vkseg::test {
namespace {

std::vector<float> reference_softmax(const ops::Shape& in, const std::vector<float>& x) {
  std::vector<float> y(x.size());
  const size_t hw = size_t(in.h) * in.w;
  for (uint32_t n = 0; n < in.n; ++n)
    for (size_t p = 0; p < hw; ++p) {
      const auto index = [&](uint32_t c) { return (size_t(n) * in.c + c) * hw + p; };
      double m = x[index(0)];
      for (uint32_t c = 1; c < in.c; ++c) m = std::max(m, double(x[index(c)]));
      double sum = 0;
      for (uint32_t c = 0; c < in.c; ++c) sum += std::exp(x[index(c)] - m);
      for (uint32_t c = 0; c < in.c; ++c) y[index(c)] = float(std::exp(x[index(c)] - m) / sum);
    }
  return y;
}

void check_softmax(Precision precision, const ops::Shape& in, std::vector<float> x) {
  SCOPED_TRACE(fmt::format("{} input {}", precision_name(precision), in.str()));
  const ops::DType type = ops::storage_type(precision);
  x = rounded(std::move(x), precision);
  ops::Softmax op(context(), precision);
  auto dx = device_tensor(in, x, type);
  auto dy = device_tensor(in, type);
  run([&](vk::Recorder& r) { op.record(r, *dx, *dy); });
  EXPECT_TRUE(
      all_close(read_floats(dy), reference_softmax(in, x), rel_tol(precision, 1e-4f), 1e-6f));
}

class SoftmaxAtPrecision : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(SoftmaxAtPrecision);

TEST_P(SoftmaxAtPrecision, RandomShapes) {
  for (int trial = 0; trial < 20; ++trial) {
    const ops::Shape in{random_int(1, 3), random_int(1, 23), random_int(1, 13), random_int(1, 13)};
    check_softmax(precision(), in, random_floats(in.count(), -8.0f, 8.0f));
  }
}

TEST_P(SoftmaxAtPrecision, SingleChannelIsOne) {
  check_softmax(precision(), {2, 1, 3, 5}, random_floats(30, -50.0f, 50.0f));
}

TEST_P(SoftmaxAtPrecision, LargeLogitsDoNotOverflow) {
  // exp(1000) overflows fp32; only the max-subtracted form gives finite probabilities.
  const ops::Shape in{2, 21, 4, 3};
  auto x = random_floats(in.count(), 990.0f, 1000.0f);
  for (size_t i = 0; i < x.size(); i += 7) x[i] = -1000.0f;
  check_softmax(precision(), in, x);
  check_softmax(precision(), {1, 3, 1, 1}, {1000.0f, 1000.0f, -1000.0f});
}

TEST(Softmax, RejectsWrongOutputShape) {
  ops::Softmax op(context());
  auto dx = device_tensor({1, 5, 4, 4});
  auto dy = device_tensor({1, 4, 4, 4});
  run([&](vk::Recorder& r) { EXPECT_THROW(op.record(r, *dx, *dy), Error); });
}

}  // namespace
}  // namespace vkseg::test
