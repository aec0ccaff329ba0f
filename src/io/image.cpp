#include "io/image.hpp"

#include <fmt/format.h>
#include <png.h>
#include <stb/stb_image.h>

#include <algorithm>
#include <limits>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>

#include "io/file_io.hpp"

namespace vkseg::io {

namespace {

void check_size(uint64_t width, uint64_t height) {
  if (width == 0 || height == 0) throw Error("the image has no pixels");
  if (width * height > max_image_pixels()) {
    throw Error(fmt::format("{}x{} pixels exceed the limit of {} (set VKSEG_MAX_IMAGE_PIXELS to "
                            "raise it)", width, height, max_image_pixels()));
  }
}

// stb_image 2.27 (Debian 12's libstb) fills a JPEG Huffman table without checking that the
// table's 16 code counts add up to at most 256 symbols, and writes past the table when they add
// up to more (upstream fixed it in 2.28). Walks the marker segments as stb does and refuses such a
// table before stb sees it.
void check_jpeg_huffman_tables(std::span<const uint8_t> jpeg) {
  const auto byte_at = [&](size_t i) -> uint32_t { return i < jpeg.size() ? jpeg[i] : 0; };
  size_t at = 0;
  while (at + 1 < jpeg.size()) {
    const uint32_t marker = jpeg[at + 1];
    // Entropy-coded bytes, stuffed 0xff00, fill bytes, and the markers without a segment (SOI).
    if (jpeg[at] != 0xff || marker == 0x00 || marker == 0xff || (marker >= 0xd0 && marker <= 0xd9)) {
      ++at;
      continue;
    }
    const size_t segment_end = at + 2 + (byte_at(at + 2) << 8 | byte_at(at + 3));
    // Like stb, read tables while the segment has room for one, even if it then runs past.
    for (size_t table = at + 4; marker == 0xc4 && table < segment_end;) {
      uint32_t symbols = 0;
      for (size_t i = 1; i <= 16; ++i) symbols += byte_at(table + i);
      if (symbols > 256) throw Error("corrupt JPEG: a Huffman table with more than 256 codes");
      table += 17 + symbols;
    }
    at = std::max(segment_end, at + 2);
  }
}

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

// libpng reports errors by longjmp; this keeps the message for the Error thrown afterwards.
struct PngErrors {
  std::string message;
};

void on_png_error(png_structp png, png_const_charp message) {
  static_cast<PngErrors*>(png_get_error_ptr(png))->message = message;
  png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}

void append_bytes(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + length);
}

void flush_nothing(png_structp) {}

// Encodes to memory (so a failure leaves no file), then writes atomically.
void write_png(const std::string& path, uint32_t width, uint32_t height, int color_type,
               const uint8_t* pixels, uint32_t bytes_per_pixel,
               const std::vector<std::array<uint8_t, 3>>* palette) {
  with_path_in_errors(path, [&] {
    check_size(width, height);
    std::vector<uint8_t> encoded;
    PngErrors errors;
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, &errors, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!info) {
      png_destroy_write_struct(&png, nullptr);
      throw Error("cannot create a PNG encoder");
    }
    std::vector<png_color> colors;
    if (palette) {
      for (const auto& c : *palette) colors.push_back({c[0], c[1], c[2]});
    }
    if (setjmp(png_jmpbuf(png))) {
      png_destroy_write_struct(&png, &info);
      throw Error(fmt::format("PNG encoding failed: {}", errors.message));
    }
    png_set_write_fn(png, &encoded, append_bytes, flush_nothing);
    png_set_IHDR(png, info, width, height, 8, color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, colors.data(), int(colors.size()));
    png_write_info(png, info);
    for (uint32_t y = 0; y < height; ++y) {
      png_write_row(png, pixels + size_t(y) * width * bytes_per_pixel);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    write_file_atomically(path, encoded);
  });
}

// stb_image 2.27 copies an IDAT chunk into its data buffer with memcpy, which is still null
// before the first non-empty chunk: an empty first IDAT is undefined behaviour there. Walks the
// chunk headers up to the first image data and refuses that case.
void check_png_chunks(FILE* file) {
  uint8_t chunk[8];
  long at = 8;  // after the signature
  while (std::fseek(file, at, SEEK_SET) == 0 && std::fread(chunk, 1, 8, file) == 8) {
    const uint32_t length = uint32_t(chunk[0]) << 24 | uint32_t(chunk[1]) << 16 |
                            uint32_t(chunk[2]) << 8 | chunk[3];
    if (std::memcmp(chunk + 4, "IDAT", 4) == 0) {
      if (length == 0) throw Error("not a readable PNG: its first IDAT chunk is empty");
      return;
    }
    if (std::memcmp(chunk + 4, "IEND", 4) == 0 || length > 0x7fffffffu) return;
    at += 12 + long(length);  // length, type, data, CRC
  }
}

}  // namespace

uint64_t max_image_pixels() {
  const char* env = std::getenv("VKSEG_MAX_IMAGE_PIXELS");
  if (!env || !*env) return k_default_max_image_pixels;
  // Digits only: strtoull would read "-1" as 2^64 - 1, which would lift the limit.
  const std::string text = env;
  errno = 0;
  const unsigned long long v = text.find_first_not_of("0123456789") == std::string::npos
                                   ? std::strtoull(env, nullptr, 10)
                                   : 0;
  if (v == 0 || errno != 0) {
    throw Error(fmt::format("VKSEG_MAX_IMAGE_PIXELS='{}' is not a positive number of pixels", text));
  }
  return v;
}

