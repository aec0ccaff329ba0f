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

const WeightTensor* constant_value(const Graph& graph, const TensorUse& use,
                                   const Weights& weights, const std::string& tensor) {
  const auto producer = use.producer.find(tensor);
  if (producer == use.producer.end()) return nullptr;
  const Node& node = graph.nodes[producer->second];
  if (node.op != "constant") return nullptr;
  const auto it = weights.find(node.weight("value"));
  return it == weights.end() ? nullptr : &it->second;
}

std::vector<float> per_channel(const WeightTensor& constant, int64_t channels) {
  if (constant.values.size() == 1) return std::vector<float>(size_t(channels), constant.values[0]);
  // Right-aligned to NCHW: the channel extent is the third from the end, the last two are 1.
  const std::vector<int64_t>& s = constant.shape;
  const size_t rank = s.size();
  if (rank < 3 || s[rank - 1] != 1 || s[rank - 2] != 1 || s[rank - 3] != channels ||
      (rank == 4 && s[0] != 1)) {
    return {};
  }
  return constant.values;
}

WeightTensor& own_weight(Graph& graph, Weights& weights, Node& node, const std::string& role) {
  const std::string name = node.weights.at(role);
  size_t uses = 0;
  for (const Node& n : graph.nodes) {
    for (const auto& [r, w] : n.weights) uses += w == name;
  }
  if (uses == 1) return weights.at(name);
  std::string copy = node.name + "." + role;
  while (weights.count(copy)) copy += "_";
  weights[copy] = weights.at(name);
  node.weights[role] = copy;
  return weights.at(copy);
}

}  // namespace vkseg::graph
