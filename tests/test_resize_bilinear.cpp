// ResizeBilinear against PyTorch's upsample_bilinear2d (fp32 source coordinates, interpolation
// in double) in both align_corners modes, at fp32 and fp16. Tolerance: fp32 relative 1e-4 plus
// 1e-6 absolute, for outputs that interpolate to near zero; fp16 relative 2e-3 on fp16-rounded
// inputs (the output's one rounding to fp16, see harness.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "harness.hpp"
#include "ops/resize_bilinear.hpp"

namespace vkseg::test {
namespace {

struct Taps {
  uint32_t i0, i1;
  double lambda;  // weight of i1
};

// Source taps of output index `dst`, in fp32 as PyTorch's fp32 kernel computes them
// (area_pixel_compute_scale and area_pixel_compute_source_index).
Taps source_taps(uint32_t dst, uint32_t in, uint32_t out, bool align_corners) {
  float src;
  if (align_corners) {
    const float scale = out > 1 ? float(in - 1) / float(out - 1) : 0.0f;
    src = scale * float(dst);
  } else {
    const float scale = float(in) / float(out);
    src = std::max(scale * (float(dst) + 0.5f) - 0.5f, 0.0f);
  }
  const uint32_t i0 = std::min(uint32_t(src), in - 1);
  return {i0, std::min(i0 + 1, in - 1), double(src) - i0};
}

std::vector<float> reference_resize(const ops::Shape& in, const std::vector<float>& x,
                                    const ops::Shape& out, bool align_corners) {
  std::vector<float> y(out.count());
  size_t i = 0;
  for (uint32_t plane = 0; plane < out.n * out.c; ++plane)
    for (uint32_t oy = 0; oy < out.h; ++oy)
      for (uint32_t ox = 0; ox < out.w; ++ox, ++i) {
        const Taps ty = source_taps(oy, in.h, out.h, align_corners);
        const Taps tx = source_taps(ox, in.w, out.w, align_corners);
        const auto at = [&](uint32_t r, uint32_t c) {
          return double(x[(size_t(plane) * in.h + r) * in.w + c]);
        };
        const double top = (1 - tx.lambda) * at(ty.i0, tx.i0) + tx.lambda * at(ty.i0, tx.i1);
        const double bottom = (1 - tx.lambda) * at(ty.i1, tx.i0) + tx.lambda * at(ty.i1, tx.i1);
        y[i] = float((1 - ty.lambda) * top + ty.lambda * bottom);
      }
  return y;
}

void check_resize(Precision precision, bool align_corners, const ops::Shape& in,
                  const ops::Shape& out) {
  SCOPED_TRACE(fmt::format("{} align_corners {} input {} output {}", precision_name(precision),
                           align_corners, in.str(), out.str()));
  const ops::DType type = ops::storage_type(precision);
  ops::ResizeBilinear op(context(), align_corners, precision);
  const auto x = rounded(random_floats(in.count()), precision);
  auto dx = device_tensor(in, x, type);
  auto dy = device_tensor(out, type);
  run([&](vk::Recorder& r) { op.record(r, *dx, *dy); });
  EXPECT_TRUE(all_close(read_floats(dy), reference_resize(in, x, out, align_corners),
                        rel_tol(precision, 1e-4f), 1e-6f));
}

class ResizeBilinearAtPrecision : public PrecisionTest {};
VKSEG_AT_EVERY_PRECISION(ResizeBilinearAtPrecision);

TEST_P(ResizeBilinearAtPrecision, RandomShapes) {
  for (bool align_corners : {false, true}) {
    for (int trial = 0; trial < 15; ++trial) {
      const uint32_t n = random_int(1, 3), c = random_int(1, 6);
      check_resize(precision(), align_corners, {n, c, random_int(1, 12), random_int(1, 12)},
                   {n, c, random_int(1, 25), random_int(1, 25)});
    }
  }
}

TEST_P(ResizeBilinearAtPrecision, UpsampleAndDownsample) {
  for (bool align_corners : {false, true}) {
    check_resize(precision(), align_corners, {1, 21, 7, 9}, {1, 21, 56, 72});  // x8, like FCN-8s's last step
    check_resize(precision(), align_corners, {2, 3, 5, 5}, {2, 3, 17, 11});    // non-integer factors
    check_resize(precision(), align_corners, {1, 5, 31, 23}, {1, 5, 8, 6});    // downsampling
    check_resize(precision(), align_corners, {1, 2, 6, 7}, {1, 2, 6, 7});      // identity size
  }
}

TEST_P(ResizeBilinearAtPrecision, SinglePixelInputOrOutput) {
  for (bool align_corners : {false, true}) {
    check_resize(precision(), align_corners, {1, 3, 9, 6}, {1, 3, 1, 1});  // out == 1
    check_resize(precision(), align_corners, {1, 3, 9, 6}, {1, 3, 1, 4});
    check_resize(precision(), align_corners, {2, 3, 1, 1}, {2, 3, 5, 7});  // broadcast one pixel
  }
}

TEST(ResizeBilinear, RejectsMismatchedBatchOrChannels) {
  ops::ResizeBilinear op(context(), false);
  auto dx = device_tensor({2, 3, 4, 4});
  auto wrong_channels = device_tensor({2, 4, 8, 8});
  auto wrong_batch = device_tensor({1, 3, 8, 8});
  run([&](vk::Recorder& r) {
    EXPECT_THROW(op.record(r, *dx, *wrong_channels), Error);
    EXPECT_THROW(op.record(r, *dx, *wrong_batch), Error);
  });
}

}  // namespace
}  // namespace vkseg::test
