// `vkseg eval`: the FCN paper's metrics over a folder of images and label maps, from one
// confusion matrix accumulated on the device.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "args.hpp"
#include "commands.hpp"
#include "io/image.hpp"
#include "io/printable.hpp"
#include "ops/confusion.hpp"
#include "progress.hpp"
#include "vk/buffer.hpp"
#include "vkseg/error.hpp"
#include "vkseg/segment.hpp"

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

double percent(double v) { return std::isnan(v) ? v : 100.0 * v; }

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

  const Model model = Model::load(args.positional()[0]);
  const uint32_t classes = uint32_t(model.classes().size());
  Context context(context_options(args));
  Network network(context, model, precision);
  Segmenter segmenter(network, crf);
  const ops::ConfusionCount confusion(context);
  const ops::Shape counts_shape{1, 1, classes, classes};
  vk::Buffer device_counts(context, counts_shape.bytes());
  const std::vector<uint32_t> zeros(counts_shape.count(), 0);
  vk::upload(context, device_counts, 0, zeros.data(), counts_shape.bytes());
  ConfusionMatrix matrix(classes);
  uint64_t pending_pixels = 0;
  // Device counts are 32-bit: fold them into the 64-bit matrix before they could overflow.
  auto flush = [&] {
    std::vector<uint32_t> counts(counts_shape.count());
    vk::download(context, device_counts, 0, counts.data(), counts_shape.bytes());
    matrix.add(std::vector<uint64_t>(counts.begin(), counts.end()));
    vk::upload(context, device_counts, 0, zeros.data(), counts_shape.bytes());
    pending_pixels = 0;
  };

  Progress progress("eval", pairs.size());
  for (const auto& [image_path, label_path] : pairs) {
    const io::Image image = io::read_image(image_path.string());
    const io::LabelImage truth = io::read_label_png(label_path.string());
    if (truth.width != image.width || truth.height != image.height) {
      throw Error(fmt::format("eval: {} is {}x{} but its image is {}x{}", label_path.string(),
                              truth.width, truth.height, image.width, image.height));
    }
    std::vector<uint32_t> truth_values(truth.labels.size());
    for (size_t i = 0; i < truth.labels.size(); ++i) {
      const uint32_t t = truth.labels[i];
      if (t == ignore) {
        truth_values[i] = UINT32_MAX;
      } else if (t >= classes) {
        throw Error(fmt::format("eval: {} holds label {}, but the model has {} classes (and "
                                "--ignore is {})", label_path.string(), t, classes, ignore));
      } else {
        truth_values[i] = t;
      }
    }
    if (pending_pixels + truth_values.size() > (uint64_t(1) << 31)) flush();
    const DeviceLabels labels = segmenter.segment_on_device(image.rgb.data(), image.width,
                                                            image.height);
    if (const uint64_t bad = labels.non_finite_pixels) {
      throw Error(fmt::format("eval: {}: the network scored {} pixels NaN or infinite; no metrics "
                              "from them",
                              io::printable(image_path.string()), bad));
    }
    const ops::Shape truth_shape{1, 1, image.height, image.width};
    vk::Buffer truth_buffer(context, truth_shape.bytes());
    vk::upload(context, truth_buffer, 0, truth_values.data(), truth_shape.bytes());
    const DeviceRange range = labels.labels;
    vk::Recorder recorder(context);
    recorder.begin();
    const ops::DType u32 = ops::DType::U32;
    confusion.record(recorder,
                     {{1, 1, labels.height, labels.row_width}, {range.buffer, range.offset, range.size}, u32},
                     {truth_shape, truth_buffer.view(), u32},
                     {counts_shape, device_counts.view(), u32}, classes);
    recorder.end();
    recorder.submit();
    pending_pixels += truth_values.size();
    progress.step(image_path.filename().string());
  }
  flush();

  const std::vector<double> iou = matrix.class_iou();
  if (args.has("--json")) {
    nlohmann::ordered_json j;
    j["images"] = pairs.size();
    j["pixels"] = matrix.total();
    j["pixel_accuracy"] = percent(matrix.pixel_accuracy());
    j["mean_accuracy"] = percent(matrix.mean_accuracy());
    j["mean_iou"] = percent(matrix.mean_iou());
    j["frequency_weighted_iou"] = percent(matrix.frequency_weighted_iou());
    nlohmann::ordered_json per_class = nlohmann::ordered_json::array();
    for (uint32_t c = 0; c < classes; ++c) {
      per_class.push_back({{"class", c}, {"name", model.classes()[c].name},
                           {"iou", std::isnan(iou[c]) ? nlohmann::ordered_json() :
                                                        nlohmann::ordered_json(percent(iou[c]))}});
    }
    j["class_iou"] = per_class;
    print_json_line(j);
    return 0;
  }
  fmt::print("{} images, {} labelled pixels\n", pairs.size(), matrix.total());
  fmt::print("pixel accuracy          {:6.2f}%\n", percent(matrix.pixel_accuracy()));
  fmt::print("mean class accuracy     {:6.2f}%\n", percent(matrix.mean_accuracy()));
  fmt::print("mean IoU                {:6.2f}%\n", percent(matrix.mean_iou()));
  fmt::print("frequency-weighted IoU  {:6.2f}%\n", percent(matrix.frequency_weighted_iou()));
  fmt::print("\n  class                    IoU\n");
  for (uint32_t c = 0; c < classes; ++c) {
    if (std::isnan(iou[c])) {
      fmt::print("  {:<22} {:>6}\n", io::printable(model.classes()[c].name), "-");
    } else {
      fmt::print("  {:<22} {:6.2f}%\n", io::printable(model.classes()[c].name), percent(iou[c]));
    }
  }
  return 0;
}

}  // namespace vkseg::cli
