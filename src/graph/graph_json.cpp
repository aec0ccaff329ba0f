// The graph in a model file's metadata, and the upgrade of format version 1 (the six FCN ops
// with their attributes as fixed fields) to today's graph.
#include <fmt/format.h>

#include "graph/validate.hpp"
#include "ops/registry.hpp"
#include "vkseg/error.hpp"
#include "vkseg/text.hpp"

namespace vkseg::graph {

namespace {

[[noreturn]] void fail(const std::string& node, const std::string& problem) {
  throw Error(fmt::format("graph node '{}': {}", printable(node), problem));
}

nlohmann::ordered_json attr_json(const AttrValue& value) {
  return std::visit([](const auto& v) { return nlohmann::ordered_json(v); }, value);
}

std::vector<std::string> names(const nlohmann::json& j, const char* key, const std::string& node) {
  if (!j.contains(key) || !j[key].is_array()) fail(node, fmt::format("needs '{}' (a list)", key));
  std::vector<std::string> out;
  for (const auto& v : j[key]) {
    if (!v.is_string()) fail(node, fmt::format("'{}' must be names", key));
    out.push_back(v.get<std::string>());
  }
  return out;
}

// A JSON value as the schema types the attribute; the checks of range and length are
// validate()'s.
AttrValue read_attr(const nlohmann::json& v, ops::AttrType type, const std::string& key,
                    const std::string& node) {
  auto wrong = [&]() -> AttrValue { fail(node, fmt::format("attribute '{}' has the wrong type", printable(key))); };
  auto integer = [&](const nlohmann::json& x) -> int64_t {
    if (x.is_number_unsigned()) {
      if (x.get<uint64_t>() > uint64_t(INT64_MAX)) wrong();
      return int64_t(x.get<uint64_t>());
    }
    if (!x.is_number_integer()) wrong();
    return x.get<int64_t>();
  };
  auto number = [&](const nlohmann::json& x) -> double {
    if (!x.is_number()) wrong();
    return x.get<double>();
  };
  switch (type) {
    case ops::AttrType::Int: return integer(v);
    case ops::AttrType::Float: return number(v);
    case ops::AttrType::String:
      if (!v.is_string()) wrong();
      return v.get<std::string>();
    case ops::AttrType::Ints: {
      if (!v.is_array()) wrong();
      Ints out;
      for (const auto& x : v) out.push_back(integer(x));
      return out;
    }
    case ops::AttrType::Floats: {
      if (!v.is_array()) wrong();
      Floats out;
      for (const auto& x : v) out.push_back(number(x));
      return out;
    }
  }
  return wrong();
}

Node node_from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) {
    throw Error("graph: every node needs a string 'name'");
  }
  Node n;
  n.name = j["name"].get<std::string>();
  if (!j.contains("op") || !j["op"].is_string()) fail(n.name, "missing 'op'");
  n.op = j["op"].get<std::string>();
  const ops::OpDef* def = ops::find_op(n.op);
  if (!def) fail(n.name, fmt::format("unknown op '{}'; supported: {}", printable(n.op), ops::op_names()));
  n.inputs = names(j, "inputs", n.name);
  n.outputs = names(j, "outputs", n.name);
  if (j.contains("attrs")) {
    if (!j["attrs"].is_object()) fail(n.name, "'attrs' must be an object");
    for (const auto& [key, value] : j["attrs"].items()) {
      const ops::AttrSpec* spec = nullptr;
      for (const ops::AttrSpec& s : def->schema.attrs) spec = s.name == key ? &s : spec;
      if (!spec) fail(n.name, fmt::format("unknown attribute '{}' of {}", printable(key), n.op));
      n.attrs[key] = read_attr(value, spec->type, key, n.name);
    }
  }
  if (j.contains("weights")) {
    if (!j["weights"].is_object()) fail(n.name, "'weights' must be an object");
    for (const auto& [role, tensor] : j["weights"].items()) {
      if (!tensor.is_string()) fail(n.name, "weights must be tensor names");
      n.weights[role] = tensor.get<std::string>();
    }
  }
  return n;
}

