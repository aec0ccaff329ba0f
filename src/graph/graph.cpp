#include "graph/graph.hpp"

#include <fmt/format.h>

#include <set>

#include "vkseg/error.hpp"

namespace vkseg::graph {

namespace {

constexpr OpKind k_ops[] = {OpKind::Conv2d, OpKind::MaxPool2d, OpKind::ConvTranspose2d,
                            OpKind::Crop, OpKind::CropAdd, OpKind::Relu};

[[noreturn]] void fail(const std::string& node, const std::string& problem) {
  throw Error(fmt::format("graph node '{}': {}", node, problem));
}

bool takes_weights(OpKind op) { return op == OpKind::Conv2d || op == OpKind::ConvTranspose2d; }

size_t input_count(OpKind op) { return op == OpKind::Crop || op == OpKind::CropAdd ? 2 : 1; }

Pair read_pair(const nlohmann::json& j, const char* key, const std::string& node, Pair fallback,
               uint32_t min_value, uint32_t max_value = 4096) {
  if (!j.contains(key)) return fallback;
  const auto& v = j.at(key);
  if (!v.is_array() || v.size() != 2 || !v[0].is_number_unsigned() || !v[1].is_number_unsigned()) {
    fail(node, fmt::format("'{}' must be two non-negative integers", key));
  }
  // Range-checked as 64-bit values, before narrowing (2^32 + 3 must not pass as 3).
  for (const auto& x : v) {
    if (x.get<uint64_t>() < min_value || x.get<uint64_t>() > max_value) {
      fail(node, fmt::format("'{}' value {} is outside [{}, {}]", key, x.get<uint64_t>(),
                             min_value, max_value));
    }
  }
  return Pair{v[0].get<uint32_t>(), v[1].get<uint32_t>()};
}

void check_weights(const Node& n, const WeightShapes& weights) {
  const auto w = weights.find(n.weight);
  if (w == weights.end()) fail(n.name, fmt::format("weight '{}' is not in the file", n.weight));
  const auto& s = w->second;
  if (s.size() != 4 || s[2] != n.kernel[0] || s[3] != n.kernel[1]) {
    fail(n.name, fmt::format("weight '{}' does not have a 4-D {}x{} kernel shape", n.weight,
                             n.kernel[0], n.kernel[1]));
  }
  if (!n.bias.empty()) {
    const auto b = weights.find(n.bias);
    if (b == weights.end()) fail(n.name, fmt::format("bias '{}' is not in the file", n.bias));
    const int64_t out = n.op == OpKind::Conv2d ? s[0] : s[1] * n.groups;
    if (b->second.size() != 1 || b->second[0] != out) {
      fail(n.name, fmt::format("bias '{}' must hold {} values", n.bias, out));
    }
  }
  if (n.op == OpKind::Conv2d && s[0] % n.groups != 0) {
    fail(n.name, "output channels do not divide into the groups");
  }
  if (n.op == OpKind::ConvTranspose2d && s[0] % n.groups != 0) {
    fail(n.name, "input channels do not divide into the groups");
  }
}

}  // namespace

const char* op_name(OpKind op) {
  switch (op) {
    case OpKind::Conv2d: return "conv2d";
    case OpKind::MaxPool2d: return "max_pool2d";
    case OpKind::ConvTranspose2d: return "conv_transpose2d";
    case OpKind::Crop: return "crop";
    case OpKind::CropAdd: return "crop_add";
    case OpKind::Relu: return "relu";
  }
  return "?";
}

nlohmann::ordered_json to_json(const Graph& graph) {
  nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
  for (const Node& n : graph.nodes) {
    nlohmann::ordered_json j;
    j["name"] = n.name;
    j["op"] = op_name(n.op);
    j["inputs"] = n.inputs;
    j["output"] = n.output;
    switch (n.op) {
      case OpKind::Conv2d:
      case OpKind::ConvTranspose2d:
        j["weight"] = n.weight;
        if (!n.bias.empty()) j["bias"] = n.bias;
        j["kernel"] = n.kernel;
        j["stride"] = n.stride;
        j["pad"] = n.pad;
        j["dilation"] = n.dilation;
        j["groups"] = n.groups;
        if (n.op == OpKind::Conv2d) j["relu"] = n.relu;
        if (n.op == OpKind::ConvTranspose2d) j["output_pad"] = n.output_pad;
        break;
      case OpKind::MaxPool2d:
        j["kernel"] = n.kernel;
        j["stride"] = n.stride;
        j["pad"] = n.pad;
        j["dilation"] = n.dilation;
        j["ceil_mode"] = n.ceil_mode;
        break;
      case OpKind::Crop:
      case OpKind::CropAdd:
        j["offset"] = n.offset;
        break;
      case OpKind::Relu:
        break;
    }
    nodes.push_back(std::move(j));
  }
  nlohmann::ordered_json j;
  j["input"] = graph.input;
  j["outputs"] = graph.outputs;
  j["nodes"] = std::move(nodes);
  return j;
}

Graph graph_from_json(const nlohmann::json& json, const WeightShapes& weights) {
  if (!json.is_object() || !json.contains("input") || !json["input"].is_string() ||
      !json.contains("outputs") || !json["outputs"].is_array() || !json.contains("nodes") ||
      !json["nodes"].is_array()) {
    throw Error("graph: expected an object with 'input', 'outputs' and 'nodes'");
  }
  Graph g;
  g.input = json["input"].get<std::string>();
  std::set<std::string> defined{g.input};
  for (const auto& j : json["nodes"]) {
    Node n;
    if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) {
      throw Error("graph: every node needs a string 'name'");
    }
    n.name = j["name"].get<std::string>();
    if (!j.contains("op") || !j["op"].is_string()) fail(n.name, "missing 'op'");
    const std::string op = j["op"].get<std::string>();
    bool known = false;
    for (OpKind k : k_ops) {
      if (op == op_name(k)) {
        n.op = k;
        known = true;
      }
    }
    if (!known) fail(n.name, fmt::format("unknown op '{}'", op));
    if (!j.contains("inputs") || !j["inputs"].is_array() || !j.contains("output") ||
        !j["output"].is_string()) {
      fail(n.name, "needs 'inputs' (array) and 'output' (string)");
    }
    for (const auto& in : j["inputs"]) {
      if (!in.is_string()) fail(n.name, "inputs must be names");
      n.inputs.push_back(in.get<std::string>());
    }
    if (n.inputs.size() != input_count(n.op)) {
      fail(n.name, fmt::format("{} takes {} input(s), not {}", op, input_count(n.op),
                               n.inputs.size()));
    }
    for (const std::string& in : n.inputs) {
      if (!defined.count(in)) {
        fail(n.name, fmt::format("input '{}' is not produced by an earlier node (a dangling "
                                 "name or a cycle)", in));
      }
    }
    n.output = j["output"].get<std::string>();
    if (!defined.insert(n.output).second) {
      fail(n.name, fmt::format("output '{}' is produced twice", n.output));
    }
    n.kernel = read_pair(j, "kernel", n.name, n.kernel, 1);
    n.stride = read_pair(j, "stride", n.name, n.stride, 1);
    n.pad = read_pair(j, "pad", n.name, n.pad, 0);
    n.dilation = read_pair(j, "dilation", n.name, n.dilation, 1);
    n.output_pad = read_pair(j, "output_pad", n.name, n.output_pad, 0);
    n.offset = read_pair(j, "offset", n.name, n.offset, 0, 1u << 20);
    // PyTorch's rules, checked here too so that a file breaking them is refused when loaded.
    if (n.op == OpKind::MaxPool2d && (n.pad[0] > n.kernel[0] / 2 || n.pad[1] > n.kernel[1] / 2)) {
      fail(n.name, fmt::format("'pad' {}x{} exceeds half the {}x{} kernel", n.pad[0], n.pad[1],
                               n.kernel[0], n.kernel[1]));
    }
    if (n.op == OpKind::ConvTranspose2d &&
        ((n.output_pad[0] >= n.stride[0] && n.output_pad[0] >= n.dilation[0]) ||
         (n.output_pad[1] >= n.stride[1] && n.output_pad[1] >= n.dilation[1]))) {
      fail(n.name, fmt::format("'output_pad' {}x{} must be smaller than the stride {}x{} or the "
                               "dilation {}x{}",
                               n.output_pad[0], n.output_pad[1], n.stride[0], n.stride[1],
                               n.dilation[0], n.dilation[1]));
    }
    if (j.contains("groups")) {
      if (!j["groups"].is_number_unsigned() || j["groups"].get<uint64_t>() == 0 ||
          j["groups"].get<uint64_t>() > 65536) {
        fail(n.name, "'groups' must be a positive integer");
      }
      n.groups = j["groups"].get<uint32_t>();
    }
    if (j.contains("relu")) {
      if (!j["relu"].is_boolean()) fail(n.name, "'relu' must be true or false");
      n.relu = j["relu"].get<bool>();
    }
    if (j.contains("ceil_mode")) {
      if (!j["ceil_mode"].is_boolean()) fail(n.name, "'ceil_mode' must be true or false");
      n.ceil_mode = j["ceil_mode"].get<bool>();
    }
    if (takes_weights(n.op)) {
      if (!j.contains("weight") || !j["weight"].is_string()) fail(n.name, "needs a 'weight'");
      n.weight = j["weight"].get<std::string>();
      if (j.contains("bias")) {
        if (!j["bias"].is_string()) fail(n.name, "'bias' must be a tensor name");
        n.bias = j["bias"].get<std::string>();
      }
      check_weights(n, weights);
    }
    g.nodes.push_back(std::move(n));
  }
  if (g.nodes.empty()) throw Error("graph: no nodes");
  for (const auto& out : json["outputs"]) {
    if (!out.is_string() || !defined.count(out.get<std::string>())) {
      throw Error("graph: an output names no tensor the graph produces");
    }
    g.outputs.push_back(out.get<std::string>());
  }
  if (g.outputs.empty()) throw Error("graph: no outputs");
  return g;
}

