#pragma once
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vkseg::graph {

enum class OpKind { Conv2d, MaxPool2d, ConvTranspose2d, Crop, CropAdd, Relu };

const char* op_name(OpKind op);

using Pair = std::array<uint32_t, 2>;  // (height, width)

// One layer. Activations and weights are referred to by name.
//   conv2d, conv_transpose2d: inputs {x}; weight, optional bias
//   max_pool2d, relu:         inputs {x}
//   crop:                     inputs {source, reference}: source[offset:] cut to reference's H x W
//   crop_add:                 inputs {source, addend}: source[offset:] cut to addend's size, + addend
struct Node {
  std::string name;
  OpKind op = OpKind::Relu;
  std::vector<std::string> inputs;
  std::string output;
  std::string weight, bias;  // tensor names; bias empty when there is none
  Pair kernel{1, 1}, stride{1, 1}, pad{0, 0}, dilation{1, 1}, output_pad{0, 0}, offset{0, 0};
  uint32_t groups = 1;
  bool relu = false;  // fused after conv2d
  bool ceil_mode = false;
};

struct Graph {
  std::string input;
  std::vector<std::string> outputs;
  std::vector<Node> nodes;  // in execution order
};

// Shapes of the weight tensors the graph refers to, for validation.
using WeightShapes = std::map<std::string, std::vector<int64_t>>;

nlohmann::ordered_json to_json(const Graph& graph);
// Parses and validates: known ops with possible attributes, every input defined before use (so no
// cycles), unique outputs, weights present with shapes that fit the op. Throws Error naming the
// node and the problem.
Graph graph_from_json(const nlohmann::json& json, const WeightShapes& weights);
// Follows channel counts from the input through every layer: each convolution's weights must
// take what its input holds, and crop_add's two inputs must agree. Throws Error naming the node.
void check_channels(const Graph& graph, uint32_t input_channels, const WeightShapes& weights);

}  // namespace vkseg::graph
