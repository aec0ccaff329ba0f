#pragma once
#include <string>

#include "vkseg/error.hpp"

namespace vkseg {

// How a network stores its activations and weights on the device. Fp16 halves memory and
// bandwidth: activations and weights are fp16 in device buffers, biases stay fp32, and every
// product and sum is computed in fp32 (products of fp16 values are exact in fp32). Input and
// logits stay fp32 at the host boundary; label maps are uint32. Fp16 needs
// storageBuffer16BitAccess (DeviceInfo::fp16_storage).
enum class Precision { Fp32, Fp16 };

inline const char* precision_name(Precision precision) {
  return precision == Precision::Fp16 ? "fp16" : "fp32";
}

// "fp32" or "fp16"; throws Error otherwise.
inline Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::Fp32;
  if (name == "fp16") return Precision::Fp16;
  throw Error("precision must be fp32 or fp16, not '" + name + "'");
}

}  // namespace vkseg
