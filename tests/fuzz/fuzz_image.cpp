// The image readers on arbitrary files: read_image (stb_image: PNG, JPEG, BMP) and
// read_label_png (libpng).
#include <cstdint>
#include <cstdlib>

#include "fuzz_input_file.hpp"
#include "vkseg/error.hpp"
#include "vkseg/image.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Large enough for every seed, small enough that a mutated header cannot make one input decode
  // for seconds: big images are refused, which is what this limit is for.
  setenv("VKSEG_MAX_IMAGE_PIXELS", "262144", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = vkseg::fuzz::as_file(data, size);
  try {
    vkseg::read_image(path);
  } catch (const vkseg::Error&) {
  }
  try {
    vkseg::read_label_png(path);
  } catch (const vkseg::Error&) {
  }
  return 0;
}
