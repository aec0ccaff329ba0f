#include "io/file_io.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace vkseg::io {

namespace {

using FilePtr = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

FilePtr open_regular_file(const std::string& path) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found)
    throw Error("cannot open: no such file");
  if (ec) throw Error(fmt::format("cannot open: {}", ec.message()));
  if (status.type() != std::filesystem::file_type::regular) throw Error("not a regular file");
  FilePtr file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw Error(fmt::format("cannot open: {}", std::strerror(errno)));
  return file;
}

}  // namespace

std::vector<uint8_t> read_file_prefix(const std::string& path, size_t count) {
  FilePtr file = open_regular_file(path);
  std::vector<uint8_t> bytes(count);
  bytes.resize(std::fread(bytes.data(), 1, count, file.get()));
  if (std::ferror(file.get())) throw Error(fmt::format("read failed: {}", std::strerror(errno)));
  return bytes;
}

std::vector<uint8_t> read_file(const std::string& path) {
  FilePtr file = open_regular_file(path);
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw Error(fmt::format("cannot get the file size: {}", ec.message()));
  std::vector<uint8_t> bytes(size);
  if (std::fread(bytes.data(), 1, bytes.size(), file.get()) != bytes.size()) {
    throw Error(fmt::format("read failed: {}",
                            std::ferror(file.get()) ? std::strerror(errno) : "file shrank"));
  }
  return bytes;
}

void write_file_atomically(const std::string& path, std::span<const uint8_t> bytes) {
  const std::string temporary = path + ".tmp";
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (!file) throw Error(fmt::format("cannot create {}: {}", temporary, std::strerror(errno)));
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  const int saved_errno = errno;
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) {
    std::remove(temporary.c_str());
    throw Error(fmt::format("write failed: {}", std::strerror(written ? errno : saved_errno)));
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::remove(temporary.c_str());
    throw Error(fmt::format("cannot rename {} into place: {}", temporary, ec.message()));
  }
}

}  // namespace vkseg::io
