#pragma once
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

enum class PadMode : uint32_t { Constant, Reflect, Edge };  // the shader's MODE constant

struct PadParams {
  uint32_t top = 0, left = 0, bottom = 0, right = 0;
  PadMode mode = PadMode::Constant;
  float value = 0.0f;  // constant mode's fill
  Precision precision = Precision::Fp32;  // of the input and output
};

// Spatial padding with F.pad / ONNX Pad semantics: constant fills with `value`, reflect mirrors
// about the border element without repeating it (so each pad must be smaller than its axis),
// edge repeats the border element.
class Pad {
 public:
  Pad(Context& context, const PadParams& params);
  const PadParams& params() const { return params_; }
  Shape output_shape(const Shape& input) const { return output_shape(input, params_); }
  static Shape output_shape(const Shape& input, const PadParams& pads);
  uint64_t flops(const Shape&, const Shape&) const { return 0; }
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const {
    record(recorder, input, output, params_);
  }
  // With other pads (and value) than the constructor's, of its mode and precision.
  void record(vk::Recorder& recorder, const Tensor& input, const Tensor& output,
              const PadParams& pads) const;

 private:
  Context& context_;
  PadParams params_;
  const vk::Pipeline* pipeline_;
};

}  // namespace vkseg::ops
