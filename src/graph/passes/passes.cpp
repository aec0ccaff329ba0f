#include "graph/passes/passes.hpp"

#include <fmt/format.h>

#include <set>

#include "vkseg/error.hpp"

namespace vkseg::graph {

void optimize(detail::ModelData& model) {
  remove_identities(model);
  fold_batch_norm(model);
  fold_constants(model);
  fuse_activations(model);
  fuse_conv_transpose_crop(model);
  std::set<std::string> used;
  for (const Node& n : model.graph.nodes) {
    for (const auto& [role, name] : n.weights) used.insert(name);
  }
  std::erase_if(model.weights, [&](const auto& w) { return !used.count(w.first); });
  try {
    detail::validate_model(model);
  } catch (const Error& e) {
    throw Error(fmt::format("internal error: the optimised graph is invalid: {}", e.what()));
  }
}

}  // namespace vkseg::graph
