#include "ops/crop_add.hpp"

#include <fmt/format.h>

#include "ops/dispatch.hpp"
#include "ops/registry.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

struct Push {
  uint32_t count, oh, ow, sh, sw, offset_y, offset_x;
};

}  // namespace

CropAdd::CropAdd(Context& context, bool add, Precision precision)
    : context_(context),
      add_(add),
      type_(storage_type(precision)),
      pipeline_(&vk::state(context).pipeline({shader_variant(context, add ? "crop_add" : "crop",
                                                          "crop_add", precision),
                                           {k_flat_local_size, 1, 1, add},
                                           3,
                                           sizeof(Push)})) {}

void CropAdd::record(vk::Recorder& recorder, const Tensor& source, const Tensor* addend,
                     const Tensor& output, uint32_t offset_y, uint32_t offset_x) const {
  const char* op = add_ ? "crop_add" : "crop";
  require_fits(op, "source", source, type_);
  require_fits(op, "output", output, type_);
  if (add_) {
    if (!addend) throw Error("crop_add: no addend was given");
    require_fits(op, "addend", *addend, type_);
    require_shape(op, "output", output.shape, addend->shape);
  } else if (addend) {
    throw Error("crop: an addend was given to a plain crop");
  }
  const Shape& s = source.shape;
  const Shape& o = output.shape;
  if (s.n != o.n || s.c != o.c) {
    throw Error(fmt::format("{}: source {} and output {} differ in batch or channels", op, s.str(),
                            o.str()));
  }
  if (uint64_t(offset_y) + o.h > s.h || uint64_t(offset_x) + o.w > s.w) {
    throw Error(fmt::format("{}: a {}x{} window at ({}, {}) does not fit the {}x{} source", op, o.h,
                            o.w, offset_y, offset_x, s.h, s.w));
  }
  const uint32_t count = uint32_t(o.count());
  if (count == 0) return;
  const Push push{count, o.h, o.w, s.h, s.w, offset_y, offset_x};
  const FlatGrid grid = flat_grid(context_.info(), count);
  // A plain crop never reads binding 1; the source stands in for it.
  recorder.dispatch(*pipeline_,
                    {{source.view, vk::Access::Read},
                     {(addend ? *addend : source).view, vk::Access::Read},
                     {output.view, vk::Access::Write}},
                    &push, sizeof push, grid.x, grid.y, 1, op);
}

namespace {

// crop: inputs (source, reference), the output the window of source at `offset` of the
// reference's size; crop_add: inputs (source, addend), the window plus the addend.
class CropNode : public NodeOp {
 public:
  explicit CropNode(const OpBuild& b)
      : op_(b.context, b.node.op == "crop_add", b.precision),
        offset_y_(uint32_t(b.node.attr_ints("offset")[0])),
        offset_x_(uint32_t(b.node.attr_ints("offset")[1])) {}
  std::vector<Shape> output_shapes(const std::vector<Shape>& inputs) const override {
    const Shape& source = inputs[0];
    const Shape& other = inputs[1];
    const Shape out{source.n, source.c, other.h, other.w};
    if (source.n != other.n || (op_.adds() && source.c != other.c)) {
      throw Error(fmt::format("cannot {} {} to {}", op_.adds() ? "add" : "crop", source.str(),
                              other.str()));
    }
    if (uint64_t(offset_y_) + out.h > source.h || uint64_t(offset_x_) + out.w > source.w) {
      throw Error(fmt::format("a {}x{} window at offset ({}, {}) does not fit in {}x{}; the input "
                              "is too small for this network",
                              out.h, out.w, offset_y_, offset_x_, source.h, source.w));
    }
    return {out};
  }
  uint64_t flops(const std::vector<Shape>&, const std::vector<Shape>& outputs) const override {
    return op_.adds() ? outputs[0].count() : 0;
  }
  void record(vk::Recorder& recorder, const OpIo& io) const override {
    op_.record(recorder, io.inputs[0], op_.adds() ? &io.inputs[1] : nullptr, io.outputs[0],
               offset_y_, offset_x_);
  }

 private:
  CropAdd op_;
  uint32_t offset_y_, offset_x_;
};

OpDef crop_def(const char* name, const char* summary, bool adds) {
  OpSchema s{name, summary};
  s.min_inputs = s.max_inputs = 2;
  s.attrs = {ints_attr("offset", graph::Ints{0, 0}, 2, 0, 1 << 20)};
  if (adds) {
    s.channels = same_channels;
  } else {
    s.channels = [](const graph::Node&, const graph::Weights&, const std::vector<int64_t>& in) {
      return std::vector<int64_t>{in[0]};  // the reference gives only its size
    };
  }
  return {std::move(s), [](const OpBuild& b) { return std::make_unique<CropNode>(b); }};
}

}  // namespace

const OpDef& crop_op() {
  static const OpDef def =
      crop_def("crop", "source[offset:] cut to the reference's height and width", false);
  return def;
}

const OpDef& crop_add_op() {
  static const OpDef def = crop_def(
      "crop_add", "source[offset:] cut to the addend's height and width, plus the addend", true);
  return def;
}

}  // namespace vkseg::ops
