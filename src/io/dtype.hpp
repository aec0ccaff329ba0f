#pragma once
// Element types a checkpoint can hold, and their conversion to float32.
#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "io/half.hpp"

namespace vkseg::io {

static_assert(std::endian::native == std::endian::little,
              "checkpoint readers assume a little-endian host, like the files they read");

enum class DType { Float32, Float64, Float16, BFloat16, Int64, Int32, Int16, Int8, UInt8, Bool };

// PyTorch's name for the type ("float32", "bfloat16", "int64", ...).
constexpr std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Float16: return "float16";
    case DType::BFloat16: return "bfloat16";
    case DType::Int64: return "int64";
    case DType::Int32: return "int32";
    case DType::Int16: return "int16";
    case DType::Int8: return "int8";
    case DType::UInt8: return "uint8";
    case DType::Bool: return "bool";
  }
  return "?";
}

constexpr size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::Float64:
    case DType::Int64: return 8;
    case DType::Float32:
    case DType::Int32: return 4;
    case DType::Float16:
    case DType::BFloat16:
    case DType::Int16: return 2;
    case DType::Int8:
    case DType::UInt8:
    case DType::Bool: return 1;
  }
  return 1;
}

// One little-endian element at `p` as float (integers round to the nearest float, so int64
// values beyond 2^24 lose precision).
inline float element_to_float(DType dtype, const uint8_t* p) {
  auto load = [p]<class T>(T) {
    T value;
    std::memcpy(&value, p, sizeof(T));
    return value;
  };
  switch (dtype) {
    case DType::Float32: return load(float{});
    case DType::Float64: return float(load(double{}));
    case DType::Float16: return half_to_float(load(uint16_t{}));
    case DType::BFloat16: return bfloat16_to_float(load(uint16_t{}));
    case DType::Int64: return float(load(int64_t{}));
    case DType::Int32: return float(load(int32_t{}));
    case DType::Int16: return float(load(int16_t{}));
    case DType::Int8: return float(load(int8_t{}));
    case DType::UInt8: return float(load(uint8_t{}));
    case DType::Bool: return load(uint8_t{}) ? 1.0f : 0.0f;
  }
  return 0.0f;
}

}  // namespace vkseg::io
