// `vkseg run`: raw logits for an NCHW float32 .npy input.
#include <fmt/format.h>

#include "args.hpp"
#include "commands.hpp"
#include "vkseg/error.hpp"
#include "vkseg/model.hpp"
#include "vkseg/npy.hpp"

namespace vkseg::cli {

int cmd_run(const std::vector<std::string>& arguments) {
  const Args args("run", arguments, {"--input", "--output", "--device"},
                  {"--force", "--no-autotune"});
  if (args.positional().size() != 1) {
    throw Error("run: usage: vkseg run MODEL --input IN.npy --output OUT.npy [--device N]");
  }
  const auto input = args.value("--input");
  const auto output = args.value("--output");
  if (!input || !output) throw Error("run: --input and --output are required");
  check_outputs("run", {{*output, *input}}, {args.positional()[0], *input}, args.has("--force"));
  Model model = Model::load(args.positional()[0]);
  NpyArray array = read_npy(*input);
  auto& s = array.shape;
  if (s.size() == 3) s.insert(s.begin(), 1);
  if (s.size() != 4 || s[1] != model.input_channels() || s[0] < 1 || s[2] < 1 || s[3] < 1 ||
      s[0] > 4096 || s[2] > 65536 || s[3] > 65536) {
    throw Error(fmt::format("{}: expected an N x {} x H x W float array", *input,
                            model.input_channels()));
  }
  Context context(context_options(args));
  Network network(context, model);
  model = network.model();  // drops the host copy of the weights
  Session session(network, uint32_t(s[0]), uint32_t(s[2]), uint32_t(s[3]));
  const Shape4 out = session.output_shape();
  std::vector<float> logits(static_cast<size_t>(out[0]) * out[1] * out[2] * out[3]);
  session.run(array.values.data(), logits.data());
  write_npy(*output, {out[0], out[1], out[2], out[3]}, logits.data());
  fmt::print("{}: {}x{}x{}x{} logits on {} (activations {:.1f} MiB)\n", *output, out[0], out[1],
             out[2], out[3], context.info().name, double(session.activation_bytes()) / (1 << 20));
  return 0;
}

}  // namespace vkseg::cli
