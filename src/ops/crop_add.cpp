#include "ops/crop_add.hpp"

#include <fmt/format.h>

#include "ops/dispatch.hpp"
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
      pipeline_(&context.state().pipeline({shader_variant(context, add ? "crop_add" : "crop",
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

}  // namespace vkseg::ops
