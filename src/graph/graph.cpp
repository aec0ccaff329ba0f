#include "graph/graph.hpp"

#include <fmt/format.h>

#include "vkseg/error.hpp"

namespace vkseg::graph {

namespace {

template <class T>
const T& attr_of(const Node& node, const std::string& key, const char* type) {
  const auto it = node.attrs.find(key);
  const T* value = it == node.attrs.end() ? nullptr : std::get_if<T>(&it->second);
  if (!value) {
    throw Error(fmt::format("internal error: node '{}' ({}) has no {} attribute '{}'", node.name,
                            node.op, type, key));
  }
  return *value;
}

}  // namespace

int64_t Node::attr_int(const std::string& key) const { return attr_of<int64_t>(*this, key, "int"); }
double Node::attr_float(const std::string& key) const {
  return attr_of<double>(*this, key, "float");
}
const std::string& Node::attr_string(const std::string& key) const {
  return attr_of<std::string>(*this, key, "string");
}
const Ints& Node::attr_ints(const std::string& key) const { return attr_of<Ints>(*this, key, "ints"); }
const Floats& Node::attr_floats(const std::string& key) const {
  return attr_of<Floats>(*this, key, "floats");
}

std::string Node::weight(const std::string& role) const {
  const auto it = weights.find(role);
  return it == weights.end() ? std::string() : it->second;
}

Node make_node(std::string name, std::string op, std::vector<std::string> inputs,
               std::map<std::string, AttrValue> attrs, std::map<std::string, std::string> weights) {
  Node n;
  n.outputs = {name};
  n.name = std::move(name);
  n.op = std::move(op);
  n.inputs = std::move(inputs);
  n.attrs = std::move(attrs);
  n.weights = std::move(weights);
  return n;
}

}  // namespace vkseg::graph
