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

// Writes `bytes` to a new file next to `path`, named "<path>.<random>.tmp" and created
// exclusively (create_new_file), syncs it and renames it over `path`: readers never see a
// half-written file, and no file or symlink planted at a temporary name is written through. The
// temporary file is removed on any failure.
void write_file_atomically(const std::string& path, std::span<const uint8_t> bytes);

// Opens `path` for writing only if nothing is there yet (O_CREAT | O_EXCL | O_NOFOLLOW), so a
// file or a symlink (dangling or not) at that name is never opened. Returns the descriptor;
// throws Error with the system's reason ("File exists" for a planted name).
int create_new_file(const std::string& path);

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
