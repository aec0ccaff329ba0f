#include "graph/passes/pass_util.hpp"
#include "graph/passes/passes.hpp"
#include "ops/activation.hpp"
#include "ops/registry.hpp"

namespace vkseg::graph {

void fuse_activations(detail::ModelData& model) {
  Graph& g = model.graph;
  const TensorUse use = tensor_use(g);
  std::vector<bool> removed(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& act = g.nodes[i];
    const std::optional<ops::Activation> activation = ops::activation_of(act);
    if (!activation) continue;
    const auto producer = use.producer.find(act.inputs[0]);
    if (producer == use.producer.end() || !single_use(use, act.inputs[0])) continue;
    Node& host = g.nodes[producer->second];
    if (!ops::find_op(host.op)->schema.has_attr("activation") ||
        ops::fused_activation(host).kind != ops::ActivationKind::None || host.outputs.size() != 1) {
      continue;
    }
    ops::set_fused_activation(host, *activation);
    host.outputs[0] = act.outputs[0];
    absorb(host, act);
    removed[i] = true;
  }
  erase_nodes(g, removed);
}

}  // namespace vkseg::graph
