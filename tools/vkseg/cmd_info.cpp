// `vkseg info`: what a model is and what it costs at a given input size.
#include <fmt/format.h>

#include "args.hpp"
#include "commands.hpp"
#include "vkseg/error.hpp"
#include "vkseg/model.hpp"
#include "vkseg/text.hpp"

namespace vkseg::cli {

namespace {

std::string mib(uint64_t bytes) { return fmt::format("{:.1f} MiB", double(bytes) / (1 << 20)); }

}  // namespace

int cmd_info(const std::vector<std::string>& arguments) {
  const Args args("info", arguments, {"--size", "--batch", "--device"}, {"--no-autotune"});
  if (args.positional().size() != 1) {
    throw Error("info: usage: vkseg info MODEL [--size HxW] [--batch N] [--device N]");
  }
  Model model = Model::load(args.positional()[0]);
  const auto [height, width] = parse_size(args.value_or("--size", "512x512"));
  const uint32_t batch = args.uint_value("--batch", 1, 4096).value_or(1);
  Context context(context_options(args));
  Network network(context, model);
  model = network.model();  // drops the host copy of the weights
  Session session(network, batch, height, width);

  const Preprocess& p = model.preprocess();
  fmt::print("model        {} ({} weights)\n", printable(model.arch()), model.weight_dtype());
  fmt::print("parameters   {}\n", model.parameter_count());
  fmt::print("input        {} channels, {}; sizes: multiples of {}, at least {}\n",
             model.input_channels(), p.bgr ? "BGR" : "RGB", model.input_multiple(), model.min_input());
  fmt::print("preprocess   value = (pixel * {:g} - mean) / std, mean {:g},{:g},{:g}, std "
             "{:g},{:g},{:g} (model channel order)\n",
             p.scale, p.mean[0], p.mean[1], p.mean[2], p.std[0], p.std[1], p.std[2]);
  fmt::print("classes      {}:", model.classes().size());
  for (size_t i = 0; i < model.classes().size() && i < 32; ++i) {
    fmt::print(" {}", printable(model.classes()[i].name));
  }
  fmt::print("{}\n", model.classes().size() > 32 ? " ..." : "");
  for (const std::string& note : model.notes()) fmt::print("note         {}\n", note);
  fmt::print("\nat {}x{}, batch {}:\n", height, width, batch);
  fmt::print("  {:<16} {:<17} {:>22} {:>12}\n", "layer", "op", "output", "GFLOP");
  uint64_t total = 0;
  for (const Session::Layer& l : session.layers()) {
    fmt::print("  {:<16} {:<17} {:>22} {:>12.3f}\n", printable(l.name), l.op,
               fmt::format("{}x{}x{}x{}", l.output[0], l.output[1], l.output[2], l.output[3]),
               double(l.flops) * 1e-9);
    total += l.flops;
  }
  fmt::print("total        {:.2f} GFLOP\n", double(total) * 1e-9);
  fmt::print("weights      {}\n", mib(network.weight_bytes()));
  fmt::print("activations  {} planned ({} if every layer had its own buffer)\n",
             mib(session.activation_bytes()), mib(session.naive_activation_bytes()));
  fmt::print("workspace    {} (im2col and Winograd scratch, in chunks)\n",
             mib(session.workspace_bytes()));
  return 0;
}

}  // namespace vkseg::cli
