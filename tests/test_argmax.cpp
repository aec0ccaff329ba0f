// Argmax against torch.argmax's rules on the CPU: first index on ties, the first NaN wins.
// Labels are integers, so the comparison is exact, at fp16 too: the reference sees the same
// fp16-rounded inputs (and any ties the rounding makes).
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "harness.hpp"
#include "ops/argmax.hpp"

namespace vkseg::test {
namespace {

std::vector<uint32_t> reference_argmax(const ops::Shape& in, const std::vector<float>& x) {
  std::vector<uint32_t> labels;
  const size_t hw = size_t(in.h) * in.w;
  for (uint32_t n = 0; n < in.n; ++n)
    for (size_t p = 0; p < hw; ++p) {
      const auto at = [&](uint32_t c) { return x[(size_t(n) * in.c + c) * hw + p]; };
      uint32_t best = 0;
      for (uint32_t c = 1; c < in.c && !std::isnan(at(best)); ++c)
        if (std::isnan(at(c)) || at(c) > at(best)) best = c;
      labels.push_back(best);
    }
  return labels;
}

void check_argmax(Precision precision, const ops::Shape& in, std::vector<float> x) {
  SCOPED_TRACE(fmt::format("{} input {}", precision_name(precision), in.str()));
  x = rounded(std::move(x), precision);
  ops::Argmax op(context(), precision);
  auto dx = device_tensor(in, x, ops::storage_type(precision));
  auto dy = device_tensor(op.output_shape(in), ops::DType::U32);
  run([&](vk::Recorder& r) { op.record(r, *dx, *dy); });
  EXPECT_EQ(read_uints(dy), reference_argmax(in, x));
}

class ArgmaxAtPrecision : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(ArgmaxAtPrecision);

TEST_P(ArgmaxAtPrecision, RandomShapes) {
  for (int trial = 0; trial < 20; ++trial) {
    const ops::Shape in{random_int(1, 3), random_int(1, 23), random_int(1, 15), random_int(1, 15)};
    check_argmax(precision(), in, random_floats(in.count()));
  }
}

TEST_P(ArgmaxAtPrecision, TiesTakeTheFirstIndex) {
  // Values drawn from {0, 1, 2} tie constantly; -0 and +0 compare equal too.
  const ops::Shape in{2, 7, 5, 3};
  std::vector<float> x(in.count());
  for (float& v : x) v = float(random_int(0, 2));
  for (size_t i = 0; i < x.size(); i += 5) x[i] = x[i] == 0.0f ? -0.0f : x[i];
  check_argmax(precision(), in, x);
  check_argmax(precision(), {1, 4, 1, 1}, {3.0f, 3.0f, 3.0f, 3.0f});
}

TEST_P(ArgmaxAtPrecision, NanCountsAsLargest) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  // One pixel per column: NaN first, a NaN beating +inf, two NaNs, a tie, all -inf.
  const ops::Shape in{1, 4, 1, 5};
  const std::vector<float> x = {nan,  1.0f, nan,  0.0f, -inf,   // channel 0
                                inf,  inf,  2.0f, 5.0f, -inf,   // channel 1
                                0.0f, nan,  nan,  5.0f, -inf,   // channel 2
                                nan,  0.0f, 1.0f, 1.0f, -inf};  // channel 3
  ops::Argmax op(context(), precision());
  auto dx = device_tensor(in, x, type());
  auto dy = device_tensor(op.output_shape(in), ops::DType::U32);
  run([&](vk::Recorder& r) { op.record(r, *dx, *dy); });
  EXPECT_EQ(read_uints(dy), (std::vector<uint32_t>{0, 2, 0, 1, 0}));
  // Scattered NaNs in a larger batch against the reference.
  const ops::Shape big{3, 9, 6, 7};
  auto values = random_floats(big.count());
  for (float& v : values)
    if (random_int(0, 19) == 0) v = nan;
  check_argmax(precision(), big, values);
}

TEST(Argmax, RejectsWrongOutputShapeOrType) {
  ops::Argmax op(context());
  auto dx = device_tensor({2, 5, 4, 4});
  auto wrong_batch = device_tensor({1, 1, 4, 4}, ops::DType::U32);
  auto wrong_channels = device_tensor({2, 5, 4, 4}, ops::DType::U32);
  auto float_labels = device_tensor({2, 1, 4, 4});
  run([&](vk::Recorder& r) {
    EXPECT_THROW(op.record(r, *dx, *wrong_batch), Error);
    EXPECT_THROW(op.record(r, *dx, *wrong_channels), Error);
    EXPECT_THROW(op.record(r, *dx, *float_labels), Error);
  });
}

}  // namespace
}  // namespace vkseg::test