Image read_image(const std::string& path) {
  return with_path_in_errors(path, [&] {
    std::unique_ptr<FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) throw Error("cannot open the file");
    // A PNG's size is checked from its IHDR first: stb refuses very large PNGs itself, but with
    // only "unknown image type" to say.
    uint8_t header[26] = {};
    const size_t header_bytes = std::fread(header, 1, sizeof header, file.get());
    if (header_bytes >= 24 && png_sig_cmp(header, 0, 8) == 0 && std::memcmp(header + 12, "IHDR", 4) == 0) {
      auto be32 = [&](int at) {
        return uint32_t(header[at]) << 24 | uint32_t(header[at + 1]) << 16 |
               uint32_t(header[at + 2]) << 8 | header[at + 3];
      };
      check_size(be32(16), be32(20));
      check_png_chunks(file.get());
    }
    if (header[0] == 0xff) check_jpeg_huffman_tables(read_file(path));  // stb: "ff+ d8" is JPEG
    // A BMP's signed 32-bit size is checked before stb, which takes abs(height) (undefined for
    // INT_MIN) and reports a negative width as a huge one. Negative heights (top-down rows) are
    // valid.
    if (header_bytes >= 26 && header[0] == 'B' && header[1] == 'M' &&
        (header[14] | header[15] << 8 | header[16] << 16 | uint32_t(header[17]) << 24) >= 40) {
      auto le32 = [&](int at) {
        return int32_t(uint32_t(header[at]) | uint32_t(header[at + 1]) << 8 |
                       uint32_t(header[at + 2]) << 16 | uint32_t(header[at + 3]) << 24);
      };
      const int32_t width = le32(18), height = le32(22);
      if (width <= 0 || height == 0 || height == std::numeric_limits<int32_t>::min()) {
        throw Error(fmt::format("a BMP of {}x{} pixels is not an image", width, height));
      }
      check_size(uint32_t(width), uint32_t(height < 0 ? -height : height));
    }
    std::rewind(file.get());
    int width = 0, height = 0, channels = 0;
    // The header alone first, so a hostile size is refused before any allocation.
    if (!stbi_info_from_file(file.get(), &width, &height, &channels)) {
      throw Error(fmt::format("not a readable PNG, JPEG or BMP image ({})", stbi_failure_reason()));
    }
    check_size(uint64_t(width), uint64_t(height));
    Image image;
    uint8_t* pixels = stbi_load_from_file(file.get(), &width, &height, &channels, 3);
    if (!pixels) throw Error(fmt::format("cannot decode the image ({})", stbi_failure_reason()));
    image.width = uint32_t(width);
    image.height = uint32_t(height);
    image.source_channels = uint32_t(channels);
    image.rgb.assign(pixels, pixels + size_t(width) * size_t(height) * 3);
    stbi_image_free(pixels);
    return image;
  });
}

LabelImage read_label_png(const std::string& path) {
  return with_path_in_errors(path, [&] {
    std::unique_ptr<FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) throw Error("cannot open the file");
    uint8_t signature[8] = {};
    if (std::fread(signature, 1, 8, file.get()) != 8 || png_sig_cmp(signature, 0, 8) != 0) {
      throw Error("label maps must be PNG files");
    }
    LabelImage result;
    PngErrors errors;
    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, &errors, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!info) {
      png_destroy_read_struct(&png, nullptr, nullptr);
      throw Error("cannot create a PNG decoder");
    }
    std::string problem;
    std::vector<png_bytep> rows;
    if (setjmp(png_jmpbuf(png))) {
      png_destroy_read_struct(&png, &info, nullptr);
      throw Error(fmt::format("bad PNG: {}", errors.message));
    }
    png_init_io(png, file.get());
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    const uint32_t width = png_get_image_width(png, info);
    const uint32_t height = png_get_image_height(png, info);
    const int color_type = png_get_color_type(png, info);
    const int depth = png_get_bit_depth(png, info);
    if (color_type != PNG_COLOR_TYPE_PALETTE && color_type != PNG_COLOR_TYPE_GRAY) {
      problem = "label maps must be single-channel (grey) or palette PNGs";
    } else if (width == 0 || height == 0 || uint64_t(width) * height > max_image_pixels()) {
      problem = fmt::format("{}x{} label pixels are outside the accepted range", width, height);
    }
    if (problem.empty()) {
      if (depth < 8) png_set_packing(png);  // one index per byte, not expanded to colours
      if (depth == 16) png_set_strip_16(png);
      png_read_update_info(png, info);
      if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_colorp colors = nullptr;
        int count = 0;
        if (png_get_PLTE(png, info, &colors, &count)) {
          for (int i = 0; i < count; ++i) {
            result.palette.push_back({colors[i].red, colors[i].green, colors[i].blue});
          }
        }
      }
      result.width = width;
      result.height = height;
      result.labels.resize(size_t(width) * height);
      for (uint32_t y = 0; y < height; ++y) rows.push_back(result.labels.data() + size_t(y) * width);
      png_read_image(png, rows.data());
      png_read_end(png, nullptr);
    }
    png_destroy_read_struct(&png, &info, nullptr);
    if (!problem.empty()) throw Error(problem);
    return result;
  });
}

void write_indexed_png(const std::string& path, uint32_t width, uint32_t height,
                       const uint8_t* labels, const std::vector<std::array<uint8_t, 3>>& palette) {
  if (palette.empty() || palette.size() > 256) {
    throw Error(fmt::format("{}: a PNG palette holds 1 to 256 colours, not {}", path,
                            palette.size()));
  }
  write_png(path, width, height, PNG_COLOR_TYPE_PALETTE, labels, 1, &palette);
}

void write_rgb_png(const std::string& path, uint32_t width, uint32_t height, const uint8_t* rgb) {
  write_png(path, width, height, PNG_COLOR_TYPE_RGB, rgb, 3, nullptr);
}

}  // namespace vkseg::io
