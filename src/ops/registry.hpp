#pragma once
// The op registry: every op a model graph may hold, each its schema (what the loader checks)
// and a factory for the host class that records it. The runner, planner, validator, `vkseg
// info` and `vkseg bench` go through this table only. Adding an op is its shader(s), its host
// file (defining `const OpDef& <name>_op()`) and one line in ops/registry.def.
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "graph/graph.hpp"
#include "ops/node_op.hpp"

namespace vkseg::ops {

enum class AttrType { Int, Float, String, Ints, Floats };

struct AttrSpec {
  std::string name;
  AttrType type;
  std::optional<graph::AttrValue> default_value;  // none: the attribute is required
  double min = -std::numeric_limits<double>::max();  // for numbers and each list element
  double max = std::numeric_limits<double>::max();
  size_t length = 0;                 // lists: the exact length (0: any)
  std::vector<std::string> choices;  // strings: the allowed values
};

struct WeightSpec {
  std::string role;
  bool required = true;
};

// What the loader checks of a node beyond attribute names, types and ranges: combinations of
// attributes, weight shapes, and the channel counts of its inputs (heights and widths are only
// known for a session). Returns the channel count of each output; throws Error(problem).
using ChannelRule = std::function<std::vector<int64_t>(
    const graph::Node& node, const graph::Weights& weights, const std::vector<int64_t>& inputs)>;

struct OpSchema {
  std::string name;
  std::string summary;  // one line, for error messages and documentation
  size_t min_inputs = 1, max_inputs = 1;
  size_t outputs = 1;
  std::vector<AttrSpec> attrs;
  std::vector<WeightSpec> weights;
  ChannelRule channels;
  bool has_attr(std::string_view attr) const;
};

struct OpDef {
  OpSchema schema;
  // The node's host class, on a device; throws Error where the device cannot run it.
  std::function<std::unique_ptr<NodeOp>(const OpBuild&)> create;
};

// Every registered op, in registry.def order.
std::span<const OpDef* const> all_ops();
// The op named `name`, or nullptr.
const OpDef* find_op(std::string_view name);
// "add, avg_pool2d, ..." for error messages.
std::string op_names();

// Schema-building helpers for the op files.
AttrSpec int_attr(std::string name, std::optional<int64_t> fallback, double min = 0,
                  double max = double(1 << 20));
AttrSpec float_attr(std::string name, std::optional<double> fallback);
AttrSpec string_attr(std::string name, std::optional<std::string> fallback,
                     std::vector<std::string> choices);
AttrSpec ints_attr(std::string name, std::optional<graph::Ints> fallback, size_t length,
                   double min = 0, double max = double(1 << 20));
AttrSpec floats_attr(std::string name, std::optional<graph::Floats> fallback, size_t length);

// Channel rules shared by many ops: every input has the same channels, which the output keeps.
std::vector<int64_t> same_channels(const graph::Node& node, const graph::Weights& weights,
                                   const std::vector<int64_t>& inputs);

// Weight lookup for channel rules: the shape of weight `role`; throws when it is absent.
const std::vector<int64_t>& weight_shape(const graph::Node& node, const graph::Weights& weights,
                                         const std::string& role);

}  // namespace vkseg::ops