void check_channels(const Graph& graph, uint32_t input_channels, const WeightShapes& weights) {
  std::map<std::string, int64_t> channels{{graph.input, input_channels}};
  for (const Node& n : graph.nodes) {
    const int64_t in = channels.at(n.inputs[0]);
    auto require = [&](int64_t expected, const std::string& what) {
      if (in != expected) {
        throw Error(fmt::format("graph: node '{}': {} takes {} channels but its input '{}' has {}",
                                n.name, what, expected, n.inputs[0], in));
      }
    };
    int64_t out = in;
    switch (n.op) {
      case OpKind::Conv2d: {
        const auto& w = weights.at(n.weight);
        require(w[1] * n.groups, fmt::format("weight '{}'", n.weight));
        out = w[0];
        break;
      }
      case OpKind::ConvTranspose2d: {
        const auto& w = weights.at(n.weight);
        require(w[0], fmt::format("weight '{}'", n.weight));
        out = w[1] * n.groups;
        break;
      }
      case OpKind::CropAdd:
        require(channels.at(n.inputs[1]), fmt::format("its addend '{}'", n.inputs[1]));
        break;
      case OpKind::MaxPool2d:
      case OpKind::Crop:
      case OpKind::Relu: break;
    }
    channels[n.output] = out;
  }
}

}  // namespace vkseg::graph
