#include "ops/confusion.hpp"

#include <fmt/format.h>

#include "ops/dispatch.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

struct Push {
  uint32_t width, height, predicted_stride, classes;
};

}  // namespace

ConfusionCount::ConfusionCount(Context& context)
    : context_(context),
      pipeline_(&vk::state(context).pipeline({"confusion", {k_flat_local_size, 1, 1}, 3, sizeof(Push)})) {}

void ConfusionCount::record(vk::Recorder& recorder, const Tensor& predicted, const Tensor& truth,
                            const Tensor& counts, uint32_t classes) const {
  require_fits("confusion", "predicted", predicted, DType::U32);
  require_fits("confusion", "truth", truth, DType::U32);
  require_fits("confusion", "counts", counts, DType::U32);
  const Shape& p = predicted.shape;
  const Shape& t = truth.shape;
  if (p.n != 1 || p.c != 1 || t.n != 1 || t.c != 1 || t.h > p.h || t.w > p.w) {
    throw Error(fmt::format("confusion: truth {} must be one map no larger than the predicted {}",
                            t.str(), p.str()));
  }
  if (counts.shape.count() != uint64_t(classes) * classes) {
    throw Error(fmt::format("confusion: counts {} must hold {}x{} values", counts.shape.str(),
                            classes, classes));
  }
  const Push push{t.w, t.h, p.w, classes};
  const FlatGrid grid = flat_grid(context_.info(), t.count());
  recorder.dispatch(*pipeline_,
                    {{predicted.view, vk::Access::Read},
                     {truth.view, vk::Access::Read},
                     {counts.view, vk::Access::ReadWrite}},
                    &push, sizeof push, grid.x, grid.y, 1, "confusion");
}

}  // namespace vkseg::ops
