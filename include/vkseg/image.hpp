#pragma once
// Images in and out: PNG, JPEG and BMP in (8- and 16-bit, grey, grey+alpha, RGB, RGBA, all made
// 8-bit RGB), label maps as 8-bit PNG (palette indices or grey values), and PNG out (indexed with
// a palette, or RGB), written through a temporary file created exclusively, then renamed.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace vkseg {

// Images larger than this many pixels are refused before any pixel memory is allocated.
// VKSEG_MAX_IMAGE_PIXELS overrides it.
constexpr uint64_t k_default_max_image_pixels = 64ull << 20;
uint64_t max_image_pixels();

struct Image {
  uint32_t width = 0, height = 0;
  uint32_t source_channels = 0;  // 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA (alpha is dropped)
  std::vector<uint8_t> rgb;      // height x width x 3
};

// Throws Error "<path>: <problem>" (not an image, truncated, zero-sized, too large).
Image read_image(const std::string& path);

struct LabelImage {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> labels;  // height x width
  std::vector<std::array<uint8_t, 3>> palette;  // empty for grey label images
};

// Reads a single-channel or palette PNG without converting palette indices to colours.
LabelImage read_label_png(const std::string& path);

void write_indexed_png(const std::string& path, uint32_t width, uint32_t height,
                       const uint8_t* labels, const std::vector<std::array<uint8_t, 3>>& palette);
void write_rgb_png(const std::string& path, uint32_t width, uint32_t height, const uint8_t* rgb);

}  // namespace vkseg
