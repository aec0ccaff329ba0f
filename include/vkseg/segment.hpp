#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vkseg/crf.hpp"
#include "vkseg/model.hpp"

namespace vkseg {

// One image's labels, at the image's own size.
struct LabelMap {
  uint32_t width = 0, height = 0;
  std::vector<uint32_t> labels;  // height x width class indices
  // Pixels (of the padded image the network ran on) whose scores held a NaN or an infinity.
  uint64_t non_finite_pixels = 0;
};

// Labels left on the device: `height` rows of `row_width` uint32 values, of which the image is
// the first width() columns (row_width is the padded network width without a CRF, the image's
// width with one).
struct DeviceLabels {
  DeviceRange labels;
  uint32_t row_width = 0, height = 0;
  uint64_t non_finite_pixels = 0;  // as in LabelMap
};

// The size (width, height) a width x height image is padded to for `model`: each side at least
// min_input(), rounded up to a multiple of input_multiple().
std::pair<uint32_t, uint32_t> network_input_size(const Model& model, uint32_t width, uint32_t height);

// Turns 8-bit RGB images of any size into label maps: applies the model's preprocessing, pads to
// a size the network accepts (with the mean colour, i.e. zero after normalisation), runs, and
// crops back; with `crf`, refines the labels with a dense CRF over the image (vkseg/crf.hpp).
// Keeps one Session per padded size, so a folder of equal-sized images plans and records once.
class Segmenter {
 public:
  explicit Segmenter(Network& network, const std::optional<CrfOptions>& crf = std::nullopt);

  LabelMap segment(const uint8_t* rgb, uint32_t width, uint32_t height);
  // Runs without reading the labels back (for device-side consumers such as eval).
  DeviceLabels segment_on_device(const uint8_t* rgb, uint32_t width, uint32_t height);
  // Runs the network alone: its labels stay in the returned session's labels_range(), at the
  // padded size network_size(width, height), its logits in logits_range().
  Session& run(const uint8_t* rgb, uint32_t width, uint32_t height);

  // The padded size the network runs at for a width x height image.
  std::pair<uint32_t, uint32_t> network_size(uint32_t width, uint32_t height) const;
  // The session for a padded size (created on first use).
  Session& session(uint32_t padded_height, uint32_t padded_width);
  Network& network() const { return network_; }

 private:
  Network& network_;
  std::optional<DenseCrf> crf_;
  std::map<std::pair<uint32_t, uint32_t>, Session> sessions_;
  std::vector<float> input_;
};

// `rgb` (height x width x 3) with each pixel of a class other than 0 (background) blended with
// the class colour: out = (1 - alpha) * pixel + alpha * colour, rounded (`vkseg segment
// --overlay`).
std::vector<uint8_t> blend_overlay(const uint8_t* rgb, const LabelMap& labels,
                                   const std::vector<ClassInfo>& classes, float alpha);

// The model's preprocessing of an RGB image into planar floats (channels in the model's order),
// written into a padded_height x padded_width plane per channel; the pad stays 0.
void preprocess_image(const Preprocess& preprocess, const uint8_t* rgb, uint32_t width,
                      uint32_t height, uint32_t padded_width, uint32_t padded_height, float* out);

// Class scores over a segmentation set: one confusion matrix accumulated over every image, then
// the FCN paper's metrics (section 5), with classes absent from both truth and prediction
// skipped in the means.
class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(uint32_t classes);
  uint32_t classes() const { return classes_; }
  // counts[truth * classes + predicted]
  const std::vector<uint64_t>& counts() const { return counts_; }
  void add(uint32_t truth, uint32_t predicted, uint64_t count = 1);
  void add(const std::vector<uint64_t>& counts);

  uint64_t total() const;
  double pixel_accuracy() const;
  double mean_accuracy() const;
  double mean_iou() const;
  double frequency_weighted_iou() const;
  // Per class; NaN where the class is in neither truth nor prediction.
  std::vector<double> class_iou() const;

  // What `vkseg eval` prints for these counts over `images` images, with `names` for the
  // classes (escaped for a terminal): the metrics in percent and each class's IoU as text, or
  // with `json` one line of JSON (NaN as null, non-ASCII as \u escapes). Ends in a newline.
  std::string report(const std::vector<std::string>& names, uint64_t images, bool json) const;

 private:
  uint32_t classes_;
  std::vector<uint64_t> counts_;
};

namespace detail {
struct EvaluatorState;
}

// Scores a segmentation set on the device (`vkseg eval`): each image is segmented and its pixels
// counted into a confusion matrix there, so label maps are never read back.
class Evaluator {
 public:
  // Truth labels equal to `ignore` are not counted.
  explicit Evaluator(Segmenter& segmenter, uint32_t ignore = 255);
  ~Evaluator();
  Evaluator(const Evaluator&) = delete;
  Evaluator& operator=(const Evaluator&) = delete;

  // Segments `rgb` (height x width x 3) and counts it against `truth` (height x width labels,
  // each `ignore` or a class index). Throws Error, counting nothing, for a truth label outside
  // the classes or a network that scores pixels NaN or infinite.
  void add(const uint8_t* rgb, uint32_t width, uint32_t height, const uint8_t* truth);
  // Every pixel counted so far.
  ConfusionMatrix matrix();

 private:
  std::unique_ptr<detail::EvaluatorState> state_;
};

}  // namespace vkseg
