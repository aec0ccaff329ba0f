#pragma once
// The fuzzed bytes as a file the path-taking readers can open: one anonymous in-memory file
// (memfd) per process, reached through /proc/self/fd, so no disk is touched and parallel fuzzing
// jobs never share a file.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace vkseg::fuzz {

inline const std::string& as_file(const uint8_t* data, size_t size) {
  static const int fd = memfd_create("vkseg-fuzz-input", 0);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != ssize_t(size)) {
    std::abort();  // the harness itself failed: not a finding about vkseg
  }
  return path;
}

}  // namespace vkseg::fuzz
