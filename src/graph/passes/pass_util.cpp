#include "graph/passes/pass_util.hpp"

namespace vkseg::graph {

TensorUse tensor_use(const Graph& graph) {
  TensorUse use;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    for (const std::string& in : graph.nodes[i].inputs) ++use.readers[in];
    for (const std::string& out : graph.nodes[i].outputs) use.producer[out] = i;
  }
  for (const std::string& out : graph.outputs) ++use.readers[out];
  return use;
}

bool single_use(const TensorUse& use, const std::string& tensor) {
  const auto it = use.readers.find(tensor);
  return it != use.readers.end() && it->second == 1;
}

void absorb(Node& host, const Node& merged) {
  host.fused.insert(host.fused.end(), merged.fused.begin(), merged.fused.end());
  host.fused.push_back({merged.name, merged.op});
}

void erase_nodes(Graph& graph, const std::vector<bool>& removed) {
  size_t kept = 0;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    if (removed[i]) continue;
    if (kept != i) graph.nodes[kept] = std::move(graph.nodes[i]);
    ++kept;
  }
  graph.nodes.resize(kept);
}

}  // namespace vkseg::graph
