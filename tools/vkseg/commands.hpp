#pragma once
#include <string>
#include <vector>

namespace vkseg::cli {

// Each command takes the arguments after its name and returns the process exit status.
int cmd_devices(const std::vector<std::string>& args);
int cmd_convert(const std::vector<std::string>& args);
int cmd_run(const std::vector<std::string>& args);
int cmd_segment(const std::vector<std::string>& args);
int cmd_eval(const std::vector<std::string>& args);
int cmd_info(const std::vector<std::string>& args);

}  // namespace vkseg::cli
