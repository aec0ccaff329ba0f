#include "progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace vkseg::cli {

Progress::Progress(std::string label, size_t total)
    : label_(std::move(label)),
      total_(total),
      enabled_(total > 1 && isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
  if (enabled_) std::fputs("\r\033[K", stderr);
}

void Progress::step(const std::string& item) {
  ++done_;
  if (!enabled_) return;
  constexpr int k_width = 30;
  const int filled = int(k_width * done_ / total_);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  fmt::print(stderr, "\r\033[K{} [{:=<{}}{:<{}}] {}/{} {:.1f}s {}", label_, "", filled, "",
             k_width - filled, done_, total_, seconds, item);
  std::fflush(stderr);
}

}  // namespace vkseg::cli
