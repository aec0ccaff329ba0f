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

// The value of `tensor` when a `constant` node produces it, else nullptr.
const WeightTensor* constant_value(const Graph& graph, const TensorUse& use,
                                   const Weights& weights, const std::string& tensor);

// A constant's values per channel of a tensor with `channels` channels, when it broadcasts as
// one value (any shape of one element) or as 1 x C x 1 x 1; else empty.
std::vector<float> per_channel(const WeightTensor& constant, int64_t channels);

// A weight the pass may change in place: the tensor itself when no other node refers to it,
// else a copy under a new name that `node`'s `role` now refers to.
WeightTensor& own_weight(Graph& graph, Weights& weights, Node& node, const std::string& role);

}  // namespace vkseg::graph
