#pragma once
// The model graph: nodes with an op name (one of the op registry's), named inputs and outputs,
// typed attributes and named weights. Plain data; validation against each op's schema lives in
// graph/validate.hpp, the ops themselves in src/ops.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace vkseg::graph {

using Ints = std::vector<int64_t>;
using Floats = std::vector<double>;
using AttrValue = std::variant<int64_t, double, std::string, Ints, Floats>;

// One layer. Activations are referred to by name: every input is the graph's input or an
// earlier node's output. Weights are constant tensors of the model, referred to by role
// ("weight", "bias", "value", ...) as the op's schema names them.
struct Node {
  std::string name;
  std::string op;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::map<std::string, AttrValue> attrs;
  std::map<std::string, std::string> weights;  // role -> tensor name
  // (name, op) of the nodes graph passes merged into this one (batch norm folded into a
  // convolution, a crop computed by a transposed convolution, ...); never stored in files.
  std::vector<std::pair<std::string, std::string>> fused;

  // Attribute accessors. After validation every attribute the op's schema declares is present
  // (defaults filled in); a missing or mistyped one is an internal error.
  int64_t attr_int(const std::string& key) const;
  double attr_float(const std::string& key) const;
  const std::string& attr_string(const std::string& key) const;
  const Ints& attr_ints(const std::string& key) const;
  const Floats& attr_floats(const std::string& key) const;
  const std::string& output() const { return outputs.at(0); }
  // The tensor name of weight `role`, or an empty string when the node has none.
  std::string weight(const std::string& role) const;
};

// A node whose one output is named after it.
Node make_node(std::string name, std::string op, std::vector<std::string> inputs,
               std::map<std::string, AttrValue> attrs = {},
               std::map<std::string, std::string> weights = {});

struct Graph {
  std::string input;
  std::vector<std::string> outputs;
  std::vector<Node> nodes;  // in execution order
};

// Graphs far beyond any real network (ResNet-101 DeepLab has about 350 nodes, ONNX exports a
// few thousand) are refused before anything is done with them, so that loading, validating and
// planning stay bounded.
constexpr size_t k_max_nodes = 100000;

// A model's weight: row-major values, converted to float32 whatever the file stored.
struct WeightTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};
using Weights = std::map<std::string, WeightTensor>;

}  // namespace vkseg::graph
