// Image reading (every layout a user may feed, broken files refused before any big allocation)
// and PNG writing, against PIL's view of the same files (tests/fixtures/make_image_fixtures.py).
#include <filesystem>

#include "harness.hpp"
#include "io/image.hpp"
#include "io/npy.hpp"

namespace vkseg::test {
namespace {

namespace fs = std::filesystem;

std::string image_fixture(const std::string& name) {
  const char* root = std::getenv("VKSEG_FIXTURES");
  const fs::path path = fs::path(root ? root : "") / "images" / name;
  if (!fs::exists(path)) ADD_FAILURE() << "missing image fixture " << path;
  return path.string();
}

std::vector<uint8_t> npy_bytes(const std::string& name) {
  const io::NpyArray a = io::read_npy(image_fixture(name));
  return std::vector<uint8_t>(a.values.begin(), a.values.end());
}

TEST(ImageIo, ReadsRgbPngBmpExactlyAndJpegClosely) {
  const std::vector<uint8_t> expected = npy_bytes("rgb_37x53.npy");
  for (const std::string name : {"rgb_37x53.png", "rgb_37x53.bmp"}) {
    const io::Image image = io::read_image(image_fixture(name));
    EXPECT_EQ(image.width, 53u);
    EXPECT_EQ(image.height, 37u);
    EXPECT_EQ(image.source_channels, 3u);
    EXPECT_EQ(image.rgb, expected) << name;
  }
  const std::vector<uint8_t> smooth = npy_bytes("smooth_37x53.npy");
  const io::Image jpeg = io::read_image(image_fixture("smooth_37x53.jpg"));
  ASSERT_EQ(jpeg.rgb.size(), smooth.size());
  double error = 0;
  for (size_t i = 0; i < smooth.size(); ++i) error += std::abs(int(jpeg.rgb[i]) - int(smooth[i]));
  EXPECT_LT(error / double(smooth.size()), 2.0);  // quality 95 on a smooth picture
}

TEST(ImageIo, GreyAlphaAndSixteenBitBecomeRgb) {
  const std::vector<uint8_t> grey = npy_bytes("grey_41x29.npy");
  for (const std::string name : {"grey_41x29.png", "grey16_41x29.png"}) {
    const io::Image image = io::read_image(image_fixture(name));
    ASSERT_EQ(image.rgb.size(), grey.size() * 3) << name;
    EXPECT_EQ(image.source_channels, 1u);
    for (size_t i = 0; i < grey.size(); ++i) {
      ASSERT_EQ(image.rgb[3 * i], grey[i]) << name << " pixel " << i;
      ASSERT_EQ(image.rgb[3 * i + 1], grey[i]);
      ASSERT_EQ(image.rgb[3 * i + 2], grey[i]);
    }
  }
  const std::vector<uint8_t> rgba = npy_bytes("rgba_30x31.npy");
  const io::Image image = io::read_image(image_fixture("rgba_30x31.png"));
  EXPECT_EQ(image.source_channels, 4u);
  for (size_t i = 0; i < rgba.size() / 4; ++i) {
    for (int c = 0; c < 3; ++c) ASSERT_EQ(image.rgb[3 * i + c], rgba[4 * i + c]);  // alpha dropped
  }
  const std::vector<uint8_t> la = npy_bytes("grey_alpha_19x23.npy");
  const io::Image grey_alpha = io::read_image(image_fixture("grey_alpha_19x23.png"));
  EXPECT_EQ(grey_alpha.source_channels, 2u);
  for (size_t i = 0; i < la.size() / 2; ++i) ASSERT_EQ(grey_alpha.rgb[3 * i + 1], la[2 * i]);
}

TEST(ImageIo, RefusesBrokenAndHostileFiles) {
  for (const std::string name : {"truncated.png", "not_an_image.png", "empty.png",
                                 "huge_100000x100000.png", "zero_width.png", "missing.png"}) {
    const std::string path = (fs::path(image_fixture("rgb_37x53.png")).parent_path() / name).string();
    try {
      io::read_image(path);
      ADD_FAILURE() << name << " was accepted";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind(path, 0), 0u) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos);
      if (name.find("huge") != std::string::npos) {
        EXPECT_NE(message.find("exceed the limit"), std::string::npos) << message;
      }
    }
  }
}

TEST(ImageIo, PaletteLabelsKeepTheirIndices) {
  const io::LabelImage labels = io::read_label_png(image_fixture("labels_palette_17x25.png"));
  EXPECT_EQ(labels.width, 25u);
  EXPECT_EQ(labels.height, 17u);
  EXPECT_EQ(labels.labels, npy_bytes("labels_palette_17x25.npy"));
  EXPECT_FALSE(labels.palette.empty());
  EXPECT_EQ(io::read_label_png(image_fixture("grey_41x29.png")).labels, npy_bytes("grey_41x29.npy"));
  EXPECT_THROW(io::read_label_png(image_fixture("rgb_37x53.png")), Error);  // colour is not labels
  EXPECT_THROW(io::read_label_png(image_fixture("rgb_37x53.bmp")), Error);
}

TEST(ImageIo, WritesPalettePngsThatReadBack) {
  const uint32_t width = 13, height = 7;
  std::vector<uint8_t> labels(width * height);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = uint8_t(random_int(0, 20));
  std::vector<std::array<uint8_t, 3>> palette;
  for (uint32_t i = 0; i < 21; ++i) palette.push_back({uint8_t(i * 12), uint8_t(255 - i), uint8_t(i)});
  const std::string path = (fs::path(::testing::TempDir()) / "mask.png").string();
  io::write_indexed_png(path, width, height, labels.data(), palette);
  const io::LabelImage back = io::read_label_png(path);
  EXPECT_EQ(back.labels, labels);
  EXPECT_EQ(back.palette, palette);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  // The same file read as an image shows the palette colours.
  const io::Image colours = io::read_image(path);
  for (size_t i = 0; i < labels.size(); ++i) {
    for (int c = 0; c < 3; ++c) ASSERT_EQ(colours.rgb[3 * i + c], palette[labels[i]][c]);
  }
  const std::vector<std::array<uint8_t, 3>> too_many(257);
  EXPECT_THROW(io::write_indexed_png(path, width, height, labels.data(), too_many), Error);
}

}  // namespace
}  // namespace vkseg::test
