// The restricted unpickler on arbitrary bytes: a value or a vkseg::Error, nothing else.
#include <cstdint>
#include <vector>

#include "io/pickle.hpp"
#include "vkseg/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  size_t position = 0;
  std::vector<vkseg::io::TorchStorage> storages;  // exercises the legacy-format bookkeeping too
  try {
    vkseg::io::unpickle({data, size}, position, &storages);
  } catch (const vkseg::Error&) {
  }
  return 0;
}
