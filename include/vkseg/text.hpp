#pragma once
// Text that vkseg reads from files, the command line and the environment: quoting it safely in
// messages, and parsing numbers from it strictly.
#include <charconv>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace vkseg {

// `text` with everything a terminal would act on escaped: control characters as \n, \r, \t or
// \xNN, DEL and bytes that are not valid UTF-8 as \xNN, C1 controls, line separators and
// bidirectional overrides as \uNNNN, and a backslash as \\ (so an escape is never ambiguous).
// Valid printable UTF-8 stays as it is. Text longer than `max_bytes` is cut there and ends
// in "..." so that a huge name cannot flood the message.
std::string printable(std::string_view text, size_t max_bytes = 200);

// The whole text as one number in plain decimal (no spaces, no '+', no "0x"; no '-' for an
// unsigned type) that fits the type, and for a float is finite; otherwise nothing.
// std::from_chars does the parsing: strtoul and friends skip spaces, wrap "-1" around to the
// largest value and read "12abc" as 12.
template <class Number>
std::optional<Number> parse_decimal(std::string_view text) {
  Number value{};
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || stop != end) return std::nullopt;
  if constexpr (std::is_floating_point_v<Number>) {
    if (!std::isfinite(value)) return std::nullopt;  // from_chars reads "inf" and "nan"
  }
  return value;
}

}  // namespace vkseg
