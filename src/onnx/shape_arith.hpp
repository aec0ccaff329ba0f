#pragma once
// Shape arithmetic at convert time, shared by the layer ops whose operands may be known then
// (Add, Sub, Mul, Div and Concat map to vkseg nodes only on activations).
#include <string>

#include "onnx/converter.hpp"

namespace vkseg::onnx {

// Add, Sub, Mul or Div of two values known at convert time.
void arithmetic_values(Converter& c);
// Concat of values known at convert time.
void concat_values(Converter& c);
// "64" or "dim 2 of 'x'" or "floor(dim 2 of 'x' x 0.5)", for messages.
std::string elem_text(const Converter& c, const ShapeElem& e);

}  // namespace vkseg::onnx
