// `vkseg tune`: time every convolution shape of a model again and show what was chosen.
#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "args.hpp"
#include "commands.hpp"
#include "vkseg/error.hpp"
#include "vkseg/model.hpp"

namespace vkseg::cli {

int cmd_tune(const std::vector<std::string>& arguments) {
  const Args args("tune", arguments, {"--precision", "--device"}, {"--json"});
  if (args.positional().size() != 1) {
    throw Error("tune: usage: vkseg tune MODEL [--precision fp32|fp16] [--json] [--device N]");
  }
  const Precision precision = parse_precision(args.value_or("--precision", "fp32"));
  const Model model = Model::load(args.positional()[0]);
  ContextOptions options = context_options(args);
  options.retune = true;
  Context context(options);
  const Network network(context, model, precision);
  const std::vector<TuningRecord> records = context.tuning_records();
  if (args.has("--json")) {
    for (const TuningRecord& r : records) {
      nlohmann::ordered_json line{
          {"layer", r.layer}, {"variant", r.variant}, {"rule", r.rule}, {"proxy", r.proxy}};
      line["ms"] = nlohmann::ordered_json::object();
      for (const auto& [name, ms] : r.milliseconds) {
        line["ms"][name] = std::isfinite(ms) ? nlohmann::ordered_json(ms) : nullptr;
      }
      print_json_line(line);
    }
    return 0;
  }
  fmt::print("{} convolution shapes timed on {} (timings in ms on the proxy input, best of "
             "three runs; '-': gave up after one run; the first timed is the rules' choice, which "
             "stands unless another is {}x faster)\n",
             records.size(), context.info().name, tuning_rule_margin);
  for (const TuningRecord& r : records) {
    std::string timings;
    for (const auto& [name, ms] : r.milliseconds) {
      timings += std::isfinite(ms) ? fmt::format(" {} {:.2f}", name, ms) : fmt::format(" {} -", name);
    }
    fmt::print("  {:<44} {:<10} on {:<18}{}\n", r.layer, r.variant, r.proxy, timings);
  }
  fmt::print("Layers not listed (grouped, depthwise, thin, or with one shader that runs them) use "
             "the built-in rules.\n");
  return 0;
}

}  // namespace vkseg::cli
