#pragma once
// Shape arithmetic at convert time, shared by the layer ops whose operands may be known then
// (Add, Sub, Mul, Div, Concat and Slice map to vkseg nodes only on activations).
#include <functional>
#include <string>

#include "onnx/converter.hpp"

namespace vkseg::onnx {

// Add, Sub, Mul or Div of two values known at convert time.
void arithmetic_values(Converter& c);
// Concat of values known at convert time.
void concat_values(Converter& c);
// Slice of a value known at convert time.
void slice_values(Converter& c);
// "64" or "dim 2 of 'x'" or "floor(dim 2 of 'x' x 0.5)", for messages.
std::string elem_text(const Converter& c, const ShapeElem& e);
// The element's value where each dimension (source, axis) is `dim(source, axis)`.
double evaluate(const ShapeElem& e, const std::function<double(int32_t, int32_t)>& dim);
// Every activation whose dimensions the element refers to, with the axes.
void visit_dims(const ShapeElem& e, const std::function<void(int32_t, int32_t)>& visit);

}  // namespace vkseg::onnx
