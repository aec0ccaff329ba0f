// The safetensors header validation on arbitrary bytes.
#include <cstdint>

#include "io/safetensors.hpp"
#include "vkseg/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    vkseg::io::parse_safetensors_layout({data, size});
  } catch (const vkseg::Error&) {
  }
  return 0;
}
