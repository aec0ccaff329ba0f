#include "io/npy.hpp"

#include <fmt/format.h>

#include <cstring>
#include <regex>

#include "io/file_io.hpp"
#include "io/half.hpp"
#include "io/printable.hpp"

namespace vkseg::io {

namespace {

constexpr char k_magic[] = "\x93NUMPY";

// The value after 'key': in the header dict: a parenthesised tuple, or text up to ',' or '}'.
std::string header_field(const std::string& header, const std::string& key) {
  const std::regex re("'" + key + "'\\s*:\\s*(\\([^)]*\\)|[^,}]*)");
  std::smatch m;
  if (!std::regex_search(header, m, re)) throw Error(fmt::format("npy header lacks '{}'", key));
  return m[1].str();
}

}  // namespace

NpyArray read_npy(const std::string& path) {
  return with_path_in_errors(path, [&] {
    const std::vector<uint8_t> bytes = read_file(path);
    if (bytes.size() < 10 || std::memcmp(bytes.data(), k_magic, 6) != 0) {
      throw Error("not a .npy file");
    }
    const uint8_t major = bytes[6];
    size_t header_len = 0, header_start = 0;
    if (major == 1) {
      header_len = bytes[8] | (size_t(bytes[9]) << 8);
      header_start = 10;
    } else if (major == 2 || major == 3) {
      if (bytes.size() < 12) throw Error("truncated .npy header");
      header_len = bytes[8] | (size_t(bytes[9]) << 8) | (size_t(bytes[10]) << 16) |
                   (size_t(bytes[11]) << 24);
      header_start = 12;
    } else {
      throw Error(fmt::format("unsupported .npy version {}", major));
    }
    if (header_len > bytes.size() - header_start) throw Error("truncated .npy header");
    const std::string header(reinterpret_cast<const char*>(bytes.data()) + header_start, header_len);
    const std::string descr = header_field(header, "descr");
    const std::string order = header_field(header, "fortran_order");
    if (order.find("False") == std::string::npos) throw Error("Fortran-order arrays are not supported");
    size_t elem = 0;
    if (descr.find("<f4") != std::string::npos) elem = 4;
    else if (descr.find("<f8") != std::string::npos) elem = 8;
    else if (descr.find("<f2") != std::string::npos) elem = 2;
    else throw Error(fmt::format("dtype {} is not float16/32/64 little-endian", printable(descr)));

    NpyArray array;
    const std::string shape_text = header_field(header, "shape");
    static const std::regex number("[0-9]+");
    uint64_t count = 1;
    for (auto it = std::sregex_iterator(shape_text.begin(), shape_text.end(), number);
         it != std::sregex_iterator(); ++it) {
      const std::string digits = it->str();
      if (digits.size() > 12) throw Error("array dimension too large");
      const int64_t d = std::stoll(digits);
      if (d != 0 && count > (uint64_t(1) << 40) / uint64_t(d)) throw Error("array too large");
      count *= uint64_t(d);
      array.shape.push_back(d);
    }
    const size_t data_start = header_start + header_len;
    if (bytes.size() - data_start != count * elem) {
      throw Error(fmt::format("holds {} data bytes, but shape {} of {}-byte values needs {}",
                              bytes.size() - data_start, printable(shape_text), elem, count * elem));
    }
    array.values.resize(count);
    const uint8_t* p = bytes.data() + data_start;
    for (uint64_t i = 0; i < count; ++i) {
      if (elem == 4) {
        std::memcpy(&array.values[i], p + 4 * i, 4);
      } else if (elem == 8) {
        double d;
        std::memcpy(&d, p + 8 * i, 8);
        array.values[i] = float(d);
      } else {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        array.values[i] = half_to_float(h);
      }
    }
    return array;
  });
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* values) {
  with_path_in_errors(path, [&] {
    std::string dims;
    uint64_t count = 1;
    for (int64_t d : shape) {
      dims += fmt::format("{}, ", d);
      count *= uint64_t(d);
    }
    if (shape.size() > 1) dims.resize(dims.size() - 2);
    std::string header = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", dims);
    // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64.
    const size_t total = (10 + header.size() + 1 + 63) / 64 * 64;
    header.append(total - 10 - header.size() - 1, ' ');
    header += '\n';
    std::vector<uint8_t> bytes(k_magic, k_magic + 6);
    bytes.push_back(1);
    bytes.push_back(0);
    bytes.push_back(uint8_t(header.size() & 0xff));
    bytes.push_back(uint8_t(header.size() >> 8));
    bytes.insert(bytes.end(), header.begin(), header.end());
    const auto* raw = reinterpret_cast<const uint8_t*>(values);
    bytes.insert(bytes.end(), raw, raw + count * 4);
    write_file_atomically(path, bytes);
  });
}

}  // namespace vkseg::io
