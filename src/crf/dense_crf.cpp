#include <fmt/format.h>

#include <cmath>
#include <optional>

#include "crf/permutohedral.hpp"
#include "ops/argmax.hpp"
#include "ops/dispatch.hpp"
#include "vk/context_state.hpp"
#include "vkseg/crf.hpp"
#include "vkseg/error.hpp"

namespace vkseg {

namespace {

void check_range(const char* name, double value, double low, double high) {
  if (!(value >= low && value <= high)) {
    throw Error(fmt::format("crf: {} is {}; it must lie in [{}, {}]", name, value, low, high));
  }
}

// The smoothness kernel is filtered exactly, with 4 standard deviations on each side.
uint32_t smoothness_radius(float std) { return uint32_t(std::ceil(4.0f * std)); }

}  // namespace

void validate_crf_options(const CrfOptions& o) {
  check_range("iterations", o.iterations, 0, 1000);
  check_range("appearance weight", o.appearance_weight, 0, 1e6);
  check_range("appearance spatial std", o.appearance_xy_std, 0.1, 1e4);
  check_range("appearance colour std", o.appearance_rgb_std, 0.1, 1e4);
  check_range("smoothness weight", o.smoothness_weight, 0, 1e6);
  check_range("smoothness spatial std", o.smoothness_xy_std, 0.1, 64);
}

struct DenseCrf::State {
  Context& context;
  CrfOptions options;
  const vk::Pipeline* first_update;
  const vk::Pipeline* update;
  const vk::Pipeline* gaussian[2];
  const vk::Pipeline* normaliser;
  ops::Argmax argmax;
  // Of the last refine().
  std::optional<crf::PermutohedralLattice> lattice;
  vk::Buffer probabilities, scaled_appearance, scaled_smoothness, appearance, smoothness,
      smoothing, appearance_normaliser, smoothness_normaliser, scratch, labels, non_finite;
  uint32_t classes = 0, width = 0, height = 0;
  uint64_t non_finite_pixels = 0;

