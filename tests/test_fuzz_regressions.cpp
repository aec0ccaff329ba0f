// Inputs the fuzzers (tests/fuzz, scripts/fuzz.sh) found to crash a reader, minimised, so the
// fixes stay fixed: each must now end in a one-line vkseg::Error.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "checkpoint_fixtures.hpp"
#include "graph/model_data.hpp"
#include "harness.hpp"
#include "io/safetensors.hpp"
#include "vkseg/error.hpp"
#include "vkseg/image.hpp"
#include "vkseg/model.hpp"

namespace vkseg::test {
namespace {

using namespace std::string_literals;  // the inputs hold NUL bytes

std::vector<uint8_t> bytes_of(std::string_view text) { return {text.begin(), text.end()}; }

// fuzz_safetensors: nlohmann::json reports a number beyond double's range as out_of_range, not
// parse_error, and it escaped the reader as a foreign exception.
TEST(FuzzRegressions, SafetensorsHeaderNumberOutOfRange) {
  const std::vector<uint8_t> file = bytes_of("\x0a\0\0\0\0\0\0\0" "5001e08800"s);
  EXPECT_NE(error_of([&] { io::parse_safetensors_layout(file); }).find("not valid JSON"),
            std::string::npos);
}

// fuzz_image: a JPEG Huffman table whose code counts add up to 257 made stb_image 2.27 write past
// the table (UBSan: index 257 out of bounds for 'stbi_uc[257]'), in stbi_info already. JPEGs now
// go to libjpeg-turbo, which refuses the table.
TEST(FuzzRegressions, JpegHuffmanTableWithTooManyCodes) {
  ScratchDir dir;
  const std::string path = (dir.path() / "dht.jpg").string();
  write_bytes(path, bytes_of("\xff\xd8\xff\xc4\x00\x13\x00\xff\x02"s + std::string(14, '\0')));
  EXPECT_NE(error_of([&] { read_image(path); }).find("Bogus Huffman table definition"),
            std::string::npos);
  // Fill bytes before SOI made a JPEG to stb; they never reach it.
  write_bytes(path, bytes_of("\xff\xff\xd8\xff\xc4\x00\x13\x00\xff\x02"s + std::string(14, '\0')));
  EXPECT_NE(error_of([&] { read_image(path); }).find("not a readable JPEG"), std::string::npos);
}

// fuzz_image (UBSan): a PNG whose first IDAT chunk is empty made stb_image 2.27 memcpy zero bytes
// into its still-null data buffer ("null pointer passed as argument 1").
TEST(FuzzRegressions, PngWithAnEmptyFirstIdat) {
  ScratchDir dir;
  const std::string path = (dir.path() / "empty_idat.png").string();
  const std::string crc = "\0\0\0\0"s;  // stb does not check CRCs
  write_bytes(path, bytes_of("\x89PNG\r\n\x1a\n"s + "\0\0\0\x0dIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0"s +
                             crc + "\0\0\0\0IDAT"s + crc + "\0\0\0\0IEND"s + crc));
  EXPECT_NE(error_of([&] { read_image(path); }).find("first IDAT chunk is empty"),
            std::string::npos);
}

// fuzz_image (out of memory under -malloc_limit_mb=512): stb_image 2.27 grows its image-data
// buffer to an IDAT chunk's declared length before reading it, here 1 GiB from a 50-byte file.
TEST(FuzzRegressions, PngChunkLongerThanTheFile) {
  const std::string path = (temp_dir() / "long_idat.png").string();
  const std::string crc = "\0\0\0\0"s;
  write_bytes(path, bytes_of("\x89PNG\r\n\x1a\n"s + "\0\0\0\x0dIHDR\0\0\0\x19\0\0\0\x11\x08\x02\0\0\0"s +
                             crc + "\x40\0\0\0IDAT"s + "\x78\x9c\x01\0\0"s + crc));
  EXPECT_NE(error_of([&] { read_image(path); })
                .find("the PNG is truncated: its IDAT chunk at byte 33 holds 1073741824 bytes"),
            std::string::npos);
}

// fuzz_image (UBSan): entropy-coded data that stb_image 2.27 decoded into a symbol index of -66,
// read from outside its Huffman table. JPEGs now go to libjpeg-turbo; under the sanitizers
// (scripts/sanitize.sh) this must decode or be refused without a report.
TEST(FuzzRegressions, JpegEntropyDataBeyondTheHuffmanTable) {
  const std::string path =
      std::string(VKSEG_FUZZ_REGRESSIONS) + "/jpeg_entropy_data_beyond_huffman_table.jpg";
  try {
    const Image image = read_image(path);
    EXPECT_EQ(image.rgb.size(), size_t(image.width) * image.height * 3);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a readable JPEG"), std::string::npos) << e.what();
  }
}

// fuzz_image (UBSan): a PNM header with a 60-digit width overflowed int in stb_image 2.27's PNM
// parser. stb is now compiled with PNG and BMP only, so other formats are refused unread.
TEST(FuzzRegressions, PnmHeaderWithAHugeWidth) {
  ScratchDir dir;
  const std::string path = (dir.path() / "huge.ppm").string();
  write_bytes(path, bytes_of("P6\r" + std::string(60, '5') + " 1\n255\n"s));
  EXPECT_NE(error_of([&] { read_image(path); }).find("not a readable PNG, JPEG or BMP image"),
            std::string::npos);
}

// fuzz_model (UBSan, float-cast-overflow): a class colour of 1e20 was converted to int before the
// 0..255 check, and 4294967297 wrapped around to 1 and was accepted.
TEST(FuzzRegressions, ModelClassColourBeyondInt) {
  ScratchDir dir;
  const std::string path = (dir.path() / "colour.vkseg").string();
  detail::ModelData model;  // one 1x1 convolution, 3 channels to 2 classes
  model.arch = "test";
  model.graph.input = "image";
  model.graph.nodes = {graph::make_node("score", "conv2d", {"image"}, {},
                                       {{"weight", "score.weight"}})};
  model.graph.outputs = {"score"};
  model.weights["score.weight"] = {{2, 3, 1, 1}, std::vector<float>(6, 0.5f)};
  model.classes = detail::default_classes(2);
  for (const char* red : {"1e20", "4294967297"}) {
    detail::save_model(model, path);
    io::SafetensorsFile file = io::read_safetensors(path);
    file.metadata["classes"] = fmt::format(
        R"([{{"name":"a","color":[{},0,0]}},{{"name":"b","color":[0,0,0]}}])", red);
    io::write_safetensors(path, file.tensors, file.metadata);
    EXPECT_NE(error_of([&] { Model::load(path); }).find("class colour values must be 0..255"),
              std::string::npos)
        << red;
  }
}

}  // namespace
}  // namespace vkseg::test
