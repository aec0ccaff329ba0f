// Relu out of place and in place (input and output the same tensor), at fp32 and fp16 (on
// fp16-rounded inputs); max(x, 0) is exact at either.
#include <fmt/format.h>

#include <algorithm>

#include "harness.hpp"
#include "ops/relu.hpp"

namespace vkseg::test {
namespace {

std::vector<float> reference_relu(std::vector<float> x) {
  for (float& v : x) v = std::max(v, 0.0f);
  return x;
}

ops::Shape random_shape() {
  return {random_int(1, 3), random_int(1, 9), random_int(1, 17), random_int(1, 17)};
}

class ReluAtPrecision : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(ReluAtPrecision);

TEST_P(ReluAtPrecision, OutOfPlace) {
  ops::Relu op(context(), precision());
  for (int trial = 0; trial < 10; ++trial) {
    const ops::Shape s = random_shape();
    SCOPED_TRACE(fmt::format("shape {}", s.str()));
    const auto x = rounded(random_floats(s.count()), precision());
    auto dx = device_tensor(s, x, type());
    auto dy = device_tensor(s, type());
    run([&](vk::Recorder& r) { op.record(r, *dx, *dy); });
    EXPECT_EQ(read_floats(dy), reference_relu(x));
    EXPECT_EQ(read_floats(dx), x);  // the input is untouched
  }
}

TEST_P(ReluAtPrecision, InPlace) {
  ops::Relu op(context(), precision());
  for (const ops::Shape& s : {random_shape(), ops::Shape{2, 3, 1, 1}}) {
    SCOPED_TRACE(fmt::format("shape {}", s.str()));
    const auto x = rounded(random_floats(s.count()), precision());
    auto dx = device_tensor(s, x, type());
    run([&](vk::Recorder& r) { op.record(r, *dx, *dx); });
    EXPECT_EQ(read_floats(dx), reference_relu(x));
  }
}

TEST(Relu, RejectsShapeOrTypeMismatch) {
  ops::Relu op(context());
  auto dx = device_tensor({1, 3, 4, 4});
  auto dy = device_tensor({1, 3, 4, 5});
  auto labels = device_tensor({1, 3, 4, 4}, ops::DType::U32);
  run([&](vk::Recorder& r) {
    EXPECT_THROW(op.record(r, *dx, *dy), Error);
    EXPECT_THROW(op.record(r, *dx, *labels), Error);
  });
}

TEST(Relu, Fp16NeedsSixteenBitStorage) {
  if (context().info().fp16_storage) {
    EXPECT_NO_THROW(ops::Relu(context(), Precision::Fp16));
  } else {
    EXPECT_THROW(ops::Relu(context(), Precision::Fp16), Error);
  }
}

}  // namespace
}  // namespace vkseg::test
