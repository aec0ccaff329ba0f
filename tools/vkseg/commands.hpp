#pragma once
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
int cmd_ops(const std::vector<std::string>& args);

// "HxW" (e.g. 512x512) as (height, width).
std::pair<uint32_t, uint32_t> parse_size(const std::string& text);

}  // namespace vkseg::cli
