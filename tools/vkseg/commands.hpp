#pragma once
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "args.hpp"
#include "vkseg/context.hpp"
#include "vkseg/crf.hpp"

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
int cmd_tune(const std::vector<std::string>& args);

// Prints one JSON object on a line of its own. Non-ASCII characters become \uXXXX escapes: the
// line stays exact and holds nothing a terminal would act on (names come from model files).
inline void print_json_line(const nlohmann::ordered_json& line) {
  fmt::print("{}\n", line.dump(-1, ' ', /*ensure_ascii=*/true));
}

// A file a command will write, and the input it is made from (named in errors).
struct PlannedOutput {
  std::filesystem::path path;
  std::string source;
};

// Checks every output before any work, so nothing is lost or half done: refuses two outputs of
// one name (say a/x.png and b/x.png, both making x_mask.png), an output that is one of `inputs`
// (the same file by any path; even with --force, since the input would be destroyed), and,
// without `force`, an output that exists.
void check_outputs(const std::string& command, const std::vector<PlannedOutput>& outputs,
                   const std::vector<std::string>& inputs, bool force);

// The device from --device, the on-disk pipeline cache every command shares, and autotuning
// unless --no-autotune (a command that takes the flag must declare it).
ContextOptions context_options(const Args& args);

// The dense CRF options segment and eval share: the --crf flag, then each parameter's option.
extern const std::vector<std::string> k_crf_valued_options;
// `valued` with the --crf-* options added.
std::set<std::string> with_crf_options(std::set<std::string> valued);
// The CRF parameters from --crf and --crf-* (validated), or none without --crf; a --crf-* option
// without --crf is an error.
std::optional<CrfOptions> crf_options(const std::string& command, const Args& args);

}  // namespace vkseg::cli
