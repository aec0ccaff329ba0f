// vkseg::Evaluator: confusion counts accumulated on the device, folded into a 64-bit matrix.
#include <fmt/format.h>

#include "ops/confusion.hpp"
#include "vk/buffer.hpp"
#include "vkseg/error.hpp"
#include "vkseg/segment.hpp"

namespace vkseg {

namespace detail {

struct EvaluatorState {
  EvaluatorState(Segmenter& segmenter, uint32_t ignore, Context& context, uint32_t classes)
      : segmenter(segmenter),
        context(context),
        ignore(ignore),
        classes(classes),
        confusion(context),
        counts_shape{1, 1, classes, classes},
        device_counts(context, counts_shape.bytes()),
        zeros(counts_shape.count(), 0),
        matrix(classes) {
    vk::upload(context, device_counts, 0, zeros.data(), counts_shape.bytes());
  }

  // Device counts are 32-bit: they are folded into the 64-bit matrix before they could overflow.
  void flush() {
    std::vector<uint32_t> counts(counts_shape.count());
    vk::download(context, device_counts, 0, counts.data(), counts_shape.bytes());
    matrix.add(std::vector<uint64_t>(counts.begin(), counts.end()));
    vk::upload(context, device_counts, 0, zeros.data(), counts_shape.bytes());
    pending_pixels = 0;
  }

  Segmenter& segmenter;
  Context& context;
  const uint32_t ignore, classes;
  const ops::ConfusionCount confusion;
  const ops::Shape counts_shape;
  vk::Buffer device_counts;
  const std::vector<uint32_t> zeros;
  ConfusionMatrix matrix;
  uint64_t pending_pixels = 0;
};

}  // namespace detail

Evaluator::Evaluator(Segmenter& segmenter, uint32_t ignore)
    : state_(std::make_unique<detail::EvaluatorState>(
          segmenter, ignore, segmenter.network().context(),
          uint32_t(segmenter.network().model().classes().size()))) {}

Evaluator::~Evaluator() = default;

void Evaluator::add(const uint8_t* rgb, uint32_t width, uint32_t height, const uint8_t* truth) {
  detail::EvaluatorState& s = *state_;
  std::vector<uint32_t> truth_values(size_t(width) * height);
  for (size_t i = 0; i < truth_values.size(); ++i) {
    const uint32_t t = truth[i];
    if (t == s.ignore) {
      truth_values[i] = UINT32_MAX;  // what the counting shader skips
    } else if (t >= s.classes) {
      throw Error(fmt::format("the label map holds label {}, but the model has {} classes (and "
                              "the ignored label is {})", t, s.classes, s.ignore));
    } else {
      truth_values[i] = t;
    }
  }
  if (s.pending_pixels + truth_values.size() > (uint64_t(1) << 31)) s.flush();
  const DeviceLabels labels = s.segmenter.segment_on_device(rgb, width, height);
  if (labels.non_finite_pixels) {
    throw Error(fmt::format("the network scored {} pixels NaN or infinite; no metrics from them",
                            labels.non_finite_pixels));
  }
  const ops::Shape truth_shape{1, 1, height, width};
  vk::Buffer truth_buffer(s.context, truth_shape.bytes());
  vk::upload(s.context, truth_buffer, 0, truth_values.data(), truth_shape.bytes());
  const DeviceRange range = labels.labels;
  vk::Recorder recorder(s.context);
  recorder.begin();
  const ops::DType u32 = ops::DType::U32;
  s.confusion.record(recorder,
                     {{1, 1, labels.height, labels.row_width}, {range.buffer, range.offset, range.size}, u32},
                     {truth_shape, truth_buffer.view(), u32},
                     {s.counts_shape, s.device_counts.view(), u32}, s.classes);
  recorder.end();
  recorder.submit();
  s.pending_pixels += truth_values.size();
}

ConfusionMatrix Evaluator::matrix() {
  if (state_->pending_pixels) state_->flush();
  return state_->matrix;
}

}  // namespace vkseg
