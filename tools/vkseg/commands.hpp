#pragma once
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vkseg::cli {

// Each command takes the arguments after its name and returns the process exit status.
int cmd_devices(const std::vector<std::string>& args);
int cmd_convert(const std::vector<std::string>& args);
int cmd_run(const std::vector<std::string>& args);
int cmd_segment(const std::vector<std::string>& args);
int cmd_eval(const std::vector<std::string>& args);
int cmd_info(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);

// Prints one JSON object on a line of its own. Non-ASCII characters become \uXXXX escapes: the
// line stays exact and holds nothing a terminal would act on (names come from model files).
inline void print_json_line(const nlohmann::ordered_json& line) {
  fmt::print("{}\n", line.dump(-1, ' ', /*ensure_ascii=*/true));
}

// "HxW" (e.g. 512x512) as (height, width).
std::pair<uint32_t, uint32_t> parse_size(const std::string& text);

}  // namespace vkseg::cli
