// Convert (the fp16 network's boundary): fp16 -> fp32 must be exact; fp32 -> fp16 is one rounding,
// to nearest or toward zero as the device converts (relative 2e-3, see harness.hpp), with
// overflow to infinity and NaN kept.
#include <cmath>
#include <limits>

#include "harness.hpp"
#include "io/half.hpp"
#include "ops/convert.hpp"

namespace vkseg::test {
namespace {

class Convert : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!context().info().fp16_storage) {
      GTEST_SKIP() << "fp16 needs 16-bit storage buffers (storageBuffer16BitAccess), which "
                   << context().info().name << " does not offer";
    }
  }
};

TEST_F(Convert, WidensExactly) {
  const ops::Shape s{2, 3, 5, 7};
  std::vector<float> x = rounded(random_floats(s.count(), -70000.0f, 70000.0f), Precision::Fp16);
  x[0] = std::numeric_limits<float>::infinity();
  x[1] = std::ldexp(1.0f, -24);  // the smallest fp16 subnormal
  x[2] = -0.0f;
  ops::Convert op(context());
  auto narrow = device_tensor(s, x, ops::DType::F16);
  auto wide = device_tensor(s);
  run([&](vk::Recorder& r) { op.record(r, *narrow, *wide); });
  const std::vector<float> y = read_floats(wide);
  EXPECT_EQ(y, x);
  EXPECT_TRUE(std::signbit(y[2]));
}

TEST_F(Convert, NarrowsWithOneRounding) {
  const ops::Shape s{1, 4, 9, 11};
  std::vector<float> x = random_floats(s.count(), -100.0f, 100.0f);
  x[0] = 1e6f;  // beyond fp16's range: infinity
  x[1] = std::numeric_limits<float>::quiet_NaN();
  x[2] = 3e-6f;  // an fp16 subnormal
  ops::Convert op(context());
  auto wide = device_tensor(s, x);
  auto narrow = device_tensor(s, ops::DType::F16);
  run([&](vk::Recorder& r) { op.record(r, *wide, *narrow); });
  std::vector<float> y = read_floats(narrow);
  EXPECT_EQ(y[0], std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(y[1]));
  EXPECT_NEAR(y[2], x[2], std::ldexp(1.0f, -24));
  y[0] = x[0], y[1] = x[1], y[2] = x[2];
  EXPECT_TRUE(all_close(y, x, k_fp16_rel_tol, 0.0f));
}

TEST_F(Convert, RejectsMismatchedTypesAndShapes) {
  ops::Convert op(context());
  auto a32 = device_tensor({1, 2, 3, 4}), b32 = device_tensor({1, 2, 3, 4});
  auto a16 = device_tensor({1, 2, 3, 4}, ops::DType::F16);
  auto other16 = device_tensor({1, 2, 3, 5}, ops::DType::F16);
  run([&](vk::Recorder& r) {
    EXPECT_THROW(op.record(r, *a32, *b32), Error);
    EXPECT_THROW(op.record(r, *a32, *other16), Error);
    EXPECT_NO_THROW(op.record(r, *a32, *a16));
  });
}

}  // namespace
}  // namespace vkseg::test
