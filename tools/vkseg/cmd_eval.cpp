// `vkseg eval`: the FCN paper's metrics over a folder of images and label maps, from one
// confusion matrix accumulated on the device.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "args.hpp"
#include "commands.hpp"
#include "progress.hpp"
#include "vkseg/error.hpp"
#include "vkseg/image.hpp"
#include "vkseg/segment.hpp"
#include "vkseg/text.hpp"

namespace vkseg::cli {

namespace {

namespace fs = std::filesystem;

// Image files in a folder, each paired with the label PNG of the same stem.
std::vector<std::pair<fs::path, fs::path>> pair_files(const fs::path& images,
                                                      const fs::path& labels) {
  for (const fs::path& dir : {images, labels}) {
    if (!fs::is_directory(dir)) throw Error(fmt::format("eval: {} is not a directory", dir.string()));
  }
  std::vector<std::pair<fs::path, fs::path>> pairs;
  for (const auto& entry : fs::directory_iterator(images)) {
    std::string ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    if (ext != ".png" && ext != ".jpg" && ext != ".jpeg" && ext != ".bmp") continue;
    const fs::path label = labels / (entry.path().stem().string() + ".png");
    if (!fs::exists(label)) {
      throw Error(fmt::format("eval: {} has no label map {}", entry.path().string(), label.string()));
    }
    pairs.push_back({entry.path(), label});
  }
  if (pairs.empty()) throw Error(fmt::format("eval: no images in {}", images.string()));
  std::sort(pairs.begin(), pairs.end());
  return pairs;
}

}  // namespace

int cmd_eval(const std::vector<std::string>& arguments) {
  const Args args("eval", arguments,
                  with_crf_options({"--images", "--labels", "--ignore", "--device", "--precision"}),
                  {"--json", "--no-autotune", "--crf"});
  if (args.positional().size() != 1 || !args.value("--images") || !args.value("--labels")) {
    throw Error("eval: usage: vkseg eval MODEL --images DIR --labels DIR [--ignore 255] "
                "[--precision fp32|fp16] [--crf [--crf-iterations N ...]] [--json]");
  }
  const Precision precision = parse_precision(args.value_or("--precision", "fp32"));
  const std::optional<CrfOptions> crf = crf_options("eval", args);
  const auto pairs = pair_files(*args.value("--images"), *args.value("--labels"));
  const uint32_t ignore = args.uint_value("--ignore", 0, 255).value_or(255);

  Model model = Model::load(args.positional()[0]);
  Context context(context_options(args));
  Network network(context, model, precision);
  model = network.model();  // drops the host copy of the weights
  Segmenter segmenter(network, crf);
  Evaluator evaluator(segmenter, ignore);

  Progress progress("eval", pairs.size());
  for (const auto& [image_path, label_path] : pairs) {
    const Image image = read_image(image_path.string());
    const LabelImage truth = read_label_png(label_path.string());
    if (truth.width != image.width || truth.height != image.height) {
      throw Error(fmt::format("eval: {} is {}x{} but its image is {}x{}", label_path.string(),
                              truth.width, truth.height, image.width, image.height));
    }
    try {
      evaluator.add(image.rgb.data(), image.width, image.height, truth.labels.data());
    } catch (const Error& e) {
      throw Error(fmt::format("eval: {} (labels {}): {}", printable(image_path.string()),
                              printable(label_path.string()), e.what()));
    }
    progress.step(image_path.filename().string());
  }
  const ConfusionMatrix matrix = evaluator.matrix();

  std::vector<std::string> names;
  for (const ClassInfo& c : model.classes()) names.push_back(c.name);
  fmt::print("{}", matrix.report(names, pairs.size(), args.has("--json")));
  return 0;
}

}  // namespace vkseg::cli
