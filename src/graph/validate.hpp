#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "graph/graph.hpp"

namespace vkseg::graph {

// The graph as a model file stores it (format version 2): nodes with "name", "op", "inputs",
// "outputs", "attrs" and "weights".
nlohmann::ordered_json to_json(const Graph& graph);
// Reads a stored graph, of format version 1 (the FCN-only layout, upgraded to today's ops) or
// 2. Attribute values are read as the op's schema types them; everything else is left to
// validate(). Throws Error naming the node.
Graph graph_from_json(const nlohmann::json& json, int format_version);

// Checks a graph against the op registry before anything uses it: known ops, input and output
// counts, every input produced earlier (so no cycles or dangling names), unique names, each
// attribute known to the op with the right type and range (missing ones get their defaults),
// each weight present, and the op's own rules on weight shapes and channel counts, followed
// from the input through every node. Returns the channel count of each graph output. Throws
// Error naming the node and what does not fit.
std::vector<int64_t> validate(Graph& graph, const Weights& weights, uint32_t input_channels);

}  // namespace vkseg::graph
