#include "ops/global_pool.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>

#include "ops/dispatch.hpp"
#include "ops/registry.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

// Invocations of a workgroup: Vulkan's guaranteed minimum of maxComputeWorkGroupInvocations, so
// every device runs it; enough to keep a plane's loads apart on a CPU and cover a GPU's subgroup.
constexpr uint32_t k_local_size = 128;

struct Push {
  uint32_t planes, plane_size, lanes, input_first, output_plane;
};

// Invocations that keep the device busy: a CPU device runs a few threads of one subgroup each,
// so a plane per invocation already fills it and no tree is needed; a GPU wants tens of
// thousands.
uint32_t parallel_invocations(const DeviceInfo& info) {
  return info.type == "CPU" ? 256 : 65536;
}

}  // namespace

GlobalPool::GlobalPool(Context& context, bool max, Precision precision)
    : context_(context),
      max_(max),
      type_(storage_type(precision)),
      pipeline_(&vk::state(context).pipeline(
          {shader_variant(context, max ? "global_max_pool" : "global_avg_pool", "global_pool",
                          precision),
           {k_local_size, 1, 1, max},
           2,
           sizeof(Push),
           0b01})) {}

void GlobalPool::record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const {
  const char* op = max_ ? "global_max_pool" : "global_avg_pool";
  require_fits(op, "input", input, type_);
  require_fits(op, "output", output, type_);
  require_shape(op, "output", output.shape, output_shape(input.shape));
  const Shape& s = input.shape;
  const uint64_t planes = uint64_t(s.n) * s.c;
  const uint32_t plane_size = s.h * s.w;
  if (planes == 0) return;
  if (plane_size == 0) throw Error(fmt::format("{}: cannot pool the empty input {}", op, s.str()));
  // A plane's share of the workgroup, a power of two: no more than its size (so 1x1 maps in a
  // classifier head pack many planes into one workgroup) and no more than it takes to fill the
  // device.
  const uint64_t fill = std::max<uint64_t>(1, parallel_invocations(context_.info()) / planes);
  const uint32_t lanes = uint32_t(std::min<uint64_t>(
      {k_local_size, std::bit_ceil(uint64_t(plane_size)), std::bit_floor(fill)}));
  // A dispatch reads the planes that fit one texel buffer.
  for_each_texel_window(
      context_.info(), input.view, plane_size, element_bytes(type_), 0, planes,
      [&](uint64_t first, uint64_t count, const TexelWindow& window) {
        const Push push{uint32_t(count), plane_size, lanes, window.first_texel, uint32_t(first)};
        const FlatGrid grid = flat_grid(context_.info(), count * lanes, k_local_size);
        recorder.dispatch(*pipeline_,
                          {{window.view, vk::Access::Read, activation_texel_format(type_)},
                           {output.view, vk::Access::Write}},
                          &push, sizeof push, grid.x, grid.y, 1, op);
      });
}

namespace {

OpDef global_pool_def(const char* name, const char* summary, bool max) {
  OpSchema s{name, summary};
  s.channels = same_channels;
  return {std::move(s), [max](const OpBuild& b) {
            return std::make_unique<OneInputNode<GlobalPool>>(
                GlobalPool(b.context, max, b.precision));
          }};
}

}  // namespace

const OpDef& global_avg_pool_op() {
  static const OpDef def = global_pool_def(
      "global_avg_pool", "mean of each channel's plane (adaptive_avg_pool2d(x, 1))", false);
  return def;
}

const OpDef& global_max_pool_op() {
  static const OpDef def = global_pool_def(
      "global_max_pool", "maximum of each channel's plane (amax(x, (2, 3)), NaN if any)", true);
  return def;
}

}  // namespace vkseg::ops
