// vkseg::convert: a checkpoint or an ONNX model, through its front end, to a model file.
#include "vkseg/convert.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>

#include <utility>

#include "graph/front_ends.hpp"
#include "io/checkpoint.hpp"
#include "onnx/onnx_file.hpp"
#include "onnx/onnx_front_end.hpp"
#include "vkseg/error.hpp"
#include "vkseg/text.hpp"

namespace vkseg {

namespace {

// Refuses an output that is the input (by device and inode, so any spelling of its path
// matches), and one that exists unless `overwrite`.
void check_output(const std::string& input, const std::string& output, bool overwrite) {
  struct stat out, in;
  if (::stat(output.c_str(), &out) != 0) return;
  if (::stat(input.c_str(), &in) == 0 && in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
    throw Error(fmt::format("{}: the output is the input; it would be replaced", printable(output)));
  }
  if (!overwrite) {
    throw Error(fmt::format("{} exists; overwrite it with --force", printable(output)));
  }
}

// Preprocessing overrides, given in R, G, B order, into the model's own channel order.
void apply_preprocess(const ConvertOptions& options, Preprocess& pre) {
  if (options.bgr) pre.bgr = *options.bgr;
  auto to_model_order = [&](std::array<float, 3> rgb) {
    if (pre.bgr) std::swap(rgb[0], rgb[2]);
    return rgb;
  };
  if (options.mean) pre.mean = to_model_order(*options.mean);
  if (options.std) {
    for (float s : *options.std) {
      if (!(s != 0.0f) || !std::isfinite(s)) throw Error("std values must be finite and non-zero");
    }
    pre.std = to_model_order(*options.std);
  }
  if (options.scale) {
    if (!std::isfinite(*options.scale)) throw Error("scale must be finite");
    pre.scale = *options.scale;
  }
}

}  // namespace

ConvertReport convert(const std::string& input, const std::string& output,
                      const ConvertOptions& options) {
  if (options.dtype != "fp32" && options.dtype != "fp16") {
    throw Error(fmt::format("dtype must be fp32 or fp16, not '{}'", printable(options.dtype)));
  }
  check_output(input, output, options.overwrite);
  ConvertReport report;
  // ONNX is told by content: its ModelProto starts unlike every checkpoint format.
  const bool is_onnx = onnx::looks_like_onnx(input);
  detail::ModelData model = [&] {
    if (is_onnx) {
      report.format = "onnx";
      return onnx::build_onnx(input, options);
    }
    io::Checkpoint checkpoint = io::read_checkpoint(input);
    report.tensors = checkpoint.tensors.size();
    report.format = checkpoint.format;
    try {
      return graph::build_model(std::move(checkpoint), options);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", printable(input), e.what()));
    }
  }();
  if (is_onnx) report.tensors = model.weights.size();
  model.weight_dtype = options.dtype;
  try {
    apply_preprocess(options, model.preprocess);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", printable(input), e.what()));
  }
  if (!options.class_names.empty()) {
    if (options.class_names.size() != model.classes.size()) {
      throw Error(fmt::format("{}: {} class names given; the network scores {} classes",
                              printable(input), options.class_names.size(), model.classes.size()));
    }
    for (size_t i = 0; i < model.classes.size(); ++i) model.classes[i].name = options.class_names[i];
  }
  // NaN in means NaN out: such a network gives NaN wherever those weights reach.
  report.non_finite_weights = detail::non_finite_weights(model);
  if (!report.non_finite_weights.empty() && options.refuse_non_finite) {
    throw Error(fmt::format("{}: weights hold NaN or infinite values: {}", printable(input),
                            fmt::join(report.non_finite_weights, ", ")));
  }
  detail::save_model(model, output);
  report.arch = model.arch;
  for (const auto& [name, w] : model.weights) report.parameters += w.values.size();
  report.classes = uint32_t(model.classes.size());
  report.dtype = model.weight_dtype;
  report.notes = model.notes;
  return report;
}

}  // namespace vkseg
