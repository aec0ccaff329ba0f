#include "args.hpp"

#include <fmt/format.h>

#include "vkseg/error.hpp"
#include "vkseg/text.hpp"

namespace vkseg::cli {

Args::Args(const std::string& command, const std::vector<std::string>& args,
           const std::set<std::string>& valued, const std::set<std::string>& flags)
    : command_(command) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 2 || a[0] != '-') {
      positional_.push_back(a);
      continue;
    }
    std::string name = a;
    std::optional<std::string> inline_value;
    if (const size_t eq = a.find('='); eq != std::string::npos && a.rfind("--", 0) == 0) {
      name = a.substr(0, eq);
      inline_value = a.substr(eq + 1);
    }
    if (valued.count(name)) {
      if (!inline_value) {
        if (i + 1 >= args.size()) throw Error(fmt::format("{}: {} needs a value", command, name));
        inline_value = args[++i];
      }
      values_[name] = *inline_value;
    } else if (flags.count(name) && !inline_value) {
      flags_.insert(name);
    } else {
      throw Error(fmt::format("{}: unknown option '{}' (see vkseg --help)", command, a));
    }
  }
}

std::optional<std::string> Args::value(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::value_or(const std::string& name, const std::string& fallback) const {
  return value(name).value_or(fallback);
}

std::optional<uint32_t> Args::uint_value(const std::string& name, uint32_t min, uint32_t max) const {
  const auto text = value(name);
  if (!text) return std::nullopt;
  const std::optional<uint64_t> v = parse_decimal<uint64_t>(*text);
  if (!v || *v < min || *v > max) {
    throw Error(fmt::format("{}: {} must be an integer from {} to {}, not '{}'", command_, name,
                            min, max, *text));
  }
  return uint32_t(*v);
}

float parse_number(const std::string& option, const std::string& text) {
  const std::optional<float> value = parse_decimal<float>(text);
  if (!value) throw Error(fmt::format("{}: '{}' is not a finite number", option, text));
  return *value;
}

std::pair<uint32_t, uint32_t> parse_size(const std::string& text) {
  const std::string_view view = text;
  const size_t x = view.find('x');
  const auto number = [&](std::string_view part) {
    const std::optional<uint32_t> value = parse_decimal<uint32_t>(part);
    if (x == std::string_view::npos || !value || *value == 0 || *value > 99999) {
      throw Error(fmt::format("--size takes HxW (e.g. 512x512), not '{}'", text));
    }
    return *value;
  };
  return {number(view.substr(0, x)), number(view.substr(x + 1))};
}

std::array<float, 3> parse_triple(const std::string& option, const std::string& text) {
  std::array<float, 3> out{};
  size_t start = 0;
  for (int i = 0; i < 3; ++i) {
    const size_t comma = text.find(',', start);
    if ((i < 2) != (comma != std::string::npos)) {
      throw Error(fmt::format("{} takes three comma-separated numbers, not '{}'", option, text));
    }
    out[i] = parse_number(option, text.substr(start, comma == std::string::npos ? comma : comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace vkseg::cli
