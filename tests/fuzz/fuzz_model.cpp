// Model::load on arbitrary files: safetensors, then the graph, preprocessing and class metadata.
// It only parses and validates, so no Vulkan device is involved.
#include <cstdint>

#include "fuzz_input_file.hpp"
#include "vkseg/error.hpp"
#include "vkseg/model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    vkseg::Model::load(vkseg::fuzz::as_file(data, size));
  } catch (const vkseg::Error&) {
  }
  return 0;
}
