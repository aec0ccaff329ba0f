#pragma once
// NumPy .npy files of little-endian float32 (what `vkseg run` reads and writes).
#include <cstdint>
#include <string>
#include <vector>

namespace vkseg {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> values;  // C order
};

// Reads a C-order '<f4' array (also accepts '<f8' and '<f2', converted). Throws Error
// "<path>: <problem>".
NpyArray read_npy(const std::string& path);

// Writes a '<f4' array (version 1.0 header) through a temporary file and a rename.
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* values);

}  // namespace vkseg
