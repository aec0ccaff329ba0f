#include "vkseg/image.hpp"

#include <fmt/format.h>
#include <png.h>
#include <stb/stb_image.h>
#include <sys/stat.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>  // before jpeglib.h, which needs FILE and size_t
#include <jpeglib.h>
#include <jerror.h>  // after jpeglib.h, whose types it needs
#include <limits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>

#include "io/file_io.hpp"
#include "vkseg/text.hpp"

namespace vkseg {

namespace {

void check_size(uint64_t width, uint64_t height) {
  if (width == 0 || height == 0) throw Error("the image has no pixels");
  uint64_t pixels;
  if (__builtin_mul_overflow(width, height, &pixels) || pixels > max_image_pixels()) {
    throw Error(fmt::format("{}x{} pixels exceed the limit of {} (set VKSEG_MAX_IMAGE_PIXELS to "
                            "raise it)", width, height, max_image_pixels()));
  }
}

// JPEGs are decoded by libjpeg-turbo, not stb_image: Debian 12's stb_image 2.27 writes past a
// Huffman table whose code counts add up to more than 256, and reads outside its tables on
// crafted entropy-coded data (both found by fuzz_image; fixed upstream in 2.28 and later).
// libjpeg reports errors by longjmp; the message is kept for the Error thrown afterwards.
struct JpegErrors {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void on_jpeg_error(j_common_ptr jpeg) {
  auto* errors = reinterpret_cast<JpegErrors*>(jpeg->err);
  (*jpeg->err->format_message)(jpeg, errors->message);
  std::longjmp(errors->jump, 1);
}

// libjpeg only warns where data is missing or corrupt, and decodes on (grey where data ended):
// those warnings are errors here. Others (extraneous bytes, an unknown JFIF revision) are not.
void on_jpeg_message(j_common_ptr jpeg, int level) {
  if (level >= 0) return;  // trace messages
  switch (jpeg->err->msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_MUST_RESYNC:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE: on_jpeg_error(jpeg);
    default: return;
  }
}

// Decodes into `image` (outside this function, so that it is not a local variable that the
// longjmp leaves indeterminate); returns libjpeg's message on failure, empty on success. Sizes
// past the limit are refused from the header, before any pixel memory is allocated.
std::string decode_jpeg(const std::vector<uint8_t>& bytes, Image& image) {
  jpeg_decompress_struct jpeg{};
  JpegErrors errors{};
  jpeg.err = jpeg_std_error(&errors.manager);
  errors.manager.error_exit = on_jpeg_error;
  errors.manager.emit_message = on_jpeg_message;
  if (setjmp(errors.jump)) {
    jpeg_destroy_decompress(&jpeg);
    return errors.message;
  }
  jpeg_create_decompress(&jpeg);
  jpeg_mem_src(&jpeg, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&jpeg, TRUE);
  const uint32_t width = jpeg.image_width, height = jpeg.image_height;
  const int components = jpeg.num_components;
  if (uint64_t(width) * height > max_image_pixels() || components == 4) {
    jpeg_destroy_decompress(&jpeg);
    if (components == 4) return "CMYK and YCCK JPEGs are not supported";
    check_size(width, height);  // throws the size error
  }
  jpeg.out_color_space = JCS_RGB;
  jpeg_start_decompress(&jpeg);
  image.width = width;
  image.height = height;
  image.source_channels = uint32_t(components);
  image.rgb.resize(size_t(width) * height * 3);
  while (jpeg.output_scanline < height) {
    JSAMPROW row = image.rgb.data() + size_t(jpeg.output_scanline) * width * 3;
    jpeg_read_scanlines(&jpeg, &row, 1);
  }
  jpeg_finish_decompress(&jpeg);
  jpeg_destroy_decompress(&jpeg);
  return {};
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
  io::with_path_in_errors(path, [&] {
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
    io::write_file_atomically(path, encoded);
  });
}

// stb_image 2.27 trusts a PNG's chunk lengths: it grows its image-data buffer to an IDAT chunk's
// length before reading the chunk (2 GiB from a few bytes of file: fuzz_image, under a memory
// limit), and copies an empty first IDAT from a still-null buffer (undefined behaviour). Walks
// every chunk header and refuses a chunk that runs past the end of the file, an empty first
// IDAT, and a file that ends before its IEND chunk.
void check_png_chunks(FILE* file, uint64_t file_bytes) {
  uint8_t chunk[8];
  bool seen_data = false;
  for (uint64_t at = 8;;) {  // after the signature
    if (file_bytes - at < 12 || std::fseek(file, long(at), SEEK_SET) != 0 ||
        std::fread(chunk, 1, 8, file) != 8) {
      throw Error("the PNG is truncated: it ends before its IEND chunk");
    }
    const uint32_t length = uint32_t(chunk[0]) << 24 | uint32_t(chunk[1]) << 16 |
                            uint32_t(chunk[2]) << 8 | chunk[3];
    const std::string_view type(reinterpret_cast<const char*>(chunk + 4), 4);
    if (length > file_bytes - at - 12) {  // length, type, data, CRC
      throw Error(fmt::format("the PNG is truncated: its {} chunk at byte {} holds {} bytes, "
                              "past the end of the {}-byte file",
                              printable(type), at, length, file_bytes));
    }
    if (type == "IDAT") {
      if (!seen_data && length == 0) {
        throw Error("not a readable PNG: its first IDAT chunk is empty");
      }
      seen_data = true;
    }
    if (type == "IEND") return;
    at += 12 + uint64_t(length);
  }
}

// A BMP's header, checked before stb sees it. Its width and height are signed: a negative height
// means top-down rows (valid and common; INT_MIN has no magnitude), a negative width is nothing
// (stb would report it as huge). And stb reads pixel data missing from a short file as zeros,
// so the file must hold every row the header promises.
void check_bmp(const uint8_t* header, uint64_t file_bytes) {
  const auto le16 = [&](int at) { return uint32_t(header[at]) | uint32_t(header[at + 1]) << 8; };
  const auto le32 = [&](int at) { return le16(at) | le16(at + 2) << 16; };
  int64_t width, height;
  uint32_t bits, compression = 0;
  if (le32(14) == 12) {  // OS/2 BITMAPCOREHEADER: unsigned 16-bit sizes
    width = le16(18), height = le16(20), bits = le16(24);
  } else if (le32(14) >= 40) {  // BITMAPINFOHEADER and its successors
    width = int32_t(le32(18)), height = int32_t(le32(22)), bits = le16(28);
    compression = le32(30);
  } else {
    return;  // stb refuses it
  }
  if (width <= 0 || height == 0 || height == std::numeric_limits<int32_t>::min()) {
    throw Error(fmt::format("a BMP of {}x{} pixels is not an image", width, height));
  }
  const uint64_t rows = uint64_t(height < 0 ? -height : height);
  check_size(uint64_t(width), rows);
  // Rows of uncompressed and bit-field pixels are padded to 4 bytes. Other encodings (RLE,
  // embedded JPEG or PNG) and bit depths are refused by stb.
  const bool supported_bits = bits == 1 || bits == 4 || bits == 8 || bits == 16 || bits == 24 ||
                              bits == 32;
  if ((compression != 0 && compression != 3) || !supported_bits) return;
  const uint64_t row_bytes = (uint64_t(width) * bits + 31) / 32 * 4;
  uint64_t end;
  const bool overflow = __builtin_mul_overflow(row_bytes, rows, &end) ||
                        __builtin_add_overflow(end, uint64_t(le32(10)), &end);
  if (overflow || end > file_bytes) {
    throw Error(fmt::format("the BMP is truncated: its {}x{} pixels of {} bits end at byte {}, "
                            "the file has {}",
                            width, rows, bits, overflow ? "2^64 or later" : std::to_string(end),
                            file_bytes));
  }
}

}  // namespace

uint64_t max_image_pixels() {
  const char* env = std::getenv("VKSEG_MAX_IMAGE_PIXELS");
  if (!env || !*env) return k_default_max_image_pixels;
  // Digits only: strtoull would read "-1" as 2^64 - 1, which would lift the limit.
  const std::optional<uint64_t> v = parse_decimal<uint64_t>(env);
  if (!v || *v == 0) {
    throw Error(fmt::format("VKSEG_MAX_IMAGE_PIXELS='{}' is not a positive number of pixels", env));
  }
  return *v;
}

Image read_image(const std::string& path) {
  return io::with_path_in_errors(path, [&] {
    std::unique_ptr<FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) throw Error("cannot open the file");
    // A PNG's size is checked from its IHDR first: stb refuses very large PNGs itself, but with
    // only "unknown image type" to say.
    struct stat file_status;
    if (::fstat(fileno(file.get()), &file_status) != 0) throw Error("cannot get the file size");
    const uint64_t file_bytes = uint64_t(file_status.st_size);
    uint8_t header[34] = {};  // a BMP's info header up to its compression field
    const size_t header_bytes = std::fread(header, 1, sizeof header, file.get());
    if (header_bytes >= 24 && png_sig_cmp(header, 0, 8) == 0 && std::memcmp(header + 12, "IHDR", 4) == 0) {
      auto be32 = [&](int at) {
        return uint32_t(header[at]) << 24 | uint32_t(header[at + 1]) << 16 |
               uint32_t(header[at + 2]) << 8 | header[at + 3];
      };
      check_size(be32(16), be32(20));
      check_png_chunks(file.get(), file_bytes);
    }
    // Whatever starts with 0xff goes to libjpeg: stb would take "ff+ d8" (fill bytes) as JPEG.
    if (header_bytes >= 1 && header[0] == 0xff) {
      Image image;
      const std::string failure = decode_jpeg(io::read_file(path), image);
      if (!failure.empty()) throw Error(fmt::format("not a readable JPEG ({})", printable(failure)));
      return image;
    }
    if (header_bytes == sizeof header && header[0] == 'B' && header[1] == 'M') {
      check_bmp(header, file_bytes);
    }
    std::rewind(file.get());
    int width = 0, height = 0, channels = 0;
    // The header alone first, so a hostile size is refused before any allocation.
    if (!stbi_info_from_file(file.get(), &width, &height, &channels)) {
      throw Error(fmt::format("not a readable PNG, JPEG or BMP image ({})", stbi_failure_reason()));
    }
    // stbi_info gives a top-down BMP's height as negative (stbi_load makes it positive).
    check_size(uint64_t(std::max(width, 0)), uint64_t(std::abs(int64_t(height))));
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
  return io::with_path_in_errors(path, [&] {
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
      throw Error(fmt::format("bad PNG: {}", printable(errors.message)));
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

}  // namespace vkseg
