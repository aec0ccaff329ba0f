#pragma once
#include <cstdint>
#include <string>

#include "vk/buffer.hpp"
#include "vkseg/error.hpp"

namespace vkseg::ops {

// NCHW extents.
struct Shape {
  uint32_t n = 1, c = 1, h = 1, w = 1;
  uint64_t count() const { return uint64_t(n) * c * h * w; }
  uint64_t bytes() const { return count() * 4; }
  std::string str() const;
  bool operator==(const Shape&) const = default;
};

// A float32 (or, for label maps, uint32) NCHW tensor living in a buffer range.
struct Tensor {
  Shape shape;
  vk::BufferView view;
};

// Throws Error("<op>: <message>") unless the tensor's range holds its shape.
void require_fits(const char* op, const char* role, const Tensor& tensor);
// Throws Error("<op>: <role> is A, expected B") on a mismatch.
void require_shape(const char* op, const char* role, const Shape& actual, const Shape& expected);

}  // namespace vkseg::ops
