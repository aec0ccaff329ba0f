#include "io/safetensors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "io/file_io.hpp"
#include "io/json.hpp"
#include "vkseg/error.hpp"
#include "vkseg/text.hpp"

namespace vkseg::io {

namespace {

using Json = nlohmann::ordered_json;

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's bound
constexpr std::string_view kMetadataKey = "__metadata__";

constexpr std::array<std::pair<std::string_view, size_t>, 15> kDtypeSizes{{
    {"BOOL", 1},
    {"U8", 1},
    {"I8", 1},
    {"F8_E5M2", 1},
    {"F8_E4M3", 1},
    {"I16", 2},
    {"U16", 2},
    {"F16", 2},
    {"BF16", 2},
    {"I32", 4},
    {"U32", 4},
    {"F32", 4},
    {"F64", 8},
    {"I64", 8},
    {"U64", 8},
}};

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

std::vector<int64_t> parse_shape(const Json& shape, const std::string& name) {
  if (!shape.is_array())
    throw Error(fmt::format("tensor '{}': shape is not an array", printable(name)));
  std::vector<int64_t> dims;
  for (const Json& dim : shape) {
    if (!dim.is_number_unsigned() || dim.get<uint64_t>() > uint64_t(INT64_MAX)) {
      throw Error(fmt::format("tensor '{}': shape holds {}, not a dimension", printable(name),
                              printable(dim.dump())));
    }
    dims.push_back(dim.get<int64_t>());
  }
  return dims;
}

// Bytes a tensor of this shape needs; Error if the count does not fit in 64 bits.
uint64_t byte_size(const std::vector<int64_t>& shape, size_t element_size,
                   const std::string& name) {
  uint64_t bytes = element_size;
  for (int64_t dim : shape) {
    if (__builtin_mul_overflow(bytes, uint64_t(dim), &bytes)) {
      throw Error(fmt::format("tensor '{}': shape too large", printable(name)));
    }
  }
  return bytes;
}

std::map<std::string, std::string> parse_metadata(const Json& metadata) {
  if (!metadata.is_object()) throw Error("__metadata__ is not an object");
  std::map<std::string, std::string> result;
  for (const auto& [key, value] : metadata.items()) {
    if (!value.is_string())
      throw Error(fmt::format("__metadata__ '{}' is not a string", printable(key)));
    result.emplace(key, value.get<std::string>());
  }
  return result;
}

Json parse_header_json(std::span<const uint8_t> text) {
  Json header = parse_ordered_json(
      std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), "header");
  if (!header.is_object()) throw Error("header is not a JSON object");
  return header;
}

}  // namespace

size_t safetensors_dtype_size(std::string_view dtype) {
  for (const auto& [name, size] : kDtypeSizes) {
    if (name == dtype) return size;
  }
  return 0;
}

bool looks_like_safetensors(std::span<const uint8_t> prefix) {
  return prefix.size() >= 9 && read_u64_le(prefix.data()) >= 2 && prefix[8] == '{';
}