// Version 1: {"name", "op", "inputs", "output", "weight", "bias", "kernel", "stride", "pad",
// "dilation", "groups", "relu", "output_pad", "offset", "ceil_mode"}, symmetric padding.
Node node_from_v1(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) {
    throw Error("graph: every node needs a string 'name'");
  }
  Node n;
  n.name = j["name"].get<std::string>();
  if (!j.contains("op") || !j["op"].is_string()) fail(n.name, "missing 'op'");
  n.op = j["op"].get<std::string>();
  n.inputs = names(j, "inputs", n.name);
  if (!j.contains("output") || !j["output"].is_string()) fail(n.name, "needs an 'output'");
  n.outputs = {j["output"].get<std::string>()};
  auto ints = [&](const char* key) {
    return std::get<Ints>(read_attr(j.at(key), ops::AttrType::Ints, key, n.name));
  };
  auto copy = [&](const char* from, const char* to) {
    if (j.contains(from)) n.attrs[to] = ints(from);
  };
  auto copy_pads = [&] {
    if (!j.contains("pad")) return;
    const Ints p = ints("pad");
    if (p.size() != 2) fail(n.name, "'pad' must be two integers");
    n.attrs["pads"] = Ints{p[0], p[1], p[0], p[1]};
  };
  auto flag = [&](const char* key) -> int64_t {
    if (!j.contains(key)) return 0;
    if (!j[key].is_boolean()) fail(n.name, fmt::format("'{}' must be true or false", key));
    return j[key].get<bool>() ? 1 : 0;
  };
  auto weights = [&] {
    if (!j.contains("weight") || !j["weight"].is_string()) fail(n.name, "needs a 'weight'");
    n.weights["weight"] = j["weight"].get<std::string>();
    if (j.contains("bias")) {
      if (!j["bias"].is_string()) fail(n.name, "'bias' must be a tensor name");
      n.weights["bias"] = j["bias"].get<std::string>();
    }
  };
  auto groups = [&] {
    if (j.contains("groups")) n.attrs["groups"] = read_attr(j["groups"], ops::AttrType::Int, "groups", n.name);
  };
  if (n.op == "conv2d" || n.op == "conv_transpose2d") {
    weights();
    groups();  // the kernel size is the weight's
    copy("stride", "stride");
    copy("dilation", "dilation");
    copy_pads();
    if (n.op == "conv2d" && flag("relu")) n.attrs["activation"] = std::string("relu");
    if (n.op == "conv_transpose2d") copy("output_pad", "output_padding");
  } else if (n.op == "max_pool2d") {
    copy("kernel", "kernel");
    copy("stride", "stride");
    copy("dilation", "dilation");
    copy_pads();
    n.attrs["ceil_mode"] = flag("ceil_mode");
  } else if (n.op == "crop" || n.op == "crop_add") {
    copy("offset", "offset");
  } else if (n.op != "relu") {
    fail(n.name, fmt::format("unknown op '{}' in a version 1 model", printable(n.op)));
  }
  return n;
}

}  // namespace

nlohmann::ordered_json to_json(const Graph& graph) {
  nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
  for (const Node& n : graph.nodes) {
    nlohmann::ordered_json j;
    j["name"] = n.name;
    j["op"] = n.op;
    j["inputs"] = n.inputs;
    j["outputs"] = n.outputs;
    nlohmann::ordered_json attrs = nlohmann::ordered_json::object();
    for (const auto& [key, value] : n.attrs) attrs[key] = attr_json(value);
    j["attrs"] = std::move(attrs);
    j["weights"] = n.weights;
    nodes.push_back(std::move(j));
  }
  nlohmann::ordered_json j;
  j["input"] = graph.input;
  j["outputs"] = graph.outputs;
  j["nodes"] = std::move(nodes);
  return j;
}

Graph graph_from_json(const nlohmann::json& json, int format_version) {
  if (!json.is_object() || !json.contains("input") || !json["input"].is_string() ||
      !json.contains("outputs") || !json["outputs"].is_array() || !json.contains("nodes") ||
      !json["nodes"].is_array()) {
    throw Error("graph: expected an object with 'input', 'outputs' and 'nodes'");
  }
  if (json["nodes"].size() > k_max_nodes) {
    throw Error(fmt::format("graph: {} nodes exceed the limit of {}", json["nodes"].size(),
                            k_max_nodes));
  }
  Graph g;
  g.input = json["input"].get<std::string>();
  for (const auto& out : json["outputs"]) {
    if (!out.is_string()) throw Error("graph: outputs must be names");
    g.outputs.push_back(out.get<std::string>());
  }
  g.nodes.reserve(json["nodes"].size());
  for (const auto& j : json["nodes"]) {
    g.nodes.push_back(format_version == 1 ? node_from_v1(j) : node_from_json(j));
  }
  return g;
}

}  // namespace vkseg::graph
