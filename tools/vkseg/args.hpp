#pragma once
// A small command-line parser: `--name value`, `--name=value`, boolean `--flag`, positionals.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace vkseg::cli {

class Args {
 public:
  // `valued` options take a value; `flags` take none. Anything else starting with '-' is an error.
  Args(const std::string& command, const std::vector<std::string>& args,
       const std::set<std::string>& valued, const std::set<std::string>& flags);

  bool has(const std::string& name) const { return flags_.count(name) || values_.count(name); }
  std::optional<std::string> value(const std::string& name) const;
  std::string value_or(const std::string& name, const std::string& fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }

  // Parses an unsigned integer option, naming the option in errors.
  std::optional<uint32_t> uint_value(const std::string& name, uint32_t min, uint32_t max) const;

 private:
  std::string command_;
  std::set<std::string> flags_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

// Parses one finite number, naming the option in errors.
float parse_number(const std::string& option, const std::string& text);

// Parses "R,G,B" into three floats.
std::array<float, 3> parse_triple(const std::string& option, const std::string& text);

// Parses --size "HxW" (e.g. 512x512) into (height, width), each 1 to 99999.
std::pair<uint32_t, uint32_t> parse_size(const std::string& text);

}  // namespace vkseg::cli
