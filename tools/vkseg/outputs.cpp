#include <fmt/format.h>
#include <sys/stat.h>

#include <map>
#include <set>
#include <utility>

#include "commands.hpp"
#include "vkseg/error.hpp"

namespace vkseg::cli {

void check_outputs(const std::string& command, const std::vector<PlannedOutput>& outputs,
                   const std::vector<std::string>& inputs, bool force) {
  // Inputs by device and inode, so a link or another spelling of an input's path still matches.
  std::set<std::pair<dev_t, ino_t>> input_files;
  for (const std::string& input : inputs) {
    struct stat s;
    if (::stat(input.c_str(), &s) == 0) input_files.emplace(s.st_dev, s.st_ino);
  }
  std::map<std::filesystem::path, const PlannedOutput*> writers;
  for (const PlannedOutput& output : outputs) {
    const auto [it, inserted] = writers.emplace(output.path.lexically_normal(), &output);
    if (!inserted) {
      throw Error(fmt::format("{}: {} and {} would both write {}; rename one or write them to "
                              "different directories",
                              command, it->second->source, output.source, output.path.string()));
    }
    struct stat s;
    if (::stat(output.path.c_str(), &s) != 0) continue;  // nothing there yet
    if (input_files.count({s.st_dev, s.st_ino})) {
      throw Error(fmt::format("{}: the output {} is one of the inputs; it would be replaced",
                              command, output.path.string()));
    }
    if (!force) {
      throw Error(
          fmt::format("{}: {} exists; pass --force to overwrite it", command, output.path.string()));
    }
  }
}

}  // namespace vkseg::cli
