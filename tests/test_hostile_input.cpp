// Classes of hostile or unusual input (issue 11) that once crashed, exhausted memory, lost data
// or were misread: each must now be read correctly or refused with a one-line vkseg::Error.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "checkpoint_fixtures.hpp"
#include "harness.hpp"
#include "io/checkpoint.hpp"
#include "io/file_io.hpp"
#include "io/json.hpp"
#include "io/pickle.hpp"
#include "io/safetensors.hpp"
#include "vkseg/error.hpp"
#include "vkseg/npy.hpp"
#include "vkseg/text.hpp"

namespace vkseg::test {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;  // the inputs hold NUL bytes

std::vector<uint8_t> bytes_of(std::string_view text) { return {text.begin(), text.end()}; }

#define EXPECT_ERROR(body, fragment) \
  EXPECT_NE(error_of([&] { body; }).find(fragment), std::string::npos) << error_of([&] { body; })

// A safetensors file: the header as given (JSON text), then `data_bytes` zero bytes.
std::vector<uint8_t> safetensors_file(const std::string& header, size_t data_bytes = 0) {
  std::vector<uint8_t> file(8 + header.size() + data_bytes, 0);
  const uint64_t length = header.size();
  std::memcpy(file.data(), &length, 8);
  std::memcpy(file.data() + 8, header.data(), header.size());
  return file;
}

std::string write_temp(const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string path = (temp_dir() / name).string();
  write_bytes(path, bytes);
  return path;
}

// --- 1: nesting is bounded before anything recursive touches it

// The input that crashed: a header value nested a million deep, then more keys. nlohmann::json
// parses it without recursion, but the ordered object copies its members (recursively) when it
// grows for the next key.
TEST(HostileInput, DeepNestingIsRefusedBeforeParsing) {
  const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  EXPECT_ERROR(io::parse_safetensors_layout(
                   safetensors_file("{\"a\":" + deep + ",\"b\":1,\"c\":2,\"d\":3}")),
               "header nests arrays and objects deeper than 64 levels");
  EXPECT_ERROR(io::parse_safetensors_layout(safetensors_file(
                   "{\"__metadata__\":{\"k\":" + std::string(100, '{') + "}}")),
               "header nests arrays and objects deeper than 64 levels");
  // A pickle nested a million deep (TUPLE1 of TUPLE1 of ...) stops at the unpickler's bound.
  size_t position = 0;
  EXPECT_ERROR(io::unpickle(bytes_of("\x80\x02N" + std::string(1'000'000, '\x85') + "."), position),
               "pickle nested deeper than 100");
}

TEST(JsonNesting, CountsBracketsOutsideStringsOnly) {
  const auto nested = [](int levels) {
    return std::string(size_t(levels), '[') + std::string(size_t(levels), ']');
  };
  EXPECT_EQ(io::parse_json(nested(64), "test").dump(), nested(64));
  EXPECT_ERROR(io::parse_json(nested(65), "test"), "test nests arrays and objects deeper than 64");
  EXPECT_ERROR(io::parse_json("[" + nested(64) + "]", "test"), "deeper than 64");
  // Brackets in strings, escaped quotes included, are text.
  const std::string in_string = "[\"\\\"" + std::string(100, '[') + "\"]";
  EXPECT_EQ(io::parse_json(in_string, "test")[0].get<std::string>(), "\"" + std::string(100, '['));
  EXPECT_EQ(io::parse_ordered_json("{\"a\\\\\":" + nested(60) + "}", "test").size(), 1u);
  // Parse errors, numbers beyond double and repeated keys at any depth are Errors.
  EXPECT_ERROR(io::parse_json("[1,", "test"), "test is not valid JSON (error at byte 4)");
  EXPECT_ERROR(io::parse_json("[1e400]", "test"), "a number out of range");
  EXPECT_ERROR(io::parse_json(R"({"a":{"x":1,"y":{},"x":2}})", "test"), "names 'x' twice");
  EXPECT_EQ(io::parse_json(R"({"x":{"x":1},"y":{"x":2}})", "test")["y"]["x"], 2);
}

// --- 5: outputs go through a temporary file created exclusively, never through a planted link

std::string contents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(HostileInput, TemporaryFilesNeverFollowSymlinks) {
  const fs::path dir = temp_dir();
  const fs::path victim = dir / "victim";
  std::ofstream(victim) << "precious";
  // The fixed name every writer used, and names a writer with a guessable scheme might use.
  const std::string output = (dir / "o.npy").string();
  for (const std::string& planted : {output + ".tmp", output + ".0.tmp", output + ".1.tmp"}) {
    fs::create_symlink(victim, planted);
  }
  const std::vector<float> values{1.0f, 2.0f, 3.0f};
  write_npy(output, {3}, values.data());
  EXPECT_EQ(contents(victim), "precious");
  EXPECT_EQ(read_npy(output).values, values);
  EXPECT_TRUE(fs::is_symlink(output + ".tmp"));  // left alone, not replaced or removed
  // Whatever name is chosen, a link planted there is refused, dangling or not.
  const fs::path absent = dir / "absent";
  fs::create_symlink(absent, dir / "dangling");
  for (const fs::path& name : {dir / "o.npy.tmp", dir / "dangling"}) {
    EXPECT_ERROR(io::create_new_file(name.string()), "File exists");
  }
  EXPECT_EQ(contents(victim), "precious");
  EXPECT_FALSE(fs::exists(absent));
  // An output that is itself a link is replaced by the new file; its target is not written.
  const std::string linked = (dir / "linked.npy").string();
  fs::create_symlink(victim, linked);
  write_npy(linked, {3}, values.data());
  EXPECT_FALSE(fs::is_symlink(linked));
  EXPECT_EQ(contents(victim), "precious");
  // A failed rename (onto a directory) leaves no temporary file behind.
  fs::create_directory(dir / "taken.npy");
  EXPECT_ERROR(write_npy((dir / "taken.npy").string(), {3}, values.data()), "cannot rename");
  size_t temporary_files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    temporary_files += entry.path().extension() == ".tmp" && !fs::is_symlink(entry.symlink_status());
  }
  EXPECT_EQ(temporary_files, 0u);
}

