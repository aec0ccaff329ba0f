// safetensors writer/reader round trips, the reader's validation of hostile headers, and the
// float16 conversions both rely on.
#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <random>

#include "checkpoint_fixtures.hpp"
#include "io/checkpoint.hpp"
#include "io/half.hpp"
#include "io/safetensors.hpp"
#include "vkseg/error.hpp"

namespace vkseg::test {
namespace {

std::vector<uint8_t> float_bytes(const std::vector<float>& values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

// A file with `header` as its JSON text and `buffer_bytes` zero bytes of data.
std::vector<uint8_t> safetensors_bytes(const std::string& header, size_t buffer_bytes,
                                       uint64_t header_length_field = UINT64_MAX) {
  const uint64_t length = header_length_field == UINT64_MAX ? header.size() : header_length_field;
  std::vector<uint8_t> file(8 + header.size() + buffer_bytes, 0);
  std::memcpy(file.data(), &length, 8);
  std::memcpy(file.data() + 8, header.data(), header.size());
  return file;
}

std::string layout_error(const std::vector<uint8_t>& file) {
  try {
    io::parse_safetensors_layout(file);
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    return e.what();
  }
  ADD_FAILURE() << "file was accepted";
  return {};
}

#define EXPECT_LAYOUT_ERROR(file, fragment) \
  EXPECT_NE(layout_error(file).find(fragment), std::string::npos) << layout_error(file)

TEST(Safetensors, RoundTripWithMetadataAndHalf) {
  ScratchDir scratch;
  const std::string path = (scratch.path() / "out.safetensors").string();
  const std::vector<float> weights{1.5f, -2.25f, 3.0f, 0.1f, 1e-3f, -7.0f};
  std::vector<float> half_source{0.1f, 65504.0f, 6e-8f, -1.0f / 3.0f};
  std::vector<uint8_t> half_bytes;
  for (float v : half_source) {
    const uint16_t h = io::float_to_half(v);
    half_bytes.push_back(uint8_t(h));
    half_bytes.push_back(uint8_t(h >> 8));
  }
  const std::vector<io::SafetensorsTensor> tensors{
      {"conv.weight", "F32", {2, 3}, float_bytes(weights)},
      {"conv.bias", "F16", {4}, half_bytes},
      {"scalar", "F32", {}, float_bytes({42.0f})},
      {"empty", "F16", {0, 5}, {}},
  };
  const std::map<std::string, std::string> metadata{{"format", "pt"}, {"model", "fcn8s"}};
  io::write_safetensors(path, tensors, metadata);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  const std::vector<uint8_t> file = read_bytes(path);
  uint64_t header_length;
  std::memcpy(&header_length, file.data(), 8);
  EXPECT_EQ(header_length % 8, 0u);

  const io::SafetensorsFile read = io::read_safetensors(path);
  EXPECT_EQ(read.metadata, metadata);
  ASSERT_EQ(read.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(read.tensors[i].name, tensors[i].name);
    EXPECT_EQ(read.tensors[i].dtype, tensors[i].dtype);
    EXPECT_EQ(read.tensors[i].shape, tensors[i].shape);
    EXPECT_EQ(read.tensors[i].data, tensors[i].data);
  }

  const io::Checkpoint checkpoint = io::read_checkpoint(path);
  EXPECT_EQ(checkpoint.format, "safetensors");
  EXPECT_EQ(checkpoint.metadata, metadata);
  ASSERT_EQ(checkpoint.tensors.size(), 4u);
  EXPECT_EQ(checkpoint.tensors[0].values, weights);
  EXPECT_EQ(checkpoint.tensors[1].source_dtype, "float16");
  for (size_t i = 0; i < half_source.size(); ++i) {
    EXPECT_EQ(checkpoint.tensors[1].values[i],
              io::half_to_float(io::float_to_half(half_source[i])));
  }
  EXPECT_EQ(checkpoint.tensors[2].values, std::vector<float>{42.0f});
  EXPECT_TRUE(checkpoint.tensors[3].values.empty());
}

TEST(Safetensors, WriterRefusesBadInputAndLeavesNoFile) {
  ScratchDir scratch;
  const std::string path = (scratch.path() / "bad.safetensors").string();
  const auto expect_refused = [&](const std::vector<io::SafetensorsTensor>& tensors,
                                  const std::string& fragment) {
    try {
      io::write_safetensors(path, tensors, {});
      ADD_FAILURE() << "written: " << fragment;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  };
  expect_refused({{"a", "BF16", {1}, {0, 0}}}, "only F32 and F16");
  expect_refused({{"a", "F32", {2}, float_bytes({1.0f})}}, "needs 8 bytes but 4");
  expect_refused({{"a", "F32", {1}, float_bytes({1.0f})}, {"a", "F32", {1}, float_bytes({1.0f})}},
                 "repeated");
  expect_refused({{"__metadata__", "F32", {1}, float_bytes({1.0f})}}, "reserved");
  expect_refused({{"a", "F32", {-1}, {}}}, "negative dimension");

  const std::string unwritable = (scratch.path() / "no_such_dir" / "x.safetensors").string();
  EXPECT_THROW(io::write_safetensors(unwritable, {{"a", "F32", {1}, float_bytes({1.0f})}}, {}),
               Error);
  EXPECT_FALSE(std::filesystem::exists(unwritable));
}

TEST(Safetensors, ReaderRejectsInconsistentHeaders) {
  const auto entry = [](const std::string& name, const std::string& dtype, const std::string& shape,
                        int begin, int end) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
           ",\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(end) + "]}";
  };
  const std::string a = entry("a", "F32", "[2]", 0, 8);
  // Accepted baseline, then one defect at a time.
  EXPECT_NO_THROW(io::parse_safetensors_layout(safetensors_bytes("{" + a + "}", 8)));
  EXPECT_LAYOUT_ERROR(safetensors_bytes("{" + a + "," + entry("b", "F32", "[2]", 4, 12) + "}", 12),
                      "overlaps");
  EXPECT_LAYOUT_ERROR(safetensors_bytes("{" + entry("a", "F32", "[4]", 0, 16) + "}", 8),
                      "outside the 8-byte buffer");
  EXPECT_LAYOUT_ERROR(safetensors_bytes("{" + entry("a", "F32", "[3]", 0, 8) + "}", 8),
                      "shape needs 12 bytes but data_offsets span 8");
  EXPECT_LAYOUT_ERROR(safetensors_bytes("{" + a + "}", 8, 4096), "runs past the end");
  EXPECT_LAYOUT_ERROR(safetensors_bytes("{" + a + "}", 8, 200'000'000), "exceeds");
  EXPECT_LAYOUT_ERROR(safetensors_bytes("{" + entry("a", "F32", "[2]", 4, 12) + "}", 12),
                      "unused bytes");
  EXPECT_LAYOUT_ERROR(safetensors_bytes("{" + a + "}", 9), "1 bytes after the last tensor");
  EXPECT_LAYOUT_ERROR(safetensors_bytes("{" + a + "," + a + "}", 8), "names 'a' twice");
  EXPECT_LAYOUT_ERROR(safetensors_bytes("{" + entry("a", "Q7", "[2]", 0, 8) + "}", 8),
                      "unknown dtype");
  EXPECT_LAYOUT_ERROR(safetensors_bytes("{" + entry("a", "F32", "[-2]", 0, 8) + "}", 8),
                      "not a dimension");
  EXPECT_LAYOUT_ERROR(
      safetensors_bytes("{" + entry("a", "F32", "[4294967296,4294967296,4294967296]", 0, 8) + "}",
                        8),
      "shape too large");
  EXPECT_LAYOUT_ERROR(safetensors_bytes("{" + entry("a", "F32", "[2]", 8, 0) + "}", 8), "reversed");
  EXPECT_LAYOUT_ERROR(safetensors_bytes("{\"__metadata__\":{\"k\":1}}", 0), "not a string");
  EXPECT_LAYOUT_ERROR(safetensors_bytes("[1,2]", 0), "not a JSON object");
  EXPECT_LAYOUT_ERROR(safetensors_bytes("{\"a\":", 0), "not valid JSON");
  // Refused before parsing (see HostileInput.DeepNestingIsRefusedBeforeParsing).
  EXPECT_LAYOUT_ERROR(
      safetensors_bytes("{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}", 0),
      "header nests arrays and objects deeper than 64 levels");
  EXPECT_LAYOUT_ERROR(safetensors_bytes("{\"a\":{\"dtype\":\"F32\"}}", 0),
                      "needs dtype, shape and data_offsets");
  EXPECT_LAYOUT_ERROR(std::vector<uint8_t>(5, 0), "too short");
}

TEST(Safetensors, HalfConversionRoundTripsEveryHalf) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const uint16_t h = uint16_t(bits);
    const bool nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
    const float f = io::half_to_float(h);
    if (nan) {
      EXPECT_TRUE(std::isnan(f));
      EXPECT_TRUE(std::isnan(io::half_to_float(io::float_to_half(f))));
    } else {
      ASSERT_EQ(io::float_to_half(f), h) << std::hex << bits;
    }
  }
}