  State(Context& c, const CrfOptions& o)
      : context(c), options(o), argmax(c, Precision::Fp32) {}
};

namespace {

struct UpdatePush {
  uint32_t width, pixels, classes, quads, logits_width, logits_plane;
  float appearance_weight, smoothness_weight;
};
struct GaussianPush {
  uint32_t width, height, quads, radius;
  float inv_two_var;
};

}  // namespace

DenseCrf::DenseCrf(Context& context, const CrfOptions& options) {
  validate_crf_options(options);
  state_ = std::make_unique<State>(context, options);
  const uint32_t local = ops::k_flat_local_size;
  vk::ContextState& s = vk::state(context);
  state_->first_update = &s.pipeline({"crf_update", {local, 1, 1, 1}, 8, sizeof(UpdatePush)});
  state_->update = &s.pipeline({"crf_update", {local, 1, 1, 0}, 8, sizeof(UpdatePush)});
  state_->normaliser = &s.pipeline({"crf_normaliser", {local, 1, 1}, 2, sizeof(uint32_t)});
  for (uint32_t axis = 0; axis < 2; ++axis) {
    state_->gaussian[axis] =
        &s.pipeline({"crf_gaussian", {local, 1, 1, axis}, 2, sizeof(GaussianPush)});
  }
}

DenseCrf::~DenseCrf() = default;
DenseCrf::DenseCrf(DenseCrf&&) noexcept = default;
DenseCrf& DenseCrf::operator=(DenseCrf&&) noexcept = default;

const CrfOptions& DenseCrf::options() const { return state_->options; }

DeviceRange DenseCrf::refine(DeviceRange logits, uint32_t classes, uint32_t logits_width,
                             uint32_t logits_height, const uint8_t* rgb, uint32_t width,
                             uint32_t height) {
  State& st = *state_;
  Context& context = st.context;
  const CrfOptions& o = st.options;
  if (classes == 0) throw Error("crf: the scores have no classes");
  if (width == 0 || height == 0 || width > logits_width || height > logits_height) {
    throw Error(fmt::format("crf: a {}x{} image does not fit the {}x{} scores", width, height,
                            logits_width, logits_height));
  }
  const uint64_t logits_plane = uint64_t(logits_width) * logits_height;
  if (logits.size < logits_plane * classes * 4) {
    throw Error(fmt::format("crf: the logits range holds {} bytes, {} classes of {}x{} need {}",
                            logits.size, classes, logits_width, logits_height,
                            logits_plane * classes * 4));
  }
  const uint32_t pixels = width * height;
  // Filtering works on pixel-major planes of classes padded to four (vec4 loads).
  const uint32_t quads = (classes + 3) / 4;
  const uint64_t plane_bytes = uint64_t(pixels) * quads * 16;
  st.lattice.reset();
  st.lattice.emplace(context, rgb, width, height, o.appearance_xy_std, o.appearance_rgb_std);
  st.probabilities = vk::Buffer(context, uint64_t(pixels) * classes * 4);
  for (vk::Buffer* b : {&st.scaled_appearance, &st.scaled_smoothness, &st.appearance,
                        &st.smoothness, &st.smoothing}) {
    *b = vk::Buffer(context, plane_bytes);
  }
  st.appearance_normaliser = vk::Buffer(context, uint64_t(pixels) * 4);
  st.smoothness_normaliser = vk::Buffer(context, uint64_t(pixels) * 4);
  st.scratch = vk::Buffer(context, st.lattice->scratch_bytes(quads));
  st.labels = vk::Buffer(context, uint64_t(pixels) * 4);
  st.non_finite = vk::Buffer(context, 4);
  st.classes = classes;
  st.width = width;
  st.height = height;

  const vk::BufferView logits_view{logits.buffer, logits.offset, logits_plane * classes * 4};
  const ops::FlatGrid grid = ops::flat_grid(context.info(), pixels);
  const uint64_t one_plane = uint64_t(pixels) * 16;  // one class, padded to four
  const vk::BufferView ones = st.scaled_appearance.view(0, one_plane);
  const vk::BufferView filtered_ones = st.appearance.view(0, one_plane);
  const vk::BufferView smoothed_ones = st.smoothness.view(0, one_plane);
  vk::Recorder recorder(context);
  recorder.begin();
  recorder.fill(st.non_finite.view(), 0);

  GaussianPush gaussian{width, height, 1, smoothness_radius(o.smoothness_xy_std),
                        float(0.5 / (double(o.smoothness_xy_std) * o.smoothness_xy_std))};
  auto record_gaussian = [&](vk::BufferView input, vk::BufferView output, uint32_t planes) {
    gaussian.quads = planes;
    const vk::BufferView between = st.smoothing.view(0, one_plane * planes);
    const ops::FlatGrid g = ops::flat_grid(context.info(), uint64_t(pixels) * planes);
    recorder.dispatch(*st.gaussian[0], {{input, vk::Access::Read}, {between, vk::Access::Write}},
                      &gaussian, sizeof gaussian, g.x, g.y, 1, "crf_gaussian");
    recorder.dispatch(*st.gaussian[1], {{between, vk::Access::Read}, {output, vk::Access::Write}},
                      &gaussian, sizeof gaussian, g.x, g.y, 1, "crf_gaussian");
  };
  // The normalisers: each kernel filtered over a plane of ones.
  recorder.fill(ones, 0x3f800000u);  // 1.0f
  st.lattice->record_filter(recorder, ones, filtered_ones, 1, st.scratch);
  record_gaussian(ones, smoothed_ones, 1);
  const uint32_t pixel_push = pixels;
  recorder.dispatch(*st.normaliser,
                    {{filtered_ones, vk::Access::Read}, {st.appearance_normaliser.view(), vk::Access::Write}},
                    &pixel_push, sizeof pixel_push, grid.x, grid.y, 1, "crf_normaliser");
  recorder.dispatch(*st.normaliser,
                    {{smoothed_ones, vk::Access::Read}, {st.smoothness_normaliser.view(), vk::Access::Write}},
                    &pixel_push, sizeof pixel_push, grid.x, grid.y, 1, "crf_normaliser");

  UpdatePush update{width, pixels, classes, quads, logits_width, uint32_t(logits_plane),
                    o.appearance_weight, o.smoothness_weight};
  auto record_update = [&](const vk::Pipeline& pipeline) {
    recorder.dispatch(pipeline,
                      {{logits_view, vk::Access::Read},
                       {st.appearance_normaliser.view(), vk::Access::Read},
                       {st.smoothness_normaliser.view(), vk::Access::Read},
                       {st.appearance.view(), vk::Access::Read},
                       {st.smoothness.view(), vk::Access::Read},
                       {st.probabilities.view(), vk::Access::ReadWrite},
                       {st.scaled_appearance.view(), vk::Access::Write},
                       {st.scaled_smoothness.view(), vk::Access::Write}},
                      &update, sizeof update, grid.x, grid.y, 1, "crf_update");
  };
  record_update(*st.first_update);
  for (uint32_t i = 0; i < o.iterations; ++i) {
    st.lattice->record_filter(recorder, st.scaled_appearance.view(), st.appearance.view(), quads,
                              st.scratch);
    record_gaussian(st.scaled_smoothness.view(), st.smoothness.view(), quads);
    record_update(*st.update);
  }
  const ops::DType f32 = ops::DType::F32, u32 = ops::DType::U32;
  const ops::Tensor non_finite{{1, 1, 1, 1}, st.non_finite.view(), u32};
  st.argmax.record(recorder, {{1, classes, height, width}, st.probabilities.view(), f32},
                   {{1, 1, height, width}, st.labels.view(), u32}, &non_finite);
  recorder.end();
  recorder.submit();
  uint32_t bad = 0;
  vk::download(context, st.non_finite, 0, &bad, 4);
  st.non_finite_pixels = bad;
  return {st.labels.handle(), 0, st.labels.size()};
}

std::vector<uint32_t> DenseCrf::read_labels() const {
  const State& st = *state_;
  std::vector<uint32_t> labels(size_t(st.width) * st.height);
  if (!labels.empty()) vk::download(st.context, st.labels, 0, labels.data(), labels.size() * 4);
  return labels;
}

std::vector<float> DenseCrf::read_probabilities() const {
  const State& st = *state_;
  std::vector<float> q(size_t(st.width) * st.height * st.classes);
  if (!q.empty()) vk::download(st.context, st.probabilities, 0, q.data(), q.size() * 4);
  return q;
}

uint64_t DenseCrf::non_finite_pixels() const { return state_->non_finite_pixels; }

uint64_t DenseCrf::device_bytes() const {
  const State& st = *state_;
  if (!st.lattice) return 0;
  return st.lattice->bytes() + st.scratch.size() + st.probabilities.size() +
         st.scaled_appearance.size() * 5 + st.appearance_normaliser.size() * 2 + st.labels.size();
}

}  // namespace vkseg
