// `vkseg convert`: a PyTorch checkpoint (zip, legacy or safetensors) or an ONNX model to a .vkseg
// model.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>

#include "args.hpp"
#include "commands.hpp"
#include "graph/front_ends.hpp"
#include "io/checkpoint.hpp"
#include "onnx/onnx_file.hpp"
#include "onnx/onnx_front_end.hpp"

namespace vkseg::cli {

int cmd_convert(const std::vector<std::string>& arguments) {
  const Args args("convert", arguments,
                  {"-o", "--output", "--arch", "--num-classes", "--dtype", "--mean", "--std",
                   "--scale", "--classes", "--layout"},
                  {"--bgr", "--rgb", "--fc-relu", "--no-fc-relu", "--aligned", "--force",
                   "--refuse-non-finite"});
  if (args.value("--arch") == "list") {
    for (const graph::ArchInfo& a : graph::supported_archs()) {
      fmt::print("{:<30} {}\n", a.name, a.description);
    }
    return 0;
  }
  if (args.positional().size() != 1) {
    throw Error("convert: usage: vkseg convert CHECKPOINT|MODEL.onnx -o MODEL [options] (--arch "
                "list: the networks it converts from PyTorch checkpoints; ONNX graphs need none)");
  }
  const std::string input = args.positional()[0];
  const auto output = args.value("-o") ? args.value("-o") : args.value("--output");
  if (!output) throw Error("convert: name the model file to write with -o MODEL");
  check_outputs("convert", {{*output, input}}, {input}, args.has("--force"));
  if (args.has("--bgr") && args.has("--rgb")) throw Error("convert: --bgr and --rgb conflict");

  graph::ConvertOptions options;
  options.arch = args.value_or("--arch", "auto");
  options.num_classes = args.uint_value("--num-classes", 1, 65536);
  if (args.has("--fc-relu") && args.has("--no-fc-relu")) {
    throw Error("convert: --fc-relu and --no-fc-relu conflict");
  }
  if (args.has("--fc-relu") || args.has("--no-fc-relu")) options.fc_relu = args.has("--fc-relu");
  // --aligned is the older spelling of --layout aligned.
  const std::string layout = args.value_or("--layout", args.has("--aligned") ? "aligned" : "auto");
  if (layout != "auto" && layout != "caffe" && layout != "aligned") {
    throw Error(fmt::format("convert: --layout takes auto, caffe or aligned, not '{}'", layout));
  }
  if (args.has("--aligned") && args.value("--layout") && layout != "aligned") {
    throw Error("convert: --aligned and --layout caffe conflict");
  }
  if (layout != "auto") options.caffe_padding = layout == "caffe";

  // ONNX is told by content: its ModelProto starts unlike every checkpoint format.
  const bool is_onnx = onnx::looks_like_onnx(input);
  size_t tensor_count = 0;
  std::string format = "onnx";
  detail::ModelData model = [&] {
    if (is_onnx) return onnx::build_onnx(input, options);
    io::Checkpoint checkpoint = io::read_checkpoint(input);
    tensor_count = checkpoint.tensors.size();
    format = checkpoint.format;
    try {
      return graph::build_model(std::move(checkpoint), options);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", input, e.what()));
    }
  }();
  if (is_onnx) tensor_count = model.weights.size();
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

  // NaN in means NaN out: such a network gives NaN wherever those weights reach.
  const std::vector<std::string> non_finite = detail::non_finite_weights(model);
  if (!non_finite.empty() && args.has("--refuse-non-finite")) {
    throw Error(fmt::format("convert: {}: weights hold NaN or infinite values: {}", input,
                            fmt::join(non_finite, ", ")));
  }
  detail::save_model(model, *output);
  uint64_t parameters = 0;
  for (const auto& [name, w] : model.weights) parameters += w.values.size();
  fmt::print("{}: {} ({}, {} tensors, {} parameters, {} classes) -> {} ({})\n", input, model.arch,
             format, tensor_count, parameters, model.classes.size(), *output,
             model.weight_dtype);
  std::fflush(stdout);  // the summary first, then what it assumed
  for (const std::string& note : model.notes) fmt::print(stderr, "vkseg: note: {}\n", note);
  if (!non_finite.empty()) {
    fmt::print(stderr, "vkseg: warning: weights hold NaN or infinite values, which reach the "
                       "outputs: {} (--refuse-non-finite refuses such checkpoints)\n",
               fmt::join(non_finite, ", "));
  }
  return 0;
}

}  // namespace vkseg::cli
