// Image reading (every layout a user may feed, broken files refused before any big allocation)
// and PNG writing, against PIL's view of the same files (tests/fixtures/make_image_fixtures.py).
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <tuple>

#include "harness.hpp"
#include "vkseg/image.hpp"
#include "vkseg/npy.hpp"

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
  const NpyArray a = read_npy(image_fixture(name));
  return std::vector<uint8_t>(a.values.begin(), a.values.end());
}

TEST(ImageIo, ReadsRgbPngBmpExactlyAndJpegClosely) {
  const std::vector<uint8_t> expected = npy_bytes("rgb_37x53.npy");
  for (const std::string name : {"rgb_37x53.png", "rgb_37x53.bmp"}) {
    const Image image = read_image(image_fixture(name));
    EXPECT_EQ(image.width, 53u);
    EXPECT_EQ(image.height, 37u);
    EXPECT_EQ(image.source_channels, 3u);
    EXPECT_EQ(image.rgb, expected) << name;
  }
  const std::vector<uint8_t> smooth = npy_bytes("smooth_37x53.npy");
  const Image jpeg = read_image(image_fixture("smooth_37x53.jpg"));
  ASSERT_EQ(jpeg.rgb.size(), smooth.size());
  double error = 0;
  for (size_t i = 0; i < smooth.size(); ++i) error += std::abs(int(jpeg.rgb[i]) - int(smooth[i]));
  EXPECT_LT(error / double(smooth.size()), 2.0);  // quality 95 on a smooth picture
}

TEST(ImageIo, GreyAlphaAndSixteenBitBecomeRgb) {
  const std::vector<uint8_t> grey = npy_bytes("grey_41x29.npy");
  for (const std::string name : {"grey_41x29.png", "grey16_41x29.png"}) {
    const Image image = read_image(image_fixture(name));
    ASSERT_EQ(image.rgb.size(), grey.size() * 3) << name;
    EXPECT_EQ(image.source_channels, 1u);
    for (size_t i = 0; i < grey.size(); ++i) {
      ASSERT_EQ(image.rgb[3 * i], grey[i]) << name << " pixel " << i;
      ASSERT_EQ(image.rgb[3 * i + 1], grey[i]);
      ASSERT_EQ(image.rgb[3 * i + 2], grey[i]);
    }
  }
  const std::vector<uint8_t> rgba = npy_bytes("rgba_30x31.npy");
  const Image image = read_image(image_fixture("rgba_30x31.png"));
  EXPECT_EQ(image.source_channels, 4u);
  for (size_t i = 0; i < rgba.size() / 4; ++i) {
    for (int c = 0; c < 3; ++c) ASSERT_EQ(image.rgb[3 * i + c], rgba[4 * i + c]);  // alpha dropped
  }
  const std::vector<uint8_t> la = npy_bytes("grey_alpha_19x23.npy");
  const Image grey_alpha = read_image(image_fixture("grey_alpha_19x23.png"));
  EXPECT_EQ(grey_alpha.source_channels, 2u);
  for (size_t i = 0; i < la.size() / 2; ++i) ASSERT_EQ(grey_alpha.rgb[3 * i + 1], la[2 * i]);
}

// The message of the Error reading `path` throws: one line, starting with the path.
std::string read_error(const std::string& path) {
  try {
    read_image(path);
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(path, 0), 0u) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  }
  ADD_FAILURE() << path << " was accepted";
  return {};
}

TEST(ImageIo, RefusesBrokenAndHostileFiles) {
  const std::pair<std::string, std::string> cases[] = {
      {"truncated.png", "the PNG is truncated"},
      {"not_an_image.png", "not a readable PNG, JPEG or BMP image"},
      {"empty.png", "not a readable PNG, JPEG or BMP image"},
      {"huge_100000x100000.png", "100000x100000 pixels exceed the limit"},
      {"zero_width.png", "the image has no pixels"},
      {"missing.png", "cannot open"},
  };
  for (const auto& [name, problem] : cases) {
    const std::string path = (fs::path(image_fixture("rgb_37x53.png")).parent_path() / name).string();
    EXPECT_NE(read_error(path).find(problem), std::string::npos) << name;
  }
}

