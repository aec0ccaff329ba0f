#pragma once
// Locating the checkpoint fixtures written by tests/fixtures/make_checkpoint_fixtures.py
// (ctest runs it first and passes the folder in VKSEG_FIXTURES) and scratch folders for tests.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace vkseg::test {

// "$VKSEG_FIXTURES/checkpoints"; fails the test (never skips) when it is not there.
inline std::filesystem::path checkpoint_fixture_dir() {
  const char* root = std::getenv("VKSEG_FIXTURES");
  if (!root) {
    ADD_FAILURE() << "VKSEG_FIXTURES is not set (run the tests through ctest)";
    return {};
  }
  const std::filesystem::path dir = std::filesystem::path(root) / "checkpoints";
  if (!std::filesystem::exists(dir / "expected.json")) {
    ADD_FAILURE() << "checkpoint fixtures missing: " << (dir / "expected.json");
    return {};
  }
  return dir;
}

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// A fresh folder named after the running test, removed when the object goes away.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            (std::string("vkseg_") + info->test_suite_name() + "_" + info->name() + "_" +
             std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace vkseg::test
