#pragma once
// A one-line progress bar on stderr, drawn only when stderr is a terminal.
#include <chrono>
#include <cstddef>
#include <string>

namespace vkseg::cli {

class Progress {
 public:
  Progress(std::string label, size_t total);
  ~Progress();
  void step(const std::string& item);

 private:
  std::string label_;
  size_t total_, done_ = 0;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace vkseg::cli
