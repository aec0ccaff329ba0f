#pragma once
// safetensors files (fcn.md §5.6): an 8-byte little-endian header length, a JSON header naming
// each tensor's dtype, shape and byte range, then the tensor bytes back to back.
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace vkseg::io {

struct SafetensorsTensor {
  std::string name;
  std::string dtype;  // "F32", "F16", "BF16", "I64", ...
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // little-endian, row-major
};

struct SafetensorsFile {
  std::vector<SafetensorsTensor> tensors;       // header order
  std::map<std::string, std::string> metadata;  // "__metadata__"
};

// Reads and validates the whole file. Throws Error "<path>: <problem>".
SafetensorsFile read_safetensors(const std::string& path);

// Writes dtype F32 or F16 tensors in the given order, the header padded with spaces to a multiple
// of 8 bytes, through write_file_atomically. Throws Error "<path>: <problem>".
void write_safetensors(const std::string& path, const std::vector<SafetensorsTensor>& tensors,
                       const std::map<std::string, std::string>& metadata);

// A validated header: where each tensor's bytes lie inside the file it was parsed from.
struct SafetensorsEntry {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  size_t file_offset;  // of the first byte
  size_t byte_count;
};
struct SafetensorsLayout {
  std::vector<SafetensorsEntry> entries;  // header order
  std::map<std::string, std::string> metadata;
};

// Validates the header against the complete file contents: header length bound, JSON object,
// known dtypes, shape/byte-range agreement, and byte ranges that tile the buffer exactly.
// Throws Error without a path (callers add it).
SafetensorsLayout parse_safetensors_layout(std::span<const uint8_t> file);

// Bytes per element of a safetensors dtype name, or 0 if the name is unknown.
size_t safetensors_dtype_size(std::string_view dtype);

// True if the bytes look like a safetensors file (plausible length, then '{').
bool looks_like_safetensors(std::span<const uint8_t> prefix);

}  // namespace vkseg::io
