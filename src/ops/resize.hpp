#pragma once
#include <array>
#include <optional>

#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

// The shader's constants: each enum's values are what it compares with.
enum class ResizeMode : uint32_t { Nearest, Linear };
// How an output index maps to an input coordinate (ONNX Resize's coordinate_transformation_mode),
// with s the input size over the output size (or 1 / the given scale):
// half_pixel (x + 0.5) s - 0.5; pytorch_half_pixel the same, but 0 for an output of one;
// align_corners x (in - 1) / (out - 1), 0 for an output of one; asymmetric x s.
enum class CoordinateTransform : uint32_t { HalfPixel, PytorchHalfPixel, AlignCorners, Asymmetric };
// Which input index nearest mode takes for a coordinate (ONNX Resize's nearest_mode).
enum class NearestRounding : uint32_t { RoundPreferFloor, RoundPreferCeil, Floor, Ceil };

struct ResizeParams {
  ResizeMode mode = ResizeMode::Linear;
  CoordinateTransform transform = CoordinateTransform::HalfPixel;
  NearestRounding rounding = NearestRounding::RoundPreferFloor;
  // Scales (height, width), where given: the output is floor(input * scale) and the coordinate
  // mapping uses the scale itself. Otherwise the output tensor's size is the target.
  std::optional<std::array<double, 2>> scale;
  Precision precision = Precision::Fp32;  // of the input and output
};

// Resize of the height and width with ONNX Resize's semantics (modes nearest and linear) and
// PyTorch's index arithmetic, so that F.interpolate is matched exactly: bilinear with
// align_corners=False is linear + half_pixel, True is linear + align_corners, nearest is
// nearest + asymmetric + floor. Scales are fp32 as PyTorch computes them; nearest coordinates
// are fp32 products (upsample_nearest2d), linear ones exact (as PyTorch's CPU kernel computes
// them in double) with the fraction rounded to fp32. A linear coordinate below zero is clamped
// to zero and indices to the input, as both do. With given scales the mapping is ONNX's
// everywhere, where F.interpolate(scale_factor=...) copies outputs of the input's size instead
// (and, in nearest mode, halves the index for twice its size).
class Resize {
 public:
  Resize(Context& context, const ResizeParams& params);
  const ResizeParams& params() const { return params_; }
  // The output shape the scales give for `input`; throws when the op has no scales or the
  // output would be empty or larger than 2^20 along an axis.
  Shape scaled_shape(const Shape& input) const;
  // The output tensor's height and width are the target (scaled_shape(input) with scales).
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const;

 private:
  Context& context_;
  ResizeParams params_;
  const vk::Pipeline* pipeline_;
};

}  // namespace vkseg::ops