TEST(Safetensors, FloatToHalfRoundsToNearestEven) {
  EXPECT_EQ(io::float_to_half(65504.0f), 0x7bff);
  EXPECT_EQ(io::float_to_half(65519.99f), 0x7bff);
  EXPECT_EQ(io::float_to_half(65520.0f), 0x7c00);
  EXPECT_EQ(io::float_to_half(1.0f + 0x1p-11f), 0x3c00);      // tie -> even
  EXPECT_EQ(io::float_to_half(1.0f + 3 * 0x1p-11f), 0x3c02);  // tie -> even (up)
  EXPECT_EQ(io::float_to_half(0x1p-25f), 0x0000);             // tie between 0 and 2^-24
  EXPECT_EQ(io::float_to_half(0x1.8p-25f), 0x0001);
  EXPECT_EQ(io::float_to_half(-0.0f), 0x8000);
  EXPECT_EQ(io::float_to_half(0x1.ffcp-15f), 0x0400);  // subnormal rounds up to normal
#if defined(__FLT16_MAX__)
  // The compiler's own conversion is an independent reference.
  std::mt19937 rng(7);
  for (int i = 0; i < 2'000'000; ++i) {
    const float f = std::bit_cast<float>(uint32_t(rng()));
    if (std::isnan(f)) continue;
    ASSERT_EQ(io::float_to_half(f), std::bit_cast<uint16_t>(static_cast<_Float16>(f))) << f;
  }
#endif
}

}  // namespace
}  // namespace vkseg::test