// --- 11: terminal control characters from files are escaped in messages

TEST(Printable, EscapesWhatATerminalWouldActOnAndKeepsPrintableUtf8) {
  EXPECT_EQ(printable("conv1.weight"), "conv1.weight");
  EXPECT_EQ(printable("Stra\xc3\x9f" "e \xe6\x97\xa5\xf0\x9f\x98\x80"), "Stra\xc3\x9f" "e \xe6\x97\xa5\xf0\x9f\x98\x80");
  EXPECT_EQ(printable("\x1b[2J\x1b]0;t\x07\n\r\t"), "\\x1b[2J\\x1b]0;t\\x07\\n\\r\\t");
  EXPECT_EQ(printable("a\\x1b"), "a\\\\x1b");  // a literal backslash cannot pose as an escape
  EXPECT_EQ(printable("\x7f"s + "\0"s), "\\x7f\\x00");
  EXPECT_EQ(printable("\xc2\x9b" "31m"), "\\u009b31m");           // C1 CSI
  EXPECT_EQ(printable("\xe2\x80\xae" "txt"), "\\u202etxt");       // right-to-left override
  EXPECT_EQ(printable("\xe2\x80\xa8"), "\\u2028");               // line separator
  EXPECT_EQ(printable("\xff\xc3"), "\\xff\\xc3");                 // not UTF-8, cut sequence
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");                 // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");        // a UTF-16 surrogate
  EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
  EXPECT_EQ(printable(std::string(300, 'n')), std::string(200, 'n') + "...");
  EXPECT_EQ(printable("abcdef", 3), "abc...");
}

TEST(HostileInput, TerminalControlCharactersInNamesAreEscaped) {
  // A tensor name with a screen-clearing escape and a newline (JSON \u escapes in the header).
  const std::string evil_json = R"(evil\u001b[2J\nname)";
  const std::string evil_shown = "evil\\x1b[2J\\nname";
  const std::string entry = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  EXPECT_ERROR(io::parse_safetensors_layout(safetensors_file(
                   "{\"" + evil_json + "\":" + entry + ",\"" + evil_json + "\":" + entry + "}", 4)),
               "header names '" + evil_shown + "' twice");
  EXPECT_ERROR(io::parse_safetensors_layout(safetensors_file(
                   "{\"" + evil_json + "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                   8)),
               "4 unused bytes before tensor '" + evil_shown + "'");
  // The same name in a checkpoint, refused for its dtype after the layout accepted it.
  const std::string u64_entry = R"({"dtype":"U64","shape":[1],"data_offsets":[0,8]})";
  const std::string path =
      write_temp("evil.safetensors", safetensors_file("{\"" + evil_json + "\":" + u64_entry + "}", 8));
  EXPECT_ERROR(io::read_checkpoint(path), "tensor '" + evil_shown + "': dtype U64 cannot be converted");
  // A pickle global named with control characters (STACK_GLOBAL takes any two strings).
  const std::string pickle = "\x80\x04\x8c\x02os\x8c\x0bsystem\x1b[2J\n\x93."s;
  size_t position = 0;
  EXPECT_ERROR(io::unpickle(bytes_of(pickle), position),
               "forbidden pickle global 'os.system\\x1b[2J\\n'");
}

}  // namespace
}  // namespace vkseg::test
