// texel_window and units_per_texel_window against their definition, on a device description
// with a small texel limit and a coarse alignment, so that every case a large tensor meets on a
// real device (an unaligned start, a window cut at the tensor's end, a limit a unit fills) is
// reached with small numbers. The convolutions that use them are tested on the device.
#include <gtest/gtest.h>

#include <cstdint>

#include "ops/dispatch.hpp"

namespace vkseg::test {
namespace {

DeviceInfo small_device() {
  DeviceInfo info;
  info.min_texel_buffer_offset_alignment = 64;
  info.max_texel_buffer_elements = 1000;
  return info;
}

TEST(TexelWindow, StartsAlignedAtOrBeforeTheFirstElementAndCoversTheRange) {
  const DeviceInfo info = small_device();
  const vk::BufferView tensor{VkBuffer(uintptr_t(1)), 128, 4000};
  for (uint32_t bytes : {2u, 4u}) {
    for (uint64_t first : {0u, 1u, 15u, 16u, 33u, 499u}) {
      for (uint64_t count : {1u, 7u, 400u}) {
        const ops::TexelWindow w = ops::texel_window(info, tensor, first, count, bytes);
        SCOPED_TRACE(testing::Message()
                     << bytes << " bytes, first " << first << ", count " << count);
        EXPECT_EQ(w.view.buffer, tensor.buffer);
        EXPECT_EQ(w.view.offset % 64, 0u);
        EXPECT_EQ(w.view.offset + uint64_t(w.first_texel) * bytes, tensor.offset + first * bytes);
        EXPECT_LT(uint64_t(w.first_texel) * bytes, 64u);
        EXPECT_EQ(w.view.offset + w.view.size, tensor.offset + (first + count) * bytes);
      }
    }
  }
}

TEST(TexelWindow, EndsAtTheTensorsEnd) {
  const DeviceInfo info = small_device();
  const vk::BufferView tensor{VkBuffer(uintptr_t(1)), 0, 100 * 4};
  const ops::TexelWindow w = ops::texel_window(info, tensor, 90, 50, 4);
  EXPECT_EQ(w.view.offset + w.view.size, 400u);
  EXPECT_EQ(w.view.offset + w.first_texel * 4u, 360u);
}

TEST(TexelWindow, UnitsFitTheLimitWithRoomForTheAlignment) {
  const DeviceInfo info = small_device();
  for (uint32_t bytes : {2u, 4u}) {
    const uint64_t slack = 64 / bytes;
    for (uint64_t unit : {1u, 3u, 100u, 333u, 968u}) {
      const uint64_t units = ops::units_per_texel_window(info, unit, bytes);
      SCOPED_TRACE(testing::Message() << bytes << " bytes, unit " << unit);
      EXPECT_LE(units * unit + slack, 1000u);
      EXPECT_GT((units + 1) * unit + slack, 1000u);
    }
  }
  // A unit larger than the limit still makes progress, one at a time; the recorder refuses it.
  EXPECT_EQ(ops::units_per_texel_window(info, 5000, 4), 1u);
}

}  // namespace
}  // namespace vkseg::test
