// CropAdd (FCN's skip connection) against a CPU crop on random and FCN-sized shapes, at fp32 and
// fp16. Tolerance: fp32 relative 1e-4, though a copy or one fp32 addition should match exactly;
// fp16 relative 2e-3 on fp16-rounded inputs (the sum's one rounding to fp16, see harness.hpp).
#include <fmt/format.h>

#include "harness.hpp"
#include "ops/crop_add.hpp"

namespace vkseg::test {
namespace {

std::vector<float> reference_crop_add(const ops::Shape& src, const std::vector<float>& s,
                                      const std::vector<float>* addend, const ops::Shape& out,
                                      uint32_t oy, uint32_t ox) {
  std::vector<float> y(out.count());
  size_t i = 0;
  for (uint32_t plane = 0; plane < out.n * out.c; ++plane)
    for (uint32_t r = 0; r < out.h; ++r)
      for (uint32_t c = 0; c < out.w; ++c, ++i) {
        y[i] = s[(size_t(plane) * src.h + r + oy) * src.w + c + ox];
        if (addend) y[i] += (*addend)[i];
      }
  return y;
}

void check_crop_add(Precision precision, bool add, const ops::Shape& src, const ops::Shape& out,
                    uint32_t oy, uint32_t ox) {
  SCOPED_TRACE(fmt::format("{} add {} source {} output {} offset ({}, {})",
                           precision_name(precision), add, src.str(), out.str(), oy, ox));
  const ops::DType type = ops::storage_type(precision);
  ops::CropAdd op(context(), add, precision);
  const auto s = rounded(random_floats(src.count()), precision);
  const auto a = rounded(random_floats(out.count()), precision);
  auto ds = device_tensor(src, s, type);
  auto da = device_tensor(out, a, type);
  auto dy = device_tensor(out, type);
  run([&](vk::Recorder& r) { op.record(r, *ds, add ? &*da : nullptr, *dy, oy, ox); });
  EXPECT_TRUE(all_close(read_floats(dy),
                        reference_crop_add(src, s, add ? &a : nullptr, out, oy, ox),
                        rel_tol(precision, 1e-4f), 1e-5f));
}

class CropAddAtPrecision : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(CropAddAtPrecision);

TEST_P(CropAddAtPrecision, RandomShapes) {
  for (int trial = 0; trial < 30; ++trial) {
    const ops::Shape out{random_int(1, 3), random_int(1, 7), random_int(1, 13), random_int(1, 13)};
    const ops::Shape src{out.n, out.c, out.h + random_int(0, 9), out.w + random_int(0, 9)};
    check_crop_add(precision(), random_int(0, 1), src, out, random_int(0, src.h - out.h),
                   random_int(0, src.w - out.w));
  }
}

TEST_P(CropAddAtPrecision, FcnSkipOffsets) {
  // FCN-32s/16s/8s crop the upsampled score map by 19, 27, 31 (and 5, 9 for the skip scores);
  // 21 classes, an odd-sized image.
  for (uint32_t offset : {5u, 9u, 19u, 27u, 31u}) {
    const ops::Shape out{1, 21, 11, 7};
    check_crop_add(precision(), true, {1, 21, out.h + 2 * offset + 3, out.w + 2 * offset}, out, offset, offset);
    check_crop_add(precision(), false, {2, 21, out.h + offset, out.w + offset + 1},
                   {2, 21, 11, 7}, offset, offset + 1);
  }
}

TEST_P(CropAddAtPrecision, OneByOneWindow) {
  check_crop_add(precision(), true, {2, 3, 5, 4}, {2, 3, 1, 1}, 4, 3);
  check_crop_add(precision(), false, {1, 5, 1, 1}, {1, 5, 1, 1}, 0, 0);
}

TEST(CropAdd, RejectsInvalidShapes) {
  ops::CropAdd crop_add(context(), true);
  ops::CropAdd crop(context(), false);
  auto src = device_tensor({1, 3, 8, 8});
  auto out = device_tensor({1, 3, 4, 4});
  auto wrong_channels = device_tensor({1, 2, 4, 4});
  auto wrong_batch = device_tensor({2, 3, 4, 4});
  auto other_size = device_tensor({1, 3, 4, 5});
  run([&](vk::Recorder& r) {
    // The window passes the bottom, then the right edge.
    EXPECT_THROW(crop_add.record(r, *src, &*out, *out, 5, 0), Error);
    EXPECT_THROW(crop_add.record(r, *src, &*out, *out, 0, 5), Error);
    // The addend's shape differs from the output's, or the addend is missing.
    EXPECT_THROW(crop_add.record(r, *src, &*other_size, *out, 0, 0), Error);
    EXPECT_THROW(crop_add.record(r, *src, nullptr, *out, 0, 0), Error);
    // Channels or batch differ between source and output; an addend given to a plain crop.
    EXPECT_THROW(crop.record(r, *src, nullptr, *wrong_channels, 0, 0), Error);
    EXPECT_THROW(crop.record(r, *src, nullptr, *wrong_batch, 0, 0), Error);
    EXPECT_THROW(crop.record(r, *src, &*out, *out, 0, 0), Error);
  });
  try {
    run([&](vk::Recorder& r) { crop.record(r, *src, nullptr, *out, 9, 9); });
    ADD_FAILURE() << "an out-of-range crop was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("crop: ", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace vkseg::test
