// Concat (torch.cat(dim=1)) against a CPU concatenation; a pure copy, so it must match exactly,
// at fp16 too (on fp16-rounded inputs).
#include <fmt/format.h>

#include "harness.hpp"
#include "ops/concat.hpp"

namespace vkseg::test {
namespace {

std::vector<float> reference_concat(const std::vector<ops::Shape>& shapes,
                                    const std::vector<std::vector<float>>& values) {
  std::vector<float> y;
  for (uint32_t n = 0; n < shapes.front().n; ++n)
    for (size_t i = 0; i < shapes.size(); ++i) {
      const size_t batch = size_t(shapes[i].c) * shapes[i].h * shapes[i].w;
      y.insert(y.end(), values[i].begin() + n * batch, values[i].begin() + (n + 1) * batch);
    }
  return y;
}

void check_concat(Precision precision, const std::vector<ops::Shape>& shapes) {
  std::string names;
  for (const auto& s : shapes) names += s.str() + " ";
  SCOPED_TRACE(fmt::format("{} inputs {}", precision_name(precision), names));
  const ops::DType type = ops::storage_type(precision);
  ops::Concat op(context(), precision);
  std::vector<std::vector<float>> values;
  std::vector<DeviceTensor> device;
  std::vector<ops::Tensor> inputs;
  for (const auto& s : shapes) {
    values.push_back(rounded(random_floats(s.count()), precision));
    device.push_back(device_tensor(s, values.back(), type));
    inputs.push_back(*device.back());
  }
  const ops::Shape out = op.output_shape(shapes);
  auto dy = device_tensor(out, type);
  run([&](vk::Recorder& r) { op.record(r, inputs, *dy); });
  EXPECT_EQ(read_floats(dy), reference_concat(shapes, values));
}

class ConcatAtPrecision : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(ConcatAtPrecision);

TEST_P(ConcatAtPrecision, RandomShapes) {
  for (int trial = 0; trial < 20; ++trial) {
    const uint32_t n = random_int(1, 3), h = random_int(1, 11), w = random_int(1, 11);
    std::vector<ops::Shape> shapes(random_int(1, 4));
    for (auto& s : shapes) s = {n, random_int(1, 7), h, w};
    check_concat(precision(), shapes);
  }
}

TEST_P(ConcatAtPrecision, OneByOneMapsAndSingleInput) {
  check_concat(precision(), {{3, 5, 1, 1}, {3, 1, 1, 1}, {3, 2, 1, 1}});
  check_concat(precision(), {{2, 3, 4, 5}});
}

TEST(Concat, OutputShapeSumsChannels) {
  ops::Concat op(context());
  EXPECT_EQ(op.output_shape({{2, 3, 5, 7}, {2, 6, 5, 7}}), (ops::Shape{2, 9, 5, 7}));
}

TEST(Concat, RejectsMismatchedInputs) {
  ops::Concat op(context());
  auto a = device_tensor({2, 3, 5, 7});
  EXPECT_THROW(op.output_shape({}), Error);
  EXPECT_THROW(op.output_shape({a->shape, {1, 3, 5, 7}}), Error);  // another batch
  EXPECT_THROW(op.output_shape({a->shape, {2, 3, 4, 7}}), Error);  // another height
  EXPECT_THROW(op.output_shape({a->shape, {2, 3, 5, 6}}), Error);  // another width
  auto wrong_output = device_tensor({2, 5, 5, 7});
  run([&](vk::Recorder& r) { EXPECT_THROW(op.record(r, {*a, *a}, *wrong_output), Error); });
}

}  // namespace
}  // namespace vkseg::test
