// `vkseg segment`: label maps (palette PNG), overlays and class shares for images.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "args.hpp"
#include "commands.hpp"
#include "progress.hpp"
#include "vkseg/error.hpp"
#include "vkseg/image.hpp"
#include "vkseg/segment.hpp"
#include "vkseg/text.hpp"

namespace vkseg::cli {

namespace fs = std::filesystem;

int cmd_segment(const std::vector<std::string>& arguments) {
  const Args args("segment", arguments,
                  with_crf_options({"-o", "--output-dir", "--alpha", "--device", "--precision"}),
                  {"--overlay", "--json", "--force", "--no-autotune", "--crf"});
  if (args.positional().size() < 2) {
    throw Error("segment: usage: vkseg segment MODEL IMAGE... [-o DIR] [--overlay] [--alpha A] "
                "[--precision fp32|fp16] [--crf [--crf-iterations N ...]] [--json] [--device N] [--force]");
  }
  const std::optional<CrfOptions> crf = crf_options("segment", args);
  const Precision precision = parse_precision(args.value_or("--precision", "fp32"));
  const fs::path out_dir = args.value("-o") ? *args.value("-o") : args.value_or("--output-dir", ".");
  const std::optional<std::string> alpha_text = args.value("--alpha");
  const float alpha = alpha_text ? parse_number("--alpha", *alpha_text) : 0.5f;
  if (!(alpha >= 0.0f && alpha <= 1.0f)) {
    throw Error(fmt::format("segment: --alpha must be a number from 0 to 1, not '{}'", *alpha_text));
  }
  std::error_code made;
  fs::create_directories(out_dir, made);
  if (made || !fs::is_directory(out_dir)) {
    throw Error(fmt::format("segment: cannot create the output directory {}{}", printable(out_dir.string()),
                            made ? ": " + made.message() : std::string()));
  }
  const std::vector<std::string> images(args.positional().begin() + 1, args.positional().end());
  // Every output name is decided and checked before any work, so nothing is half done.
  std::vector<std::pair<fs::path, fs::path>> outputs;
  std::vector<PlannedOutput> planned;
  for (const std::string& image : images) {
    const std::string stem = fs::path(image).stem().string();
    outputs.push_back({out_dir / (stem + "_mask.png"), out_dir / (stem + "_overlay.png")});
    planned.push_back({outputs.back().first, image});
    if (args.has("--overlay")) planned.push_back({outputs.back().second, image});
  }
  check_outputs("segment", planned, args.positional(), args.has("--force"));

  Model model = Model::load(args.positional()[0]);
  if (model.classes().size() > 256) {
    throw Error(fmt::format("segment: {} classes do not fit an 8-bit PNG", model.classes().size()));
  }
  Context context(context_options(args));
  Network network(context, model, precision);
  model = network.model();  // drops the host copy of the weights
  Segmenter segmenter(network, crf);
  std::vector<std::array<uint8_t, 3>> palette;
  for (const ClassInfo& c : model.classes()) palette.push_back(c.rgb);

  Progress progress("segment", images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    const Image image = read_image(images[i]);
    const LabelMap map = segmenter.segment(image.rgb.data(), image.width, image.height);
    if (map.non_finite_pixels) {
      throw Error(fmt::format(
          "segment: {}: the network scored {} pixels NaN or infinite; no mask written ({})",
          printable(images[i]), map.non_finite_pixels,
          precision == Precision::Fp16
              ? "fp16 holds values up to 65504: try --precision fp32"
              : "check the model's weights with `vkseg info`"));
    }
    std::vector<uint8_t> indices(map.labels.begin(), map.labels.end());
    write_indexed_png(outputs[i].first.string(), map.width, map.height, indices.data(), palette);
    if (args.has("--overlay")) {
      const auto blended = blend_overlay(image.rgb.data(), map, model.classes(), alpha);
      write_rgb_png(outputs[i].second.string(), image.width, image.height, blended.data());
    }
    std::vector<uint64_t> counts(model.classes().size(), 0);
    for (uint32_t label : map.labels) ++counts[label];
    const double pixels = double(map.labels.size());
    progress.step(images[i]);
    if (args.has("--json")) {
      nlohmann::ordered_json line;
      line["image"] = images[i];
      line["width"] = image.width;
      line["height"] = image.height;
      line["mask"] = outputs[i].first.string();
      if (args.has("--overlay")) line["overlay"] = outputs[i].second.string();
      nlohmann::ordered_json shares = nlohmann::ordered_json::array();
      for (size_t c = 0; c < counts.size(); ++c) {
        if (counts[c]) {
          shares.push_back({{"class", c}, {"name", model.classes()[c].name},
                            {"share", double(counts[c]) / pixels}});
        }
      }
      line["classes"] = shares;
      print_json_line(line);
    } else {
      fmt::print("{} ({}x{}) -> {}\n", images[i], image.width, image.height,
                 outputs[i].first.string());
      for (size_t c = 0; c < counts.size(); ++c) {
        if (counts[c]) {
          fmt::print("  {:>6.2f}%  {}\n", 100.0 * double(counts[c]) / pixels,
                     printable(model.classes()[c].name));
        }
      }
    }
  }
  return 0;
}

}  // namespace vkseg::cli
