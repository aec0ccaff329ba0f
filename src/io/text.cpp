#include "vkseg/text.hpp"

#include <fmt/format.h>

#include <cstdint>

namespace vkseg {

namespace {

// Length of the valid UTF-8 sequence starting at text[at] and its code point, or 0 when the
// bytes there are not one (overlong forms, surrogates and code points past U+10FFFF are not).
size_t utf8_sequence(std::string_view text, size_t at, uint32_t& code_point) {
  const auto byte = [&](size_t i) { return uint8_t(text[i]); };
  const uint8_t lead = byte(at);
  size_t length;
  uint32_t min;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2, min = 0x80, code_point = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3, min = 0x800, code_point = lead & 0x0f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4, min = 0x10000, code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (text.size() - at < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xc0) != 0x80) return 0;
    code_point = code_point << 6 | (byte(at + i) & 0x3f);
  }
  if (code_point < min || code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff))
    return 0;
  return length;
}

// Code points a terminal or a text layout acts on: C1 controls (U+009B is CSI on some
// terminals), line and paragraph separators, and the bidirectional marks and overrides that can
// make a message read differently from what it holds.
bool is_format_control(uint32_t c) {
  return (c >= 0x80 && c <= 0x9f) || c == 0x200e || c == 0x200f || (c >= 0x2028 && c <= 0x202e) ||
         (c >= 0x2066 && c <= 0x2069);
}

}  // namespace

std::string printable(std::string_view text, size_t max_bytes) {
  const bool cut = text.size() > max_bytes;
  if (cut) text = text.substr(0, max_bytes);
  std::string out;
  out.reserve(text.size());
  for (size_t at = 0; at < text.size();) {
    const uint8_t c = uint8_t(text[at]);
    if (c >= 0x20 && c < 0x7f) {
      if (c == '\\') out += '\\';
      out += char(c);
      ++at;
      continue;
    }
    switch (c) {
      case '\n': out += "\\n"; ++at; continue;
      case '\r': out += "\\r"; ++at; continue;
      case '\t': out += "\\t"; ++at; continue;
      default: break;
    }
    uint32_t code_point = 0;
    const size_t length = c >= 0x80 ? utf8_sequence(text, at, code_point) : 0;
    if (length == 0) {
      out += fmt::format("\\x{:02x}", c);
      ++at;
    } else if (is_format_control(code_point)) {
      out += fmt::format("\\u{:04x}", code_point);
      at += length;
    } else {
      out.append(text.substr(at, length));
      at += length;
    }
  }
  if (cut) out += "...";
  return out;
}

}  // namespace vkseg
