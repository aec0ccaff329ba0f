#include "vkseg/npy.hpp"

#include <fmt/format.h>

#include <cstring>
#include <optional>

#include "io/file_io.hpp"
#include "io/half.hpp"
#include "vkseg/text.hpp"

namespace vkseg {

namespace {

constexpr char k_magic[] = "\x93NUMPY";
// 2^40 elements (4 TiB of float32): beyond any input, far below where byte counts overflow.
constexpr uint64_t k_max_elements = uint64_t(1) << 40;

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// The header is the repr() of a Python dict, {'descr': '<f4', 'fortran_order': False,
// 'shape': (2, 3), }, padded with spaces. This reads exactly that literal grammar, by hand and
// without recursion: three keys, each once, a string, a bool and a tuple of non-negative ints.
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  NpyHeader parse() {
    NpyHeader header;
    bool seen[3] = {};
    expect('{');
    while (!accept('}')) {
      const std::string key = string();
      expect(':');
      int index;
      if (key == "descr") {
        index = 0, header.descr = string();
      } else if (key == "fortran_order") {
        index = 1, header.fortran_order = boolean();
      } else if (key == "shape") {
        index = 2, header.shape = shape();
      } else {
        throw Error(fmt::format("npy header has an unknown key '{}'", printable(key)));
      }
      if (seen[index]) throw Error(fmt::format("npy header names '{}' twice", key));
      seen[index] = true;
      if (!accept(',')) {
        expect('}');
        break;
      }
    }
    skip_space();
    if (at_ != text_.size()) fail("text after the dict");
    if (!seen[0] || !seen[1] || !seen[2]) {
      throw Error("npy header lacks one of 'descr', 'fortran_order' and 'shape'");
    }
    return header;
  }

 private:
  [[noreturn]] void fail(std::string_view problem) const {
    throw Error(fmt::format("malformed npy header: {} at byte {}", problem, at_));
  }
  void skip_space() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\t'))
      ++at_;
  }
  bool accept(char c) {
    skip_space();
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!accept(c)) fail(fmt::format("expected '{}'", c));
  }
  bool accept_word(std::string_view word) {
    skip_space();
    if (text_.substr(at_, word.size()) != word) return false;
    at_ += word.size();
    return true;
  }
  std::string string() {
    skip_space();
    const char quote = at_ < text_.size() ? text_[at_] : '\0';
    if (quote != '\'' && quote != '"') fail("expected a string");
    const size_t end = text_.find(quote, at_ + 1);
    if (end == std::string_view::npos) fail("unterminated string");
    const std::string_view body = text_.substr(at_ + 1, end - at_ - 1);
    if (body.find('\\') != std::string_view::npos) fail("escapes in strings are not supported");
    at_ = end + 1;
    return std::string(body);
  }
  bool boolean() {
    if (accept_word("True")) return true;
    if (accept_word("False")) return false;
    fail("expected True or False");
  }
  // A Python tuple: "()", "(3,)", "(2, 3)" or "(2, 3,)"; "(3)" is an int, not a tuple.
  std::vector<int64_t> shape() {
    expect('(');
    std::vector<int64_t> dims;
    bool comma = false;
    while (!accept(')')) {
      dims.push_back(dimension());
      comma = accept(',');
      if (!comma) {
        expect(')');
        break;
      }
    }
    if (dims.size() == 1 && !comma) fail("the shape is not a tuple");
    return dims;
  }
  int64_t dimension() {
    skip_space();
    if (at_ < text_.size() && text_[at_] == '-') {
      throw Error("npy shape has a negative dimension");
    }
    size_t end = at_;
    while (end < text_.size() && text_[end] >= '0' && text_[end] <= '9') ++end;
    const std::string_view digits = text_.substr(at_, end - at_);
    if (digits.empty()) fail("expected a dimension");
    const std::optional<uint64_t> value = parse_decimal<uint64_t>(digits);
    if (!value || *value > k_max_elements) {
      throw Error(fmt::format("npy shape has a dimension of {} (at most {} are supported)",
                              printable(digits), k_max_elements));
    }
    at_ = end;
    if (at_ < text_.size() && text_[at_] == 'L') ++at_;  // Python 2 wrote long ints as 3L
    return int64_t(*value);
  }

  std::string_view text_;
  size_t at_ = 0;
};

}  // namespace

NpyArray read_npy(const std::string& path) {
  return io::with_path_in_errors(path, [&] {
    const std::vector<uint8_t> bytes = io::read_file(path);
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
    const NpyHeader header =
        HeaderParser({reinterpret_cast<const char*>(bytes.data()) + header_start, header_len})
            .parse();
    if (header.fortran_order) throw Error("Fortran-order arrays are not supported");
    size_t elem = 0;
    if (header.descr == "<f4") elem = 4;
    else if (header.descr == "<f8") elem = 8;
    else if (header.descr == "<f2") elem = 2;
    else {
      throw Error(fmt::format("dtype '{}' is not float16/32/64 little-endian",
                              printable(header.descr)));
    }

    NpyArray array;
    array.shape = header.shape;
    uint64_t count = 1;
    for (const int64_t d : array.shape) {
      if (d != 0 && count > k_max_elements / uint64_t(d)) {
        throw Error(fmt::format("the array holds more than {} elements", k_max_elements));
      }
      count *= uint64_t(d);
    }
    const size_t data_start = header_start + header_len;
    if (bytes.size() - data_start != count * elem) {
      throw Error(fmt::format("holds {} data bytes, but {} elements of {} bytes need {}",
                              bytes.size() - data_start, count, elem, count * elem));
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
        array.values[i] = io::half_to_float(h);
      }
    }
    return array;
  });
}
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* values) {
  io::with_path_in_errors(path, [&] {
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
    io::write_file_atomically(path, bytes);
  });
}

}  // namespace vkseg
