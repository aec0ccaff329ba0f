// The ONNX front end on arbitrary files: the ModelProto parse and its limits, then mapping and
// shape arithmetic at convert time, then validation against the op registry. No Vulkan device
// is involved.
#include <cstdint>

#include "fuzz_input_file.hpp"
#include "onnx/onnx_front_end.hpp"
#include "vkseg/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    vkseg::onnx::build_onnx(vkseg::fuzz::as_file(data, size), {});
  } catch (const vkseg::Error&) {
  }
  return 0;
}
