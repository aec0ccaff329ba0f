#pragma once
#include <cstdint>
#include <string>

#include "vk/buffer.hpp"
#include "vkseg/error.hpp"
#include "vkseg/precision.hpp"

namespace vkseg::ops {

// Element type of a tensor in device memory.
enum class DType { F32, F16, U32 };
inline uint32_t element_bytes(DType type) { return type == DType::F16 ? 2 : 4; }
const char* dtype_name(DType type);
// The element type of activations and weights at `precision`.
inline DType storage_type(Precision precision) {
  return precision == Precision::Fp16 ? DType::F16 : DType::F32;
}

// NCHW extents.
struct Shape {
  uint32_t n = 1, c = 1, h = 1, w = 1;
  uint64_t count() const { return uint64_t(n) * c * h * w; }
  uint64_t bytes(DType type = DType::F32) const { return count() * element_bytes(type); }
  std::string str() const;
  bool operator==(const Shape&) const = default;
};

// An NCHW tensor living in a buffer range: fp32 unless said otherwise (fp16 activations and
// weights of an fp16 network, uint32 label maps).
struct Tensor {
  Shape shape;
  vk::BufferView view;
  DType dtype = DType::F32;
  uint64_t bytes() const { return shape.bytes(dtype); }
};

// Throws Error("<op>: <message>") unless the tensor has element type `type` and its range holds
// its shape.
void require_fits(const char* op, const char* role, const Tensor& tensor, DType type);
// Throws Error("<op>: <role> is A, expected B") on a mismatch.
void require_shape(const char* op, const char* role, const Shape& actual, const Shape& expected);

}  // namespace vkseg::ops
