#pragma once
// Output extents of windowed ops along one axis, with PyTorch's (and ONNX's) arithmetic; p0 and
// p1 are the padding before and after.
#include <cstdint>

namespace vkseg::ops {

// Convolution: floor((in + p0 + p1 - d(k-1) - 1) / s) + 1; 0 when the window never fits.
inline uint32_t conv_extent(uint32_t in, uint32_t k, uint32_t s, uint32_t p0, uint32_t p1,
                            uint32_t d) {
  const int64_t span = int64_t(in) + int64_t(p0) + p1 - int64_t(d) * (k - 1) - 1;
  return span < 0 ? 0 : uint32_t(span / s + 1);
}

// Pooling: as a convolution, or rounded up in ceil mode, where a last window that would start
// past the input and its leading padding is dropped (PyTorch's pooling_output_shape). May be
// below one.
inline int64_t pool_extent(uint32_t in, uint32_t k, uint32_t s, uint32_t p0, uint32_t p1,
                           uint32_t d, bool ceil_mode) {
  const int64_t span = int64_t(in) + int64_t(p0) + p1 - int64_t(d) * (k - 1) - 1 +
                       (ceil_mode ? int64_t(s) - 1 : 0);
  // Floor division (rounding toward -inf), so a span below zero gives an extent below one.
  int64_t out = (span >= 0 ? span / s : -((-span + s - 1) / s)) + 1;
  if (ceil_mode && (out - 1) * s >= int64_t(in) + p0) --out;
  return out;
}

// Transposed convolution: (in - 1)s - p0 - p1 + d(k - 1) + output_pad + 1; may be below one.
inline int64_t conv_transpose_extent(uint32_t in, uint32_t k, uint32_t s, uint32_t p0, uint32_t p1,
                                     uint32_t output_pad, uint32_t d) {
  return (int64_t(in) - 1) * s - p0 - int64_t(p1) + int64_t(d) * (k - 1) + output_pad + 1;
}

}  // namespace vkseg::ops
