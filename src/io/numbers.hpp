#pragma once
// Numbers from files, the command line and the environment, parsed strictly: the whole text is
// one number in plain decimal (no spaces, no '+', no "0x"; no '-' for an unsigned type), it fits
// the type, and a float is finite. std::from_chars does the parsing; strtoul and friends skip
// spaces, wrap "-1" around to the largest value and read "12abc" as 12.
#include <charconv>
#include <cmath>
#include <optional>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace vkseg::io {

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

}  // namespace vkseg::io
