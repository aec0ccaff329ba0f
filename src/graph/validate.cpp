#include "graph/validate.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "ops/registry.hpp"
#include "vkseg/error.hpp"
#include "vkseg/text.hpp"

namespace vkseg::graph {

namespace {

[[noreturn]] void fail(const Node& node, const std::string& problem) {
  throw Error(fmt::format("graph node '{}' ({}): {}", printable(node.name),
                          printable(node.op), problem));
}

const char* type_name(ops::AttrType type) {
  switch (type) {
    case ops::AttrType::Int: return "an integer";
    case ops::AttrType::Float: return "a number";
    case ops::AttrType::String: return "a string";
    case ops::AttrType::Ints: return "a list of integers";
    case ops::AttrType::Floats: return "a list of numbers";
  }
  return "?";
}

// Integers where numbers are expected are numbers; nothing else converts.
bool coerce(AttrValue& value, ops::AttrType type) {
  switch (type) {
    case ops::AttrType::Int: return std::holds_alternative<int64_t>(value);
    case ops::AttrType::String: return std::holds_alternative<std::string>(value);
    case ops::AttrType::Ints: return std::holds_alternative<Ints>(value);
    case ops::AttrType::Float:
      if (const auto* i = std::get_if<int64_t>(&value)) value = double(*i);
      return std::holds_alternative<double>(value);
    case ops::AttrType::Floats:
      if (const auto* i = std::get_if<Ints>(&value)) value = Floats(i->begin(), i->end());
      return std::holds_alternative<Floats>(value);
  }
  return false;
}

void check_range(const Node& node, const ops::AttrSpec& spec, double v) {
  if (!std::isfinite(v) || v < spec.min || v > spec.max) {
    fail(node, fmt::format("attribute '{}' value {} is outside [{}, {}]", spec.name, v, spec.min,
                           spec.max));
  }
}

void check_attribute(const Node& node, const ops::AttrSpec& spec, AttrValue& value) {
  if (!coerce(value, spec.type)) {
    fail(node, fmt::format("attribute '{}' must be {}", spec.name, type_name(spec.type)));
  }
  auto check_length = [&](size_t n) {
    if (spec.length && n != spec.length) {
      fail(node, fmt::format("attribute '{}' must hold {} values, not {}", spec.name, spec.length,
                             n));
    }
  };
  if (const auto* i = std::get_if<int64_t>(&value)) check_range(node, spec, double(*i));
  if (const auto* d = std::get_if<double>(&value)) {
    if (!std::isfinite(*d)) fail(node, fmt::format("attribute '{}' must be finite", spec.name));
  }
  if (const auto* list = std::get_if<Ints>(&value)) {
    check_length(list->size());
    for (int64_t v : *list) check_range(node, spec, double(v));
  }
  if (const auto* list = std::get_if<Floats>(&value)) {
    check_length(list->size());
    for (double v : *list) {
      if (!std::isfinite(v)) fail(node, fmt::format("attribute '{}' must be finite", spec.name));
    }
  }
  if (const auto* s = std::get_if<std::string>(&value); s && !spec.choices.empty()) {
    bool known = false;
    for (const std::string& c : spec.choices) known = known || c == *s;
    if (!known) {
      fail(node, fmt::format("attribute '{}' is '{}'; supported: {}", spec.name, printable(*s),
                             fmt::join(spec.choices, ", ")));
    }
  }
}

void check_node(Node& node, const ops::OpSchema& schema, const Weights& weights) {
  if (node.inputs.size() < schema.min_inputs || node.inputs.size() > schema.max_inputs) {
    fail(node, schema.min_inputs == schema.max_inputs
                   ? fmt::format("takes {} input(s), not {}", schema.min_inputs, node.inputs.size())
                   : fmt::format("takes {} to {} inputs, not {}", schema.min_inputs,
                                 schema.max_inputs, node.inputs.size()));
  }
  if (node.outputs.size() != schema.outputs) {
    fail(node, fmt::format("has {} output(s), not {}", schema.outputs, node.outputs.size()));
  }
  for (const auto& [key, value] : node.attrs) {
    if (!schema.has_attr(key)) fail(node, fmt::format("unknown attribute '{}'", printable(key)));
  }
  for (const ops::AttrSpec& spec : schema.attrs) {
    auto it = node.attrs.find(spec.name);
    if (it == node.attrs.end()) {
      if (!spec.default_value) fail(node, fmt::format("needs the attribute '{}'", spec.name));
      it = node.attrs.emplace(spec.name, *spec.default_value).first;
    }
    check_attribute(node, spec, it->second);
  }
  for (const auto& [role, tensor] : node.weights) {
    bool known = false;
    for (const ops::WeightSpec& w : schema.weights) known = known || w.role == role;
    if (!known) fail(node, fmt::format("unknown weight role '{}'", printable(role)));
    if (!weights.count(tensor)) fail(node, fmt::format("weight '{}' is not in the file", printable(tensor)));
  }
  for (const ops::WeightSpec& w : schema.weights) {
    if (w.required && !node.weights.count(w.role)) {
      fail(node, fmt::format("needs a '{}' weight", w.role));
    }
  }
}

}  // namespace

std::vector<int64_t> validate(Graph& graph, const Weights& weights, uint32_t input_channels) {
  if (graph.nodes.empty()) throw Error("graph: no nodes");
  if (graph.nodes.size() > k_max_nodes) {
    throw Error(fmt::format("graph: {} nodes exceed the limit of {}", graph.nodes.size(),
                            k_max_nodes));
  }
  if (graph.outputs.empty()) throw Error("graph: no outputs");
  std::unordered_map<std::string, int64_t> channels{{graph.input, input_channels}};
  std::unordered_set<std::string> names;
  for (Node& node : graph.nodes) {
    if (node.name.empty()) throw Error("graph: a node has no name");
    if (!names.insert(node.name).second) fail(node, "another node has the same name");
    const ops::OpDef* def = ops::find_op(node.op);
    if (!def) fail(node, fmt::format("unknown op; supported: {}", ops::op_names()));
    check_node(node, def->schema, weights);
    std::vector<int64_t> in;
    for (const std::string& name : node.inputs) {
      const auto it = channels.find(name);
      if (it == channels.end()) {
        fail(node, fmt::format("input '{}' is not produced by an earlier node (a dangling name "
                               "or a cycle)",
                               printable(name)));
      }
      in.push_back(it->second);
    }
    std::vector<int64_t> out;
    try {
      out = def->schema.channels(node, weights, in);
    } catch (const Error& e) {
      fail(node, e.what());
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (!channels.emplace(node.outputs[i], out.at(i)).second) {
        fail(node, fmt::format("output '{}' is produced twice", printable(node.outputs[i])));
      }
    }
  }
  std::vector<int64_t> output_channels;
  for (const std::string& name : graph.outputs) {
    const auto it = channels.find(name);
    if (it == channels.end()) {
      throw Error(fmt::format("graph: output '{}' is produced by no node", printable(name)));
    }
    output_channels.push_back(it->second);
  }
  return output_channels;
}

}  // namespace vkseg::graph
