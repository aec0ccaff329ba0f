#pragma once
// Whole-file reads, crash-safe writes, and the "<path>: <problem>" wrapping every public reader
// and writer applies to its errors.
#include <fmt/format.h>

#include <cstdint>
#include <new>
#include <span>
#include <string>
#include <vector>

#include "vkseg/error.hpp"

namespace vkseg::io {

// Throws Error (without the path prefix) when the file cannot be read.
std::vector<uint8_t> read_file(const std::string& path);

// Reads at most `count` bytes from the start of the file.
std::vector<uint8_t> read_file_prefix(const std::string& path, size_t count);

// Writes "<path>.tmp" and renames it over `path`, so readers never see a half-written file.
void write_file_atomically(const std::string& path, std::span<const uint8_t> bytes);

// Runs `body`, prefixing any Error with the path; memory exhaustion becomes an Error too.
template <class Body>
auto with_path_in_errors(const std::string& path, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", path, e.what()));
  } catch (const std::bad_alloc&) {
    throw Error(fmt::format("{}: out of memory", path));
  }
}

}  // namespace vkseg::io
