// `vkseg convert`: a PyTorch checkpoint (zip, legacy or safetensors) to a .vkseg model.
#include <fmt/format.h>

#include "args.hpp"
#include "commands.hpp"
#include "graph/fcn_builder.hpp"
#include "io/checkpoint.hpp"

namespace vkseg::cli {

int cmd_convert(const std::vector<std::string>& arguments) {
  const Args args("convert", arguments,
                  {"-o", "--output", "--arch", "--num-classes", "--dtype", "--mean", "--std",
                   "--scale", "--classes"},
                  {"--bgr", "--rgb", "--no-fc-relu", "--aligned", "--force"});
  if (args.positional().size() != 1) {
    throw Error("convert: usage: vkseg convert CHECKPOINT -o MODEL [options]");
  }
  const std::string input = args.positional()[0];
  const auto output = args.value("-o") ? args.value("-o") : args.value("--output");
  if (!output) throw Error("convert: name the model file to write with -o MODEL");
  check_outputs("convert", {{*output, input}}, {input}, args.has("--force"));
  if (args.has("--bgr") && args.has("--rgb")) throw Error("convert: --bgr and --rgb conflict");

  graph::FcnOptions options;
  options.arch = args.value_or("--arch", "auto");
  options.num_classes = args.uint_value("--num-classes", 1, 65536);
  options.fc_relu = !args.has("--no-fc-relu");
  options.caffe_padding = !args.has("--aligned");

  io::Checkpoint checkpoint = io::read_checkpoint(input);
  const size_t tensor_count = checkpoint.tensors.size();
  const std::string format = checkpoint.format;
  detail::ModelData model = [&] {
    try {
      return graph::build_fcn(std::move(checkpoint), options);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", input, e.what()));
    }
  }();
  model.weight_dtype = args.value_or("--dtype", "fp32");
  if (model.weight_dtype != "fp32" && model.weight_dtype != "fp16") {
    throw Error(fmt::format("convert: --dtype must be fp32 or fp16, not '{}'", model.weight_dtype));
  }
  Preprocess& pre = model.preprocess;
  if (args.has("--bgr")) pre.bgr = true;
  if (args.has("--rgb")) pre.bgr = false;
  // --mean and --std are given in R,G,B order; the model stores its own channel order.
  auto to_model_order = [&](std::array<float, 3> rgb) {
    if (pre.bgr) std::swap(rgb[0], rgb[2]);
    return rgb;
  };
  if (auto mean = args.value("--mean")) pre.mean = to_model_order(parse_triple("--mean", *mean));
  if (auto std = args.value("--std")) {
    pre.std = to_model_order(parse_triple("--std", *std));
    for (float s : pre.std) {
      if (s == 0.0f) throw Error("convert: --std values must be non-zero");
    }
  }
  if (auto scale = args.value("--scale")) {
    pre.scale = parse_number("--scale", *scale);
  }

  if (auto names = args.value("--classes")) {
    std::vector<std::string> list;
    for (size_t start = 0;;) {
      const size_t comma = names->find(',', start);
      list.push_back(names->substr(start, comma == std::string::npos ? comma : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (list.size() != model.classes.size()) {
      throw Error(fmt::format("convert: --classes names {} classes; the network scores {}",
                              list.size(), model.classes.size()));
    }
    for (size_t i = 0; i < list.size(); ++i) model.classes[i].name = list[i];
  }

  detail::save_model(model, *output);
  uint64_t parameters = 0;
  for (const auto& [name, w] : model.weights) parameters += w.values.size();
  fmt::print("{}: {} ({}, {} tensors, {} parameters, {} classes) -> {} ({})\n", input, model.arch,
             format, tensor_count, parameters, model.classes.size(), *output,
             model.weight_dtype);
  return 0;
}

}  // namespace vkseg::cli
