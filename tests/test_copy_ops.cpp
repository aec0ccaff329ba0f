// TensorCopy (identity, dropout and constant nodes) on random shapes at fp32 and fp16: a copy,
// so it must match bit for bit, NaN included; and right_aligned_shape, which places a constant's
// weight of rank 0 to 4 in NCHW.
#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "harness.hpp"
#include "ops/copy.hpp"

namespace vkseg::test {
namespace {

std::vector<uint32_t> bits_of(const std::vector<float>& v) {
  std::vector<uint32_t> bits(v.size());
  std::memcpy(bits.data(), v.data(), v.size() * sizeof(float));
  return bits;
}

class CopyAtPrecision : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(CopyAtPrecision);

TEST_P(CopyAtPrecision, RandomShapesBitExactNanIncluded) {
  ops::TensorCopy copy("identity", precision());
  for (int trial = 0; trial < 10; ++trial) {
    const ops::Shape s{random_int(1, 3), random_int(1, 9), random_int(1, 17), random_int(1, 17)};
    SCOPED_TRACE(s.str());
    auto x = rounded(random_floats(s.count()), precision());
    x[random_int(0, uint32_t(x.size() - 1))] = std::nanf("");
    auto dx = device_tensor(s, x, type());
    auto dy = device_tensor(s, type());
    run([&](vk::Recorder& r) { copy.record(r, *dx, *dy); });
    EXPECT_EQ(bits_of(read_floats(dy)), bits_of(x));
  }
}

TEST(Copy, RejectsShapeOrTypeMismatch) {
  ops::TensorCopy copy("identity");
  auto x = device_tensor({1, 3, 4, 4});
  auto other = device_tensor({1, 4, 3, 4});  // as many elements, another shape
  auto halves = device_tensor({1, 3, 4, 4}, ops::DType::F16);
  run([&](vk::Recorder& r) {
    EXPECT_THROW(copy.record(r, *x, *other), Error);
    EXPECT_THROW(copy.record(r, *x, *halves), Error);
  });
}

TEST(Copy, RightAlignedShape) {
  EXPECT_EQ(ops::right_aligned_shape({}), (ops::Shape{1, 1, 1, 1}));
  EXPECT_EQ(ops::right_aligned_shape({5}), (ops::Shape{1, 1, 1, 5}));
  EXPECT_EQ(ops::right_aligned_shape({6, 1, 1}), (ops::Shape{1, 6, 1, 1}));
  EXPECT_EQ(ops::right_aligned_shape({3, 4}), (ops::Shape{1, 1, 3, 4}));
  EXPECT_EQ(ops::right_aligned_shape({2, 3, 4, 5}), (ops::Shape{2, 3, 4, 5}));
  EXPECT_THROW(ops::right_aligned_shape({1, 2, 3, 4, 5}), Error);
  EXPECT_THROW(ops::right_aligned_shape({3, 0}), Error);
  EXPECT_THROW(ops::right_aligned_shape({int64_t(1) << 33}), Error);
}

}  // namespace
}  // namespace vkseg::test
