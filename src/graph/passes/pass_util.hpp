#pragma once
// What the graph passes share: who produces and who reads each tensor, and removing nodes.
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/graph.hpp"

namespace vkseg::graph {

struct TensorUse {
  std::unordered_map<std::string, size_t> producer;  // tensor -> index of its node
  std::unordered_map<std::string, int> readers;      // tensor -> reading nodes + graph outputs
};
TensorUse tensor_use(const Graph& graph);

// Whether `tensor` is read by exactly one node and is no graph output, so that its producer can
// be merged into its reader.
bool single_use(const TensorUse& use, const std::string& tensor);

// Records that `host` now computes `merged` too.
void absorb(Node& host, const Node& merged);

// Removes the nodes marked in `removed` (by index), keeping the order of the rest.
void erase_nodes(Graph& graph, const std::vector<bool>& removed);

}  // namespace vkseg::graph
