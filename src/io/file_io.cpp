#include "io/file_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>

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

int create_new_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd < 0) throw Error(fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  return fd;
}

void write_file_atomically(const std::string& path, std::span<const uint8_t> bytes) {
  // 60 random bits: no other writer picks the same name, and nobody can plant it in advance.
  std::random_device random;
  const uint64_t bits = uint64_t(random()) << 32 | random();
  const std::string temporary = fmt::format("{}.{:015x}.tmp", path, bits >> 4);
  const int fd = create_new_file(temporary);
  bool written = true;
  int saved_errno = 0;
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      written = false;
      saved_errno = n < 0 ? errno : EIO;
      break;
    }
    done += size_t(n);
  }
  if (written && ::fsync(fd) != 0) written = false, saved_errno = errno;
  if (::close(fd) != 0 && written) written = false, saved_errno = errno;
  if (!written) {
    ::unlink(temporary.c_str());
    throw Error(fmt::format("write failed: {}", std::strerror(saved_errno)));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    saved_errno = errno;
    ::unlink(temporary.c_str());
    throw Error(fmt::format("cannot rename {} into place: {}", temporary, std::strerror(saved_errno)));
  }
}

}  // namespace vkseg::io