SafetensorsLayout parse_safetensors_layout(std::span<const uint8_t> file) {
  if (file.size() < 8) throw Error("file too short for a safetensors header length");
  const uint64_t header_bytes = read_u64_le(file.data());
  if (header_bytes > kMaxHeaderBytes) {
    throw Error(fmt::format("safetensors header length {} exceeds the {}-byte limit", header_bytes,
                            kMaxHeaderBytes));
  }
  if (header_bytes > file.size() - 8) {
    throw Error(fmt::format("safetensors header length {} runs past the end of the {}-byte file",
                            header_bytes, file.size()));
  }
  const size_t data_start = 8 + size_t(header_bytes);
  const uint64_t buffer_bytes = file.size() - data_start;
  const Json header = parse_header_json(file.subspan(8, size_t(header_bytes)));

  SafetensorsLayout layout;
  struct Range {
    uint64_t begin, end;
    size_t entry;
  };
  std::vector<Range> ranges;
  for (const auto& [name, info] : header.items()) {
    if (name == kMetadataKey) {
      layout.metadata = parse_metadata(info);
      continue;
    }
    const std::string quoted = printable(name);
    if (!info.is_object()) throw Error(fmt::format("tensor '{}': entry is not an object", quoted));
    const auto dtype = info.find("dtype");
    const auto shape = info.find("shape");
    const auto offsets = info.find("data_offsets");
    if (dtype == info.end() || shape == info.end() || offsets == info.end()) {
      throw Error(fmt::format("tensor '{}': needs dtype, shape and data_offsets", quoted));
    }
    const size_t element_size =
        dtype->is_string() ? safetensors_dtype_size(dtype->get<std::string>()) : 0;
    if (element_size == 0)
      throw Error(fmt::format("tensor '{}': unknown dtype {}", quoted, printable(dtype->dump())));
    if (!offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
        !(*offsets)[1].is_number_unsigned()) {
      throw Error(fmt::format("tensor '{}': data_offsets is not [begin, end]", quoted));
    }
    const uint64_t begin = (*offsets)[0].get<uint64_t>(), end = (*offsets)[1].get<uint64_t>();
    if (begin > end)
      throw Error(
          fmt::format("tensor '{}': data_offsets [{}, {}] are reversed", quoted, begin, end));
    if (end > buffer_bytes) {
      throw Error(fmt::format("tensor '{}': data_offsets [{}, {}] lie outside the {}-byte buffer",
                              quoted, begin, end, buffer_bytes));
    }
    SafetensorsEntry entry{name, dtype->get<std::string>(), parse_shape(*shape, name),
                           data_start + size_t(begin), size_t(end - begin)};
    const uint64_t expected = byte_size(entry.shape, element_size, name);
    if (expected != end - begin) {
      throw Error(fmt::format("tensor '{}': shape needs {} bytes but data_offsets span {}", quoted,
                              expected, end - begin));
    }
    ranges.push_back({begin, end, layout.entries.size()});
    layout.entries.push_back(std::move(entry));
  }

  // The byte ranges must cover the buffer exactly: no overlap, no gap, nothing after the last.
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  uint64_t covered = 0;
  for (size_t i = 0; i < ranges.size(); ++i) {
    const std::string& name = layout.entries[ranges[i].entry].name;
    if (ranges[i].begin < covered) {
      throw Error(fmt::format("tensor '{}' overlaps tensor '{}'", printable(name),
                              printable(layout.entries[ranges[i - 1].entry].name)));
    }
    if (ranges[i].begin > covered) {
      throw Error(
          fmt::format("{} unused bytes before tensor '{}'", ranges[i].begin - covered,
                      printable(name)));
    }
    covered = ranges[i].end;
  }
  if (covered != buffer_bytes) {
    throw Error(fmt::format("{} bytes after the last tensor", buffer_bytes - covered));
  }
  return layout;
}

SafetensorsFile read_safetensors(const std::string& path) {
  return with_path_in_errors(path, [&] {
    const std::vector<uint8_t> file = read_file(path);
    SafetensorsLayout layout = parse_safetensors_layout(file);
    SafetensorsFile result;
    result.metadata = std::move(layout.metadata);
    for (SafetensorsEntry& entry : layout.entries) {
      const auto* begin = file.data() + entry.file_offset;
      result.tensors.push_back({std::move(entry.name), std::move(entry.dtype),
                                std::move(entry.shape),
                                std::vector<uint8_t>(begin, begin + entry.byte_count)});
    }
    return result;
  });
}

void write_safetensors(const std::string& path, const std::vector<SafetensorsTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  with_path_in_errors(path, [&] {
    Json header = Json::object();
    if (!metadata.empty()) header[std::string(kMetadataKey)] = metadata;
    uint64_t offset = 0;
    for (const SafetensorsTensor& tensor : tensors) {
      if (tensor.dtype != "F32" && tensor.dtype != "F16") {
        throw Error(fmt::format("tensor '{}': cannot write dtype '{}' (only F32 and F16)",
                                printable(tensor.name), printable(tensor.dtype)));
      }
      if (tensor.name.empty() || tensor.name == kMetadataKey || header.contains(tensor.name)) {
        throw Error(
            fmt::format("tensor name '{}' is empty, reserved or repeated", printable(tensor.name)));
      }
      for (int64_t dim : tensor.shape) {
        if (dim < 0)
          throw Error(fmt::format("tensor '{}': negative dimension", printable(tensor.name)));
      }
      const uint64_t bytes =
          byte_size(tensor.shape, safetensors_dtype_size(tensor.dtype), tensor.name);
      if (bytes != tensor.data.size()) {
        throw Error(fmt::format("tensor '{}': shape needs {} bytes but {} were given",
                                printable(tensor.name), bytes, tensor.data.size()));
      }
      header[tensor.name] = {{"dtype", tensor.dtype},
                             {"shape", tensor.shape},
                             {"data_offsets", {offset, offset + bytes}}};
      offset += bytes;
    }
    std::string text;
    try {
      text = header.dump();
    } catch (const Json::type_error&) {
      throw Error("a tensor name or metadata string is not valid UTF-8");
    }
    text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned

    std::vector<uint8_t> file(8 + text.size());
    const uint64_t header_bytes = text.size();
    std::memcpy(file.data(), &header_bytes, 8);
    std::memcpy(file.data() + 8, text.data(), text.size());
    file.reserve(file.size() + offset);
    for (const SafetensorsTensor& tensor : tensors) {
      file.insert(file.end(), tensor.data.begin(), tensor.data.end());
    }
    write_file_atomically(path, file);
  });
}

}  // namespace vkseg::io
