#include <fmt/format.h>

#include "commands.hpp"

namespace vkseg::cli {

const std::vector<std::string> k_crf_valued_options = {
    "--crf-iterations",         "--crf-appearance-weight",  "--crf-appearance-xy-std",
    "--crf-appearance-rgb-std", "--crf-smoothness-weight", "--crf-smoothness-xy-std"};

std::set<std::string> with_crf_options(std::set<std::string> valued) {
  valued.insert(k_crf_valued_options.begin(), k_crf_valued_options.end());
  return valued;
}

std::optional<CrfOptions> crf_options(const std::string& command, const Args& args) {
  if (!args.has("--crf")) {
    for (const std::string& option : k_crf_valued_options) {
      if (args.has(option)) throw Error(fmt::format("{}: {} needs --crf", command, option));
    }
    return std::nullopt;
  }
  CrfOptions o;
  o.iterations = args.uint_value("--crf-iterations", 0, 1000).value_or(o.iterations);
  auto number = [&](const char* option, float& field) {
    if (const auto text = args.value(option)) field = parse_number(option, *text);
  };
  number("--crf-appearance-weight", o.appearance_weight);
  number("--crf-appearance-xy-std", o.appearance_xy_std);
  number("--crf-appearance-rgb-std", o.appearance_rgb_std);
  number("--crf-smoothness-weight", o.smoothness_weight);
  number("--crf-smoothness-xy-std", o.smoothness_xy_std);
  try {
    validate_crf_options(o);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", command, e.what()));
  }
  return o;
}

}  // namespace vkseg::cli
