// Relu out of place and in place (input and output the same tensor); max(x, 0) is exact.
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

TEST(Relu, OutOfPlace) {
  ops::Relu op(context());
  for (int trial = 0; trial < 10; ++trial) {
    const ops::Shape s = random_shape();
    SCOPED_TRACE(fmt::format("shape {}", s.str()));
    const auto x = random_floats(s.count());
    auto dx = device_tensor(s, x);
    auto dy = device_tensor(s);
    run([&](vk::Recorder& r) { op.record(r, *dx, *dy); });
    EXPECT_EQ(read_floats(dy), reference_relu(x));
    EXPECT_EQ(read_floats(dx), x);  // the input is untouched
  }
}

TEST(Relu, InPlace) {
  ops::Relu op(context());
  for (const ops::Shape& s : {random_shape(), ops::Shape{2, 3, 1, 1}}) {
    SCOPED_TRACE(fmt::format("shape {}", s.str()));
    const auto x = random_floats(s.count());
    auto dx = device_tensor(s, x);
    run([&](vk::Recorder& r) { op.record(r, *dx, *dx); });
    EXPECT_EQ(read_floats(dx), reference_relu(x));
  }
}

TEST(Relu, RejectsShapeMismatch) {
  ops::Relu op(context());
  auto dx = device_tensor({1, 3, 4, 4});
  auto dy = device_tensor({1, 3, 4, 5});
  run([&](vk::Recorder& r) { EXPECT_THROW(op.record(r, *dx, *dy), Error); });
}

}  // namespace
}  // namespace vkseg::test
