// read_checkpoint on arbitrary files: format detection, torch zip (libzip), the legacy stream,
// safetensors, and the tensor assembly behind them.
#include <cstdint>

#include "fuzz_input_file.hpp"
#include "io/checkpoint.hpp"
#include "vkseg/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    vkseg::io::read_checkpoint(vkseg::fuzz::as_file(data, size));
  } catch (const vkseg::Error&) {
  }
  return 0;
}
