#include "crf/permutohedral.hpp"

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <vector>

#include "ops/dispatch.hpp"
#include "vk/context_state.hpp"
#include "vkseg/error.hpp"

namespace vkseg::crf {

namespace {

constexpr uint32_t k_features = 5;                  // D in crf_lattice.glsl
constexpr uint32_t k_simplex = k_features + 1;      // vertices per simplex
constexpr uint32_t k_scan_lanes = 256;              // LANES in crf_scan.comp
constexpr uint32_t k_scan_block = k_scan_lanes * 4;

const vk::Pipeline& pipeline(Context& context, const char* shader, uint32_t bindings,
                             uint32_t push_bytes, uint32_t local = ops::k_flat_local_size,
                             uint32_t mode = 0) {
  return vk::state(context).pipeline({shader, {local, 1, 1, mode}, bindings, push_bytes});
}

vk::Buffer words(Context& context, uint64_t count) {
  return vk::Buffer(context, std::max<uint64_t>(count, 1) * 4);
}

void flat_dispatch(Context& context, vk::Recorder& recorder, const vk::Pipeline& pipeline,
                   std::initializer_list<vk::Binding> bindings, const void* push,
                   uint32_t push_bytes, uint64_t invocations, const char* label) {
  if (invocations == 0) return;
  const ops::FlatGrid grid = ops::flat_grid(context.info(), invocations);
  recorder.dispatch(pipeline, bindings, push, push_bytes, grid.x, grid.y, 1, label);
}

using vk::Access;

// Exclusive prefix sum of values[0, count) in place; block_sums holds ceil(count / 1024).
void record_scan(Context& context, vk::Recorder& recorder, const vk::Buffer& values,
                 uint32_t count, const vk::Buffer& block_sums) {
  struct Push {
    uint32_t count, blocks;
  } push{count, ops::ceil_div(count, k_scan_block)};
  if (count == 0) return;
  const std::initializer_list<vk::Binding> bindings = {{values.view(), Access::ReadWrite},
                                                      {block_sums.view(), Access::ReadWrite}};
  for (uint32_t mode = 0; mode < 3; ++mode) {
    const vk::Pipeline& p = pipeline(context, "crf_scan", 2, sizeof push, k_scan_lanes, mode);
    recorder.dispatch(p, bindings, &push, sizeof push, mode == 1 ? 1 : push.blocks, 1, 1,
                      "crf_scan");
  }
}

}  // namespace

PermutohedralLattice::PermutohedralLattice(Context& context, const uint8_t* rgb, uint32_t width,
                                           uint32_t height, float xy_std, float rgb_std)
    : context_(context) {
  const uint64_t pixels = uint64_t(width) * height;
  // Lattice coordinates grow as feature / std times about D + 1 and are computed in fp32, which
  // resolves integers up to 2^24; entries are 32-bit indices.
  const double largest_feature = std::max(double(std::max(width, height)) / xy_std, 255.0 / rgb_std);
  if (pixels == 0) throw Error("crf: the image is empty");
  if (largest_feature * 4 * k_simplex > double(1 << 22) || pixels * k_simplex * 2 > (1ull << 31)) {
    throw Error(fmt::format("crf: a {}x{} image with spatial std {} and colour std {} needs "
                            "lattice coordinates beyond fp32's integer range; use larger standard "
                            "deviations or a smaller image", width, height, xy_std, rgb_std));
  }
  pixels_ = uint32_t(pixels);
  const uint32_t entries = pixels_ * k_simplex;
  const uint32_t slots = std::bit_ceil(entries * 2);

  std::vector<uint32_t> packed(pixels);
  for (uint64_t i = 0; i < pixels; ++i) {
    packed[i] = rgb[3 * i] | uint32_t(rgb[3 * i + 1]) << 8 | uint32_t(rgb[3 * i + 2]) << 16;
  }
  vk::Buffer image = words(context, pixels);
  vk::upload(context, image, 0, packed.data(), packed.size() * 4);
  vk::Buffer greedy = words(context, pixels * k_features);
  vk::Buffer ranks = words(context, pixels);
  barycentric_ = words(context, entries);
  vk::Buffer table = words(context, slots);
  vk::Buffer slot_counts = words(context, slots);
  vk::Buffer slot_of_entry = words(context, entries);
  vk::Buffer vertex_of_slot = words(context, slots);
  vk::Buffer vertex_entry = words(context, entries);
  splat_counts_ = words(context, entries);
  vk::Buffer vertex_count = words(context, 1);

  {
    vk::Recorder recorder(context);
    recorder.begin();
    recorder.fill(table.view(), 0);
    recorder.fill(slot_counts.view(), 0);
    recorder.fill(vertex_count.view(), 0);
    struct EmbedPush {
      uint32_t pixels, width;
      float inv_xy_std, inv_rgb_std;
    } embed{pixels_, width, 1.0f / xy_std, 1.0f / rgb_std};
    flat_dispatch(context, recorder, pipeline(context, "crf_embed", 4, sizeof embed),
                  {{image.view(), Access::Read},
                   {greedy.view(), Access::Write},
                   {ranks.view(), Access::Write},
                   {barycentric_.view(), Access::Write}},
                  &embed, sizeof embed, pixels_, "crf_embed");
    struct InsertPush {
      uint32_t entries, slot_mask;
    } insert{entries, slots - 1};
    flat_dispatch(context, recorder, pipeline(context, "crf_insert", 5, sizeof insert),
                  {{greedy.view(), Access::Read},
                   {ranks.view(), Access::Read},
                   {table.view(), Access::ReadWrite},
                   {slot_counts.view(), Access::ReadWrite},
                   {slot_of_entry.view(), Access::Write}},
                  &insert, sizeof insert, entries, "crf_insert");
    struct NumberPush {
      uint32_t slots;
    } number{slots};
    flat_dispatch(context, recorder, pipeline(context, "crf_number", 6, sizeof number),
                  {{table.view(), Access::Read},
                   {slot_counts.view(), Access::Read},
                   {vertex_of_slot.view(), Access::Write},
                   {vertex_entry.view(), Access::Write},
                   {splat_counts_.view(), Access::Write},
                   {vertex_count.view(), Access::ReadWrite}},
                  &number, sizeof number, slots, "crf_number");
    recorder.end();
    recorder.submit();
  }
  vk::download(context, vertex_count, 0, &vertices_, 4);

  splat_offsets_ = words(context, vertices_);
  vk::Buffer cursors = words(context, vertices_);
  vk::Buffer block_sums = words(context, ops::ceil_div(vertices_, k_scan_block));
  splat_entries_ = words(context, entries);
  vertex_of_entry_ = words(context, entries);
  neighbours_ = words(context, uint64_t(vertices_) * k_simplex * 2);
  vk::Recorder recorder(context);
  recorder.begin();
  recorder.copy(splat_counts_.view(0, uint64_t(vertices_) * 4), splat_offsets_.view());
  recorder.fill(cursors.view(), 0);
  record_scan(context, recorder, splat_offsets_, vertices_, block_sums);
  struct FillPush {
    uint32_t entries;
  } fill{entries};
  flat_dispatch(context, recorder, pipeline(context, "crf_fill", 6, sizeof fill),
                {{slot_of_entry.view(), Access::Read},
                 {vertex_of_slot.view(), Access::Read},
                 {splat_offsets_.view(), Access::Read},
                 {cursors.view(), Access::ReadWrite},
                 {splat_entries_.view(), Access::Write},
                 {vertex_of_entry_.view(), Access::Write}},
                &fill, sizeof fill, entries, "crf_fill");
  struct NeighbourPush {
    uint32_t vertices, slot_mask;
  } neighbour{vertices_, slots - 1};
  flat_dispatch(context, recorder, pipeline(context, "crf_neighbours", 6, sizeof neighbour),
                {{greedy.view(), Access::Read},
                 {ranks.view(), Access::Read},
                 {table.view(), Access::Read},
                 {vertex_of_slot.view(), Access::Read},
                 {vertex_entry.view(), Access::Read},
                 {neighbours_.view(), Access::Write}},
                &neighbour, sizeof neighbour, vertices_, "crf_neighbours");
  recorder.end();
  recorder.submit();
}

uint64_t PermutohedralLattice::scratch_bytes(uint32_t quads) const {
  return 2 * ops::align_to_binding(context_.info(), uint64_t(vertices_) * quads * 16);
}

uint64_t PermutohedralLattice::bytes() const {
  return barycentric_.size() + vertex_of_entry_.size() + splat_offsets_.size() +
         splat_counts_.size() + splat_entries_.size() + neighbours_.size();
}

void PermutohedralLattice::record_filter(vk::Recorder& recorder, vk::BufferView input,
                                         vk::BufferView output, uint32_t quads,
                                         const vk::Buffer& scratch) const {
  const uint64_t plane_bytes = scratch_bytes(quads) / 2;
  if (scratch.size() < 2 * plane_bytes) throw Error("crf: lattice scratch buffer too small");
  const vk::BufferView values[2] = {scratch.view(0, plane_bytes), scratch.view(plane_bytes, plane_bytes)};
  struct SplatPush {
    uint32_t vertices, quads;
  } splat{vertices_, quads};
  flat_dispatch(context_, recorder, pipeline(context_, "crf_splat", 6, sizeof splat),
                {{splat_offsets_.view(), Access::Read},
                 {splat_counts_.view(), Access::Read},
                 {splat_entries_.view(), Access::Read},
                 {barycentric_.view(), Access::Read},
                 {input, Access::Read},
                 {values[0], Access::Write}},
                &splat, sizeof splat, uint64_t(vertices_) * quads, "crf_splat");
  struct BlurPush {
    uint32_t vertices, quads, direction;
  };
  for (uint32_t j = 0; j < k_simplex; ++j) {
    const BlurPush blur{vertices_, quads, j};
    flat_dispatch(context_, recorder, pipeline(context_, "crf_blur", 3, sizeof blur),
                  {{neighbours_.view(), Access::Read},
                   {values[j % 2], Access::Read},
                   {values[(j + 1) % 2], Access::Write}},
                  &blur, sizeof blur, uint64_t(vertices_) * quads, "crf_blur");
  }
  struct SlicePush {
    uint32_t pixels, quads;
  } slice{pixels_, quads};
  flat_dispatch(context_, recorder, pipeline(context_, "crf_slice", 4, sizeof slice),
                {{vertex_of_entry_.view(), Access::Read},
                 {barycentric_.view(), Access::Read},
                 {values[k_simplex % 2], Access::Read},
                 {output, Access::Write}},
                &slice, sizeof slice, uint64_t(pixels_) * quads, "crf_slice");
}

}  // namespace vkseg::crf
