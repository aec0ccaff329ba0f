// ConfusionMatrix: the FCN paper's metrics (section 5) over summed pixel counts, and the report
// `vkseg eval` prints.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

#include "vkseg/error.hpp"
#include "vkseg/segment.hpp"
#include "vkseg/text.hpp"

namespace vkseg {

ConfusionMatrix::ConfusionMatrix(uint32_t classes)
    : classes_(classes), counts_(size_t(classes) * classes, 0) {}

void ConfusionMatrix::add(uint32_t truth, uint32_t predicted, uint64_t count) {
  if (truth >= classes_ || predicted >= classes_) return;  // ignored labels (e.g. VOC's 255)
  counts_[size_t(truth) * classes_ + predicted] += count;
}

void ConfusionMatrix::add(const std::vector<uint64_t>& counts) {
  if (counts.size() != counts_.size()) throw Error("confusion matrices of different sizes");
  for (size_t i = 0; i < counts.size(); ++i) counts_[i] += counts[i];
}

uint64_t ConfusionMatrix::total() const {
  uint64_t t = 0;
  for (uint64_t c : counts_) t += c;
  return t;
}

namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();

double percent(double v) { return std::isnan(v) ? v : 100.0 * v; }

double nan_mean(const std::vector<double>& values) {
  double sum = 0;
  size_t n = 0;
  for (double v : values) {
    if (!std::isnan(v)) sum += v, ++n;
  }
  return n ? sum / double(n) : k_nan;
}

}  // namespace

double ConfusionMatrix::pixel_accuracy() const {
  uint64_t diagonal = 0;
  for (uint32_t i = 0; i < classes_; ++i) diagonal += counts_[size_t(i) * classes_ + i];
  const uint64_t t = total();
  return t ? double(diagonal) / double(t) : k_nan;
}

double ConfusionMatrix::mean_accuracy() const {
  std::vector<double> acc;
  for (uint32_t i = 0; i < classes_; ++i) {
    uint64_t row = 0;
    for (uint32_t j = 0; j < classes_; ++j) row += counts_[size_t(i) * classes_ + j];
    acc.push_back(row ? double(counts_[size_t(i) * classes_ + i]) / double(row) : k_nan);
  }
  return nan_mean(acc);
}

std::vector<double> ConfusionMatrix::class_iou() const {
  std::vector<double> iou;
  for (uint32_t i = 0; i < classes_; ++i) {
    uint64_t row = 0, column = 0;
    for (uint32_t j = 0; j < classes_; ++j) {
      row += counts_[size_t(i) * classes_ + j];
      column += counts_[size_t(j) * classes_ + i];
    }
    const uint64_t hit = counts_[size_t(i) * classes_ + i];
    const uint64_t union_ = row + column - hit;
    iou.push_back(union_ ? double(hit) / double(union_) : k_nan);
  }
  return iou;
}

double ConfusionMatrix::mean_iou() const { return nan_mean(class_iou()); }

double ConfusionMatrix::frequency_weighted_iou() const {
  const std::vector<double> iou = class_iou();
  const uint64_t t = total();
  if (!t) return k_nan;
  double sum = 0;
  for (uint32_t i = 0; i < classes_; ++i) {
    uint64_t row = 0;
    for (uint32_t j = 0; j < classes_; ++j) row += counts_[size_t(i) * classes_ + j];
    if (row > 0) sum += double(row) / double(t) * iou[i];
  }
  return sum;
}

std::string ConfusionMatrix::report(const std::vector<std::string>& names, uint64_t images,
                                    bool json) const {
  const ConfusionMatrix& matrix = *this;
  if (names.size() != matrix.classes()) {
    throw Error(fmt::format("ConfusionMatrix::report: {} class names for {} classes", names.size(),
                            matrix.classes()));
  }
  const std::vector<double> iou = matrix.class_iou();
  if (json) {
    nlohmann::ordered_json j;
    j["images"] = images;
    j["pixels"] = matrix.total();
    j["pixel_accuracy"] = percent(matrix.pixel_accuracy());
    j["mean_accuracy"] = percent(matrix.mean_accuracy());
    j["mean_iou"] = percent(matrix.mean_iou());
    j["frequency_weighted_iou"] = percent(matrix.frequency_weighted_iou());
    nlohmann::ordered_json per_class = nlohmann::ordered_json::array();
    for (uint32_t c = 0; c < matrix.classes(); ++c) {
      per_class.push_back({{"class", c}, {"name", names[c]},
                           {"iou", std::isnan(iou[c]) ? nlohmann::ordered_json() :
                                                        nlohmann::ordered_json(percent(iou[c]))}});
    }
    j["class_iou"] = per_class;
    return j.dump(-1, ' ', /*ensure_ascii=*/true) + "\n";
  }
  std::string out = fmt::format("{} images, {} labelled pixels\n", images, matrix.total());
  out += fmt::format("pixel accuracy          {:6.2f}%\n", percent(matrix.pixel_accuracy()));
  out += fmt::format("mean class accuracy     {:6.2f}%\n", percent(matrix.mean_accuracy()));
  out += fmt::format("mean IoU                {:6.2f}%\n", percent(matrix.mean_iou()));
  out += fmt::format("frequency-weighted IoU  {:6.2f}%\n",
                     percent(matrix.frequency_weighted_iou()));
  out += "\n  class                    IoU\n";
  for (uint32_t c = 0; c < matrix.classes(); ++c) {
    if (std::isnan(iou[c])) {
      out += fmt::format("  {:<22} {:>6}\n", printable(names[c]), "-");
    } else {
      out += fmt::format("  {:<22} {:6.2f}%\n", printable(names[c]), percent(iou[c]));
    }
  }
  return out;
}


}  // namespace vkseg
