#pragma once
#include <stdexcept>
#include <string>

namespace vkseg {

// Every failure a caller can cause or meet (bad input, no device, out of memory) is reported as
// an Error whose message is one line, fit to print as it is.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A Vulkan call failed; result() keeps the VkResult value for callers that react to it
// (VK_ERROR_OUT_OF_DEVICE_MEMORY, VK_ERROR_DEVICE_LOST).
class VulkanError : public Error {
 public:
  VulkanError(const std::string& message, int result) : Error(message), result_(result) {}
  int result() const { return result_; }

 private:
  int result_;
};

}  // namespace vkseg
