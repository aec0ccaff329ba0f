// read_checkpoint against the fixtures from make_checkpoint_fixtures.py: every format and
// wrapper gives the tensors PyTorch reports; hostile, truncated and corrupted files are refused
// with a one-line vkseg::Error.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <random>

#include "checkpoint_fixtures.hpp"
#include "io/checkpoint.hpp"
#include "vkseg/error.hpp"

namespace vkseg::test {
namespace {

using nlohmann::json;

json load_expected() {
  const std::filesystem::path dir = checkpoint_fixture_dir();
  if (dir.empty()) return json::object();
  return json::parse(read_bytes(dir / "expected.json"));
}

// Every fixture file named in expected.json, readable and refused alike.
std::vector<std::filesystem::path> all_fixture_files() {
  const json expected = load_expected();
  std::vector<std::filesystem::path> files;
  for (const char* group : {"checkpoints", "refused"}) {
    for (const json& entry : expected.value(group, json::array())) {
      files.push_back(checkpoint_fixture_dir() / entry["file"].get<std::string>());
    }
  }
  return files;
}

// The message of the vkseg::Error that reading `path` throws; a failure if it does not throw
// one, or if the message is not one line naming the file.
std::string refusal(const std::filesystem::path& path) {
  try {
    io::read_checkpoint(path.string());
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_EQ(message.rfind(path.string() + ": ", 0), 0u) << message;
    return message;
  }
  ADD_FAILURE() << path << " was read without an error";
  return {};
}

TEST(Checkpoint, ReadsEveryFixtureExactly) {
  const json expected = load_expected();
  ASSERT_FALSE(expected.value("checkpoints", json::array()).empty());
  for (const json& fixture : expected["checkpoints"]) {
    const std::string file = fixture["file"];
    SCOPED_TRACE(file);
    const io::Checkpoint checkpoint =
        io::read_checkpoint((checkpoint_fixture_dir() / file).string());
    EXPECT_EQ(checkpoint.format, fixture["format"].get<std::string>());
    EXPECT_EQ(
        checkpoint.metadata,
        (fixture.value("metadata", json::object()).get<std::map<std::string, std::string>>()));
    const json& tensors = fixture["tensors"];
    ASSERT_EQ(checkpoint.tensors.size(), tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
      const io::NamedTensor& actual = checkpoint.tensors[i];
      SCOPED_TRACE(actual.name);
      EXPECT_EQ(actual.name, tensors[i]["name"].get<std::string>());
      EXPECT_EQ(actual.shape, tensors[i]["shape"].get<std::vector<int64_t>>());
      EXPECT_EQ(actual.source_dtype, tensors[i]["dtype"].get<std::string>());
      std::vector<float> values;
      for (const json& v : tensors[i]["values"]) values.push_back(float(v.get<double>()));
      EXPECT_EQ(actual.values, values);
    }
  }
}

TEST(Checkpoint, RefusesForbiddenGlobals) {
  const json expected = load_expected();
  ASSERT_FALSE(expected.value("refused", json::array()).empty());
  for (const json& fixture : expected["refused"]) {
    const std::string message =
        refusal(checkpoint_fixture_dir() / fixture["file"].get<std::string>());
    EXPECT_NE(message.find("forbidden pickle global '" +
                           fixture["error_contains"].get<std::string>() + "'"),
              std::string::npos)
        << message;
  }
}

TEST(Checkpoint, RefusesTruncatedCopies) {
  ScratchDir scratch;
  const std::vector<std::filesystem::path> files = all_fixture_files();
  ASSERT_FALSE(files.empty());
  for (const std::filesystem::path& file : files) {
    const std::vector<uint8_t> bytes = read_bytes(file);
    ASSERT_FALSE(bytes.empty()) << file;
    // Every length near both ends, and a spread in between.
    std::vector<size_t> lengths;
    for (size_t n = 0; n < bytes.size(); n += std::max<size_t>(1, bytes.size() / 150))
      lengths.push_back(n);
    for (size_t cut = 1; cut <= std::min<size_t>(64, bytes.size()); ++cut)
      lengths.push_back(bytes.size() - cut);
    for (size_t length : lengths) {
      const std::filesystem::path copy = scratch.path() / file.filename();
      write_bytes(copy, {bytes.begin(), bytes.begin() + ptrdiff_t(length)});
      SCOPED_TRACE(copy.string() + " cut to " + std::to_string(length) + " bytes");
      refusal(copy);
    }
  }
}

// Random byte changes may leave a readable file, but must never crash or throw anything but
// vkseg::Error.
TEST(Checkpoint, SurvivesCorruptedBytes) {
  ScratchDir scratch;
  std::mt19937 rng(1234);
  for (const std::filesystem::path& file : all_fixture_files()) {
    const std::vector<uint8_t> original = read_bytes(file);
    const std::filesystem::path copy = scratch.path() / file.filename();
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<uint8_t> bytes = original;
      const int changes = 1 + int(rng() % 4);
      for (int c = 0; c < changes; ++c) bytes[rng() % bytes.size()] = uint8_t(rng());
      write_bytes(copy, bytes);
      try {
        io::read_checkpoint(copy.string());
      } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
      } catch (const std::exception& e) {
        ADD_FAILURE() << file.filename() << " trial " << trial << ": " << e.what();
      }
    }
  }
}

TEST(Checkpoint, DetectsFormatByContentNotExtension) {
  ScratchDir scratch;
  const std::filesystem::path text = scratch.path() / "weights.pt";
  write_bytes(text, {'h', 'e', 'l', 'l', 'o', '\n'});
  EXPECT_NE(refusal(text).find("not a torch zip, legacy torch or safetensors"), std::string::npos);

  const std::filesystem::path dir = checkpoint_fixture_dir();
  ASSERT_FALSE(dir.empty());
  const std::filesystem::path renamed = scratch.path() / "weights.safetensors";
  std::filesystem::copy_file(dir / "state_dict_legacy.pt", renamed);
  EXPECT_EQ(io::read_checkpoint(renamed.string()).format, "torch-legacy");
}

TEST(Checkpoint, MissingFileNamesThePath) {
  ScratchDir scratch;
  EXPECT_NE(refusal(scratch.path() / "absent.pt").find("cannot open"), std::string::npos);
  EXPECT_NE(refusal(scratch.path()).find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace vkseg::test
