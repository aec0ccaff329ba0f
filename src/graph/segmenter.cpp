#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "vkseg/error.hpp"
#include "vkseg/segment.hpp"

namespace vkseg {

void preprocess_image(const Preprocess& p, const uint8_t* rgb, uint32_t width, uint32_t height,
                      uint32_t padded_width, uint32_t padded_height, float* out) {
  const size_t plane = size_t(padded_width) * padded_height;
  std::fill(out, out + 3 * plane, 0.0f);
  for (uint32_t c = 0; c < 3; ++c) {
    const uint32_t source = p.bgr ? 2 - c : c;  // the model's channel c reads this RGB channel
    const float scale = p.scale / p.std[c];
    const float offset = p.mean[c] / p.std[c];
    float* dst = out + c * plane;
    for (uint32_t y = 0; y < height; ++y) {
      const uint8_t* row = rgb + size_t(y) * width * 3;
      for (uint32_t x = 0; x < width; ++x) {
        dst[size_t(y) * padded_width + x] = float(row[3 * x + source]) * scale - offset;
      }
    }
  }
}

Segmenter::Segmenter(Network& network, const std::optional<CrfOptions>& crf)
    : network_(network) {
  if (network.model().input_channels() != 3) {
    throw Error(fmt::format("the model takes {} input channels; images give 3",
                            network.model().input_channels()));
  }
  if (crf) crf_.emplace(network.context(), *crf);
}

std::pair<uint32_t, uint32_t> network_input_size(const Model& model, uint32_t width,
                                                 uint32_t height) {
  auto fit = [&](uint32_t v) {
    v = std::max(v, model.min_input());
    return (v + model.input_multiple() - 1) / model.input_multiple() * model.input_multiple();
  };
  return {fit(width), fit(height)};
}

std::pair<uint32_t, uint32_t> Segmenter::network_size(uint32_t width, uint32_t height) const {
  return network_input_size(network_.model(), width, height);
}

Session& Segmenter::session(uint32_t padded_height, uint32_t padded_width) {
  const auto key = std::make_pair(padded_height, padded_width);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) {
    it = sessions_.emplace(key, Session(network_, 1, padded_height, padded_width)).first;
  }
  return it->second;
}

Session& Segmenter::run(const uint8_t* rgb, uint32_t width, uint32_t height) {
  const auto [pw, ph] = network_size(width, height);
  Session& s = session(ph, pw);
  input_.resize(size_t(3) * pw * ph);
  preprocess_image(network_.model().preprocess(), rgb, width, height, pw, ph, input_.data());
  s.write_input(input_.data());
  s.run_on_device();
  return s;
}

DeviceLabels Segmenter::segment_on_device(const uint8_t* rgb, uint32_t width, uint32_t height) {
  const auto [pw, ph] = network_size(width, height);
  Session& session = run(rgb, width, height);
  const uint64_t non_finite = session.non_finite_pixels();
  if (!crf_) return {session.labels_range(), pw, ph, non_finite};
  const uint32_t classes = session.output_shape()[1];
  const DeviceRange labels =
      crf_->refine(session.logits_range(), classes, pw, ph, rgb, width, height);
  // The CRF spreads a NaN score to neighbouring pixels: the network's own count says more.
  return {labels, width, height, non_finite ? non_finite : crf_->non_finite_pixels()};
}

LabelMap Segmenter::segment(const uint8_t* rgb, uint32_t width, uint32_t height) {
  const DeviceLabels on_device = segment_on_device(rgb, width, height);
  LabelMap map{width, height, std::vector<uint32_t>(size_t(width) * height),
               on_device.non_finite_pixels};
  if (crf_) {
    map.labels = crf_->read_labels();
    return map;
  }
  const auto [pw, ph] = network_size(width, height);
  std::vector<uint32_t> padded(size_t(pw) * ph);
  session(ph, pw).read_labels(padded.data());
  for (uint32_t y = 0; y < height; ++y) {
    std::copy_n(padded.begin() + ptrdiff_t(size_t(y) * pw), width,
                map.labels.begin() + ptrdiff_t(size_t(y) * width));
  }
  return map;
}

std::vector<uint8_t> blend_overlay(const uint8_t* rgb, const LabelMap& labels,
                                   const std::vector<ClassInfo>& classes, float alpha) {
  std::vector<uint8_t> out(rgb, rgb + size_t(3) * labels.width * labels.height);
  for (size_t i = 0; i < labels.labels.size(); ++i) {
    const uint32_t label = labels.labels[i];
    if (label == 0 || label >= classes.size()) continue;  // background stays as it is
    for (int c = 0; c < 3; ++c) {
      const float blended = (1 - alpha) * float(out[3 * i + c]) + alpha * float(classes[label].rgb[c]);
      out[3 * i + c] = uint8_t(std::lround(blended));
    }
  }
  return out;
}

}  // namespace vkseg
