// `vkseg ops`: every op a model graph may hold, from the op registry.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "args.hpp"
#include "commands.hpp"
#include "vkseg/model.hpp"

namespace vkseg::cli {

int cmd_ops(const std::vector<std::string>& arguments) {
  const Args args("ops", arguments, {}, {});
  if (!args.positional().empty()) throw Error("ops: usage: vkseg ops");
  for (const OpInfo& op : supported_ops()) {
    const std::string inputs = op.min_inputs == op.max_inputs
                                   ? fmt::format("{}", op.min_inputs)
                                   : fmt::format("{}-{}", op.min_inputs, op.max_inputs);
    fmt::print("{} ({} input{}): {}\n", op.name, inputs, op.max_inputs == 1 ? "" : "s",
               op.summary);
    if (!op.weights.empty()) fmt::print("  weights: {}\n", fmt::join(op.weights, ", "));
    for (const std::string& a : op.attributes) fmt::print("  {}\n", a);
  }
  return 0;
}

}  // namespace vkseg::cli
