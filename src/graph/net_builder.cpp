#include "graph/net_builder.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "vkseg/error.hpp"
#include "vkseg/text.hpp"

namespace vkseg::graph {

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

NetBuilder::NetBuilder(io::Checkpoint checkpoint, std::string family) : family_(std::move(family)) {
  graph_.input = "image";
  for (io::NamedTensor& t : checkpoint.tensors) {
    if (ends_with(t.name, ".num_batches_tracked")) continue;
    order_.push_back(t.name);
    used_[t.name] = Use::None;
    tensors_[t.name] = std::move(t);
  }
}

bool NetBuilder::has(const std::string& tensor) const { return tensors_.count(tensor) != 0; }

const std::vector<int64_t>& NetBuilder::shape(const std::string& tensor) const {
  const auto it = tensors_.find(tensor);
  if (it == tensors_.end()) {
    throw Error(fmt::format("the checkpoint lacks '{}', which a {} has", printable(tensor), family_));
  }
  return it->second.shape;
}

size_t NetBuilder::skip(const std::string& prefix) {
  size_t count = 0;
  for (auto& [name, use] : used_) {
    if (name.compare(0, prefix.size(), prefix) == 0) use = Use::Skipped, ++count;
  }
  return count;
}

std::string NetBuilder::weight(const std::string& name) {
  shape(name);  // throws when absent
  used_[name] = Use::Weight;
  return name;
}

std::string NetBuilder::conv(const std::string& prefix, const std::string& input, int64_t stride,
                             int64_t pad, int64_t dilation, int64_t groups) {
  const std::vector<int64_t>& w = shape(prefix + ".weight");
  if (w.size() != 4) {
    throw Error(fmt::format("'{}.weight' ({}) is not a convolution's weight, as a {} has there",
                            prefix, fmt::join(w, "x"), family_));
  }
  Node n = make_node(prefix, "conv2d", {input},
                     {{"stride", Ints{stride, stride}},
                      {"pads", Ints{pad, pad, pad, pad}},
                      {"dilation", Ints{dilation, dilation}},
                      {"groups", groups}},
                     {{"weight", weight(prefix + ".weight")}});
  if (has(prefix + ".bias")) n.weights["bias"] = weight(prefix + ".bias");
  graph_.nodes.push_back(std::move(n));
  return prefix;
}

std::string NetBuilder::conv_transpose(const std::string& prefix, const std::string& input,
                                       int64_t stride, int64_t pad) {
  Node n = make_node(prefix, "conv_transpose2d", {input},
                     {{"stride", Ints{stride, stride}}, {"pads", Ints{pad, pad, pad, pad}}},
                     {{"weight", weight(prefix + ".weight")}});
  if (has(prefix + ".bias")) n.weights["bias"] = weight(prefix + ".bias");
  graph_.nodes.push_back(std::move(n));
  return prefix;
}

std::string NetBuilder::batch_norm(const std::string& prefix, const std::string& input,
                                   double epsilon) {
  Node n = make_node(prefix, "batch_norm", {input}, {{"epsilon", epsilon}},
                     {{"mean", weight(prefix + ".running_mean")},
                      {"var", weight(prefix + ".running_var")}});
  // affine=False batch norms have no weight and bias.
  if (has(prefix + ".weight")) n.weights["scale"] = weight(prefix + ".weight");
  if (has(prefix + ".bias")) n.weights["bias"] = weight(prefix + ".bias");
  graph_.nodes.push_back(std::move(n));
  return prefix;
}

std::string NetBuilder::node(const std::string& name, const std::string& op,
                             std::vector<std::string> inputs,
                             std::map<std::string, AttrValue> attrs,
                             const std::map<std::string, std::string>& weights) {
  Node n = make_node(name, op, std::move(inputs), std::move(attrs));
  for (const auto& [role, tensor] : weights) n.weights[role] = weight(tensor);
  graph_.nodes.push_back(std::move(n));
  return name;
}

void NetBuilder::finish(detail::ModelData& model, const std::string& output) {
  for (const std::string& name : order_) {
    if (used_.at(name) == Use::None) {
      throw Error(fmt::format("tensor '{}' ({}) fits no part of a {}", printable(name),
                              fmt::join(tensors_.at(name).shape, "x"), family_));
    }
  }
  graph_.outputs = {output};
  model.graph = std::move(graph_);
  for (auto& [name, t] : tensors_) {
    if (used_.at(name) == Use::Weight) model.weights[name] = {std::move(t.shape), std::move(t.values)};
  }
}

void expect_shape(const NetBuilder& b, const std::string& tensor, const std::vector<int64_t>& shape) {
  if (b.shape(tensor) != shape) {
    throw Error(fmt::format("'{}' is {}, where a {} has {}", printable(tensor), fmt::join(b.shape(tensor), "x"),
                            b.family(), fmt::join(shape, "x")));
  }
}

}  // namespace vkseg::graph
