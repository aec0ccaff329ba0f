// `vkseg convert`: a PyTorch checkpoint (zip, legacy or safetensors) or an ONNX model to a .vkseg
// model.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>

#include "args.hpp"
#include "commands.hpp"
#include "vkseg/convert.hpp"
#include "vkseg/error.hpp"

namespace vkseg::cli {

int cmd_convert(const std::vector<std::string>& arguments) {
  const Args args("convert", arguments,
                  {"-o", "--output", "--arch", "--num-classes", "--dtype", "--mean", "--std",
                   "--scale", "--classes", "--layout"},
                  {"--bgr", "--rgb", "--fc-relu", "--no-fc-relu", "--aligned", "--force",
                   "--refuse-non-finite"});
  if (args.value("--arch") == "list") {
    for (const ArchInfo& a : supported_archs()) {
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

  ConvertOptions options;
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
  options.dtype = args.value_or("--dtype", "fp32");
  if (options.dtype != "fp32" && options.dtype != "fp16") {
    throw Error(fmt::format("convert: --dtype must be fp32 or fp16, not '{}'", options.dtype));
  }
  if (args.has("--bgr")) options.bgr = true;
  if (args.has("--rgb")) options.bgr = false;
  if (auto mean = args.value("--mean")) options.mean = parse_triple("--mean", *mean);
  if (auto std = args.value("--std")) {
    options.std = parse_triple("--std", *std);
    for (float s : *options.std) {
      if (s == 0.0f) throw Error("convert: --std values must be non-zero");
    }
  }
  if (auto scale = args.value("--scale")) options.scale = parse_number("--scale", *scale);
  if (auto names = args.value("--classes")) {
    for (size_t start = 0;;) {
      const size_t comma = names->find(',', start);
      options.class_names.push_back(
          names->substr(start, comma == std::string::npos ? comma : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  options.refuse_non_finite = args.has("--refuse-non-finite");
  options.overwrite = true;  // check_outputs has applied --force

  const ConvertReport report = convert(input, *output, options);
  fmt::print("{}: {} ({}, {} tensors, {} parameters, {} classes) -> {} ({})\n", input, report.arch,
             report.format, report.tensors, report.parameters, report.classes, *output,
             report.dtype);
  std::fflush(stdout);  // the summary first, then what it assumed
  for (const std::string& note : report.notes) fmt::print(stderr, "vkseg: note: {}\n", note);
  if (!report.non_finite_weights.empty()) {
    fmt::print(stderr, "vkseg: warning: weights hold NaN or infinite values, which reach the "
                       "outputs: {} (--refuse-non-finite refuses such checkpoints)\n",
               fmt::join(report.non_finite_weights, ", "));
  }
  return 0;
}

}  // namespace vkseg::cli