// A BMP or JPEG header claiming a huge size is refused from the header alone (stb would otherwise
// allocate for the claim before finding the pixel data missing).
TEST(ImageIo, RefusesHugeBmpAndJpegHeaders) {
  const fs::path dir = temp_dir();
  auto le32 = [](uint32_t v) {
    return std::string{char(v), char(v >> 8), char(v >> 16), char(v >> 24)};
  };
  // BITMAPFILEHEADER, then a BITMAPINFOHEADER: 100000x100000, 1 plane, 24 bits, uncompressed.
  const std::string bmp = "BM" + le32(70) + le32(0) + le32(54) + le32(40) + le32(100000) +
                          le32(100000) + "\x01\x00\x18\x00" + std::string(24, '\0') +
                          std::string(16, '\0');
  // SOI, a baseline SOF0 of 65000x65000 with three components, and the start of a scan: all a
  // decoder reads before it would allocate the pixels.
  const std::string jpeg = std::string("\xff\xd8\xff\xc0\x00\x11\x08\xfd\xe8\xfd\xe8\x03", 12) +
                           std::string("\x01\x11\x00\x02\x11\x01\x03\x11\x01", 9) +
                           std::string("\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00", 14) +
                           std::string("\xff\xd9", 2);
  for (const auto& [name, bytes, size] : {std::tuple{"huge.bmp", bmp, "100000x100000"},
                                          std::tuple{"huge.jpg", jpeg, "65000x65000"}}) {
    const std::string path = (dir / name).string();
    { std::ofstream(path, std::ios::binary) << bytes; }
    EXPECT_NE(read_error(path).find(std::string(size) + " pixels exceed the limit"),
              std::string::npos)
        << read_error(path);
  }
  // Negative or INT_MIN sizes: refused before stb (which takes abs(INT_MIN)) sees them.
  for (const auto& [width, height] : {std::pair{uint32_t(-5), 10u}, std::pair{10u, 0x80000000u},
                                      std::pair{10u, 0u}}) {
    const std::string path = (dir / "negative.bmp").string();
    {
      std::ofstream(path, std::ios::binary)
          << "BM" + le32(70) + le32(0) + le32(54) + le32(40) + le32(width) + le32(height) +
                 "\x01\x00\x18\x00" + std::string(40, '\0');
    }
    EXPECT_NE(read_error(path).find("is not an image"), std::string::npos) << read_error(path);
  }
}

// A BMP with a negative height stores its rows top-down: valid and common, and it was refused
// with "53x18446744073709551579 pixels exceed the limit" (stbi_info's negative height, widened).
TEST(HostileInput, TopDownBmpIsReadNotRefused) {
  std::ifstream in(image_fixture("rgb_37x53.bmp"), std::ios::binary);
  std::string bmp(std::istreambuf_iterator<char>(in), {});
  const auto le32_at = [&](size_t at) {
    uint32_t v;
    std::memcpy(&v, bmp.data() + at, 4);
    return v;
  };
  ASSERT_EQ(int32_t(le32_at(22)), 37);  // bottom-up as PIL writes it
  const size_t offset = le32_at(10), row_bytes = (53 * 3 + 3) / 4 * 4;
  ASSERT_EQ(bmp.size(), offset + 37 * row_bytes);
  std::string top_down = bmp.substr(0, offset);
  for (size_t row = 37; row-- > 0;) top_down += bmp.substr(offset + row * row_bytes, row_bytes);
  const int32_t negative_height = -37;
  std::memcpy(top_down.data() + 22, &negative_height, 4);
  const std::string path = (temp_dir() / "top_down.bmp").string();
  std::ofstream(path, std::ios::binary) << top_down;
  const Image image = read_image(path);
  EXPECT_EQ(image.width, 53u);
  EXPECT_EQ(image.height, 37u);
  EXPECT_EQ(image.rgb, npy_bytes("rgb_37x53.npy"));
}

