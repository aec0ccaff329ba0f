#include "ops/registry.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "vkseg/error.hpp"
#include "vkseg/model.hpp"

namespace vkseg::ops {

#define VKSEG_OP(name) const OpDef& name##_op();
#include "ops/registry.def"
#undef VKSEG_OP

std::span<const OpDef* const> all_ops() {
#define VKSEG_OP(name) &name##_op(),
  static const OpDef* const table[] = {
#include "ops/registry.def"
  };
#undef VKSEG_OP
  return table;
}

const OpDef* find_op(std::string_view name) {
  for (const OpDef* def : all_ops()) {
    if (def->schema.name == name) return def;
  }
  return nullptr;
}

std::string op_names() {
  std::vector<std::string> names;
  for (const OpDef* def : all_ops()) names.push_back(def->schema.name);
  std::sort(names.begin(), names.end());
  return fmt::format("{}", fmt::join(names, ", "));
}

bool OpSchema::has_attr(std::string_view attr) const {
  return std::any_of(attrs.begin(), attrs.end(), [&](const AttrSpec& a) { return a.name == attr; });
}

AttrSpec int_attr(std::string name, std::optional<int64_t> fallback, double min, double max) {
  AttrSpec spec{std::move(name), AttrType::Int, std::nullopt, min, max};
  if (fallback) spec.default_value = *fallback;
  return spec;
}

AttrSpec float_attr(std::string name, std::optional<double> fallback) {
  AttrSpec spec{std::move(name), AttrType::Float};
  if (fallback) spec.default_value = *fallback;
  return spec;
}

AttrSpec string_attr(std::string name, std::optional<std::string> fallback,
                     std::vector<std::string> choices) {
  AttrSpec spec{std::move(name), AttrType::String};
  if (fallback) spec.default_value = *fallback;
  spec.choices = std::move(choices);
  return spec;
}

AttrSpec ints_attr(std::string name, std::optional<graph::Ints> fallback, size_t length,
                   double min, double max) {
  AttrSpec spec{std::move(name), AttrType::Ints, std::nullopt, min, max, length};
  if (fallback) spec.default_value = *fallback;
  return spec;
}

AttrSpec floats_attr(std::string name, std::optional<graph::Floats> fallback, size_t length) {
  AttrSpec spec{std::move(name), AttrType::Floats};
  spec.length = length;
  if (fallback) spec.default_value = *fallback;
  return spec;
}

std::vector<int64_t> same_channels(const graph::Node&, const graph::Weights&,
                                   const std::vector<int64_t>& inputs) {
  for (int64_t c : inputs) {
    if (c != inputs.front()) {
      throw Error(fmt::format("its inputs have {} and {} channels", inputs.front(), c));
    }
  }
  return {inputs.front()};
}

const std::vector<int64_t>& weight_shape(const graph::Node& node, const graph::Weights& weights,
                                         const std::string& role) {
  const auto it = weights.find(node.weight(role));
  if (it == weights.end()) throw Error(fmt::format("it has no '{}' weight", role));
  return it->second.shape;
}

const graph::WeightTensor& OpBuild::weight(const std::string& role) const {
  const graph::WeightTensor* w = optional_weight(role);
  if (!w) throw Error(fmt::format("node '{}' has no '{}' weight", node.name, role));
  return *w;
}

const graph::WeightTensor* OpBuild::optional_weight(const std::string& role) const {
  const std::string name = node.weight(role);
  if (name.empty()) return nullptr;
  const auto it = weights.find(name);
  return it == weights.end() ? nullptr : &it->second;
}

}  // namespace vkseg::ops

namespace vkseg {

namespace {

std::string describe(const ops::AttrSpec& a) {
  static const char* const k_types[] = {"int", "float", "string", "ints", "floats"};
  std::string text = a.name + ": " + k_types[int(a.type)];
  if (a.length) text += fmt::format("[{}]", a.length);
  if (!a.choices.empty()) text += fmt::format(" ({})", fmt::join(a.choices, "|"));
  if (!a.default_value) return text + " (required)";
  return text + " = " + std::visit([](const auto& v) { return fmt::format("{}", v); },
                                   *a.default_value);
}

}  // namespace

std::vector<OpInfo> supported_ops() {
  std::vector<OpInfo> out;
  for (const ops::OpDef* def : ops::all_ops()) {
    const ops::OpSchema& s = def->schema;
    OpInfo info{s.name, s.summary, uint32_t(s.min_inputs), uint32_t(s.max_inputs), {}, {}};
    for (const ops::AttrSpec& a : s.attrs) info.attributes.push_back(describe(a));
    for (const ops::WeightSpec& w : s.weights) {
      info.weights.push_back(w.required ? w.role : w.role + " (optional)");
    }
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace vkseg
