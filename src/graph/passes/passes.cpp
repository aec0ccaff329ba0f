#include "graph/passes/passes.hpp"

#include <fmt/format.h>

#include "vkseg/error.hpp"

namespace vkseg::graph {

void optimize(detail::ModelData& model) {
  fuse_activations(model);
  fuse_conv_transpose_crop(model);
  try {
    detail::validate_model(model);
  } catch (const Error& e) {
    throw Error(fmt::format("internal error: the optimised graph is invalid: {}", e.what()));
  }
}

}  // namespace vkseg::graph