// Decoders fill what a short file lacks (libjpeg with grey after a warning, stb's BMP reader
// with zeros, silently): a file missing data is refused instead.
TEST(HostileInput, TruncatedImagesAreRefused) {
  const auto fixture_bytes = [](const std::string& name) {
    std::ifstream in(image_fixture(name), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const auto write = [](const std::string& name, const std::string& bytes) {
    const std::string path = (temp_dir() / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  };
  // Half of the JPEG's entropy-coded data (after its start-of-scan marker), then the file ends,
  // or an end-of-image marker follows.
  const std::string jpeg = fixture_bytes("smooth_37x53.jpg");
  const size_t scan = jpeg.find("\xff\xda");
  ASSERT_NE(scan, std::string::npos);
  const std::string half_jpeg = jpeg.substr(0, scan + (jpeg.size() - scan) / 2);
  EXPECT_NE(read_error(write("half.jpg", half_jpeg)).find("Premature end of JPEG file"),
            std::string::npos);
  EXPECT_NE(read_error(write("ended.jpg", half_jpeg + "\xff\xd9")).find("not a readable JPEG"),
            std::string::npos);
  // The header (54 bytes) and a third of the 5920 bytes of rows.
  const std::string bmp = fixture_bytes("rgb_37x53.bmp");
  ASSERT_EQ(bmp.size(), 5974u);
  EXPECT_NE(read_error(write("third.bmp", bmp.substr(0, 54 + 5920 / 3)))
                .find("the BMP is truncated: its 53x37 pixels of 24 bits end at byte 5974, the "
                      "file has 2027"),
            std::string::npos);
  const std::string png = fixture_bytes("rgb_37x53.png");
  EXPECT_NE(read_error(write("half.png", png.substr(0, png.size() / 2))).find("the PNG is truncated"),
            std::string::npos);
  const std::string labels = fixture_bytes("labels_palette_17x25.png");
  EXPECT_THROW(read_label_png(write("labels.png", labels.substr(0, labels.size() / 2))), Error);
}

// VKSEG_MAX_IMAGE_PIXELS sets the limit (here just below and at the 37x53 = 1961-pixel image).
TEST(ImageIo, PixelLimitComesFromTheEnvironment) {
  const std::string path = image_fixture("rgb_37x53.png");
  std::optional<std::string> outer;  // a limit set around the test, restored at its end
  if (const char* value = std::getenv("VKSEG_MAX_IMAGE_PIXELS")) outer = value;
  ASSERT_EQ(::setenv("VKSEG_MAX_IMAGE_PIXELS", "1960", 1), 0);
  EXPECT_NE(read_error(path).find("53x37 pixels exceed the limit of 1960"), std::string::npos);
  ASSERT_EQ(::setenv("VKSEG_MAX_IMAGE_PIXELS", "1961", 1), 0);
  EXPECT_EQ(read_image(path).width, 53u);
  // Anything but a positive count is refused, never read as "no limit" (-1 as 2^64 - 1).
  for (const char* bad : {"-1", "0", "lots", "99999999999999999999999"}) {
    ASSERT_EQ(::setenv("VKSEG_MAX_IMAGE_PIXELS", bad, 1), 0);
    EXPECT_NE(read_error(path).find("is not a positive number of pixels"), std::string::npos) << bad;
  }
  ASSERT_EQ(::unsetenv("VKSEG_MAX_IMAGE_PIXELS"), 0);
  EXPECT_EQ(max_image_pixels(), k_default_max_image_pixels);
  if (outer) ::setenv("VKSEG_MAX_IMAGE_PIXELS", outer->c_str(), 1);
}

TEST(ImageIo, PaletteLabelsKeepTheirIndices) {
  const LabelImage labels = read_label_png(image_fixture("labels_palette_17x25.png"));
  EXPECT_EQ(labels.width, 25u);
  EXPECT_EQ(labels.height, 17u);
  EXPECT_EQ(labels.labels, npy_bytes("labels_palette_17x25.npy"));
  EXPECT_FALSE(labels.palette.empty());
  EXPECT_EQ(read_label_png(image_fixture("grey_41x29.png")).labels, npy_bytes("grey_41x29.npy"));
  EXPECT_THROW(read_label_png(image_fixture("rgb_37x53.png")), Error);  // colour is not labels
  EXPECT_THROW(read_label_png(image_fixture("rgb_37x53.bmp")), Error);
}

TEST(ImageIo, WritesPalettePngsThatReadBack) {
  const uint32_t width = 13, height = 7;
  std::vector<uint8_t> labels(width * height);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = uint8_t(random_int(0, 20));
  std::vector<std::array<uint8_t, 3>> palette;
  for (uint32_t i = 0; i < 21; ++i) palette.push_back({uint8_t(i * 12), uint8_t(255 - i), uint8_t(i)});
  const std::string path = (temp_dir() / "mask.png").string();
  write_indexed_png(path, width, height, labels.data(), palette);
  const LabelImage back = read_label_png(path);
  EXPECT_EQ(back.labels, labels);
  EXPECT_EQ(back.palette, palette);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  // The same file read as an image shows the palette colours.
  const Image colours = read_image(path);
  for (size_t i = 0; i < labels.size(); ++i) {
    for (int c = 0; c < 3; ++c) ASSERT_EQ(colours.rgb[3 * i + c], palette[labels[i]][c]);
  }
  const std::vector<std::array<uint8_t, 3>> too_many(257);
  EXPECT_THROW(write_indexed_png(path, width, height, labels.data(), too_many), Error);
}

}  // namespace
}  // namespace vkseg::test
