// read_npy on arbitrary files: the header's Python literal, its shape and the data size.
#include <cstdint>

#include "fuzz_input_file.hpp"
#include "vkseg/error.hpp"
#include "vkseg/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    vkseg::read_npy(vkseg::fuzz::as_file(data, size));
  } catch (const vkseg::Error&) {
  }
  return 0;
}
