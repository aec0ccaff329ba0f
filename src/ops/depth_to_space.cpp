#include "ops/depth_to_space.hpp"

#include <fmt/format.h>

#include "ops/dispatch.hpp"
#include "ops/registry.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

struct Push {
  uint32_t count, c, h, w;  // output elements and channels, input size
};

}  // namespace

DepthToSpace::DepthToSpace(Context& context, uint32_t blocksize, bool crd, Precision precision)
    : context_(context), blocksize_(blocksize), type_(storage_type(precision)) {
  if (blocksize == 0) throw Error("depth_to_space: the blocksize must be positive");
  pipeline_ = &vk::state(context).pipeline(
      {shader_variant(context, "depth_to_space", "depth_to_space", precision),
       {k_flat_local_size, 1, 1, blocksize, crd},
       2,
       sizeof(Push)});
}

Shape DepthToSpace::output_shape(const Shape& input) const {
  const uint32_t block = blocksize_ * blocksize_;
  if (input.c % block != 0) {
    throw Error(fmt::format("depth_to_space: {} channels do not divide into {}x{} blocks", input.c,
                            blocksize_, blocksize_));
  }
  if (uint64_t(input.h) * blocksize_ > UINT32_MAX || uint64_t(input.w) * blocksize_ > UINT32_MAX) {
    throw Error(fmt::format("depth_to_space: {} has too many rows or columns", input.str()));
  }
  return {input.n, input.c / block, input.h * blocksize_, input.w * blocksize_};
}

void DepthToSpace::record(vk::Recorder& recorder, const Tensor& input, const Tensor& output) const {
  require_fits("depth_to_space", "input", input, type_);
  require_fits("depth_to_space", "output", output, type_);
  require_shape("depth_to_space", "output", output.shape, output_shape(input.shape));
  const Shape& s = input.shape;
  const Push push{uint32_t(output.shape.count()), output.shape.c, s.h, s.w};
  if (push.count == 0) return;
  const FlatGrid grid = flat_grid(context_.info(), push.count);
  recorder.dispatch(*pipeline_, {{input.view, vk::Access::Read}, {output.view, vk::Access::Write}},
                    &push, sizeof push, grid.x, grid.y, 1, "depth_to_space");
}

const OpDef& depth_to_space_op() {
  static const OpDef def = [] {
    OpSchema s{"depth_to_space",
               "channels to blocks of pixels (ONNX DepthToSpace; CRD is pixel_shuffle)"};
    s.attrs = {int_attr("blocksize", std::nullopt, 1, 1024),
               string_attr("mode", "DCR", {"DCR", "CRD"})};
    s.channels = [](const graph::Node& n, const graph::Weights&, const std::vector<int64_t>& in) {
      const int64_t b = n.attr_int("blocksize");
      if (in[0] % (b * b) != 0) {
        throw Error(fmt::format("its input's {} channels do not divide into {}x{} blocks", in[0],
                                b, b));
      }
      return std::vector<int64_t>{in[0] / (b * b)};
    };
    return OpDef{std::move(s), [](const OpBuild& b) {
                   return std::make_unique<OneInputNode<DepthToSpace>>(
                       DepthToSpace(b.context, uint32_t(b.node.attr_int("blocksize")),
                                    b.node.attr_string("mode") == "CRD", b.precision));
                 }};
  }();
  return def;
}

}  // namespace vkseg::ops
