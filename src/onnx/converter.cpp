#include "onnx/converter.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "vkseg/error.hpp"
#include "vkseg/text.hpp"

namespace vkseg::onnx {

namespace {

// Constants larger than this are not evaluated element by element at convert time.
constexpr size_t k_max_sym_elements = size_t(1) << 20;

std::string in_quotes(const std::string& text) { return "'" + printable(text) + "'"; }

std::string supported_ops(const std::map<std::string, Mapper>& mappers) {
  std::vector<std::string> names;
  for (const auto& [name, mapper] : mappers) names.push_back(name);
  return fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

bool Sym::is_constant() const {
  return std::all_of(elems.begin(), elems.end(), [](const ShapeElem& e) { return e.is_constant(); });
}

std::string describe(const NodeDef& node) {
  const std::string& name =
      node.name.empty() && !node.outputs.empty() ? node.outputs[0] : node.name;
  return fmt::format("node {} ({})", in_quotes(name), printable(node.op_type));
}

Converter::Converter(ModelFile file) : file_(std::move(file)) {}

void Converter::fail(const std::string& problem) const {
  throw Error(fmt::format("{}: {}", describe(*node_), problem));
}

bool Converter::has_attr(const std::string& name) {
  attrs_known_.insert(name);
  return node_->attrs.count(name) != 0;
}

namespace {

const char* kind_name(Attribute::Kind kind) {
  switch (kind) {
    case Attribute::Kind::Int: return "an int";
    case Attribute::Kind::Float: return "a float";
    case Attribute::Kind::String: return "a string";
    case Attribute::Kind::Ints: return "a list of ints";
    case Attribute::Kind::Floats: return "a list of floats";
    case Attribute::Kind::Tensor: return "a tensor";
    case Attribute::Kind::Other: break;
  }
  return "a graph or another kind";
}

}  // namespace

#define VKSEG_ONNX_ATTR(Type, K, Field)                                                          \
  attrs_known_.insert(name);                                                                     \
  auto it = node_->attrs.find(name);                                                             \
  if (it == node_->attrs.end()) {                                                                \
    if (!fallback) fail(fmt::format("the attribute {} is required", in_quotes(name)));              \
    return *fallback;                                                                            \
  }                                                                                              \
  attrs_read_.insert(name);                                                                      \
  if (it->second.kind != Attribute::Kind::K) {                                                   \
    fail(fmt::format("the attribute {} is {}, not {}", in_quotes(name), kind_name(it->second.kind), \
                     kind_name(Attribute::Kind::K)));                                            \
  }                                                                                              \
  return Type(it->second.Field);

int64_t Converter::attr_int(const std::string& name, std::optional<int64_t> fallback) {
  VKSEG_ONNX_ATTR(int64_t, Int, i)
}
double Converter::attr_float(const std::string& name, std::optional<double> fallback) {
  VKSEG_ONNX_ATTR(double, Float, f)
}
std::string Converter::attr_string(const std::string& name, std::optional<std::string> fallback) {
  VKSEG_ONNX_ATTR(std::string, String, s)
}
std::vector<int64_t> Converter::attr_ints(const std::string& name,
                                          std::optional<std::vector<int64_t>> fallback) {
  VKSEG_ONNX_ATTR(std::vector<int64_t>, Ints, ints)
}
std::vector<double> Converter::attr_floats(const std::string& name,
                                           std::optional<std::vector<double>> fallback) {
  VKSEG_ONNX_ATTR(std::vector<double>, Floats, floats)
}
#undef VKSEG_ONNX_ATTR

const TensorData& Converter::attr_tensor(const std::string& name) {
  attrs_known_.insert(name);
  auto it = node_->attrs.find(name);
  if (it == node_->attrs.end() || it->second.kind != Attribute::Kind::Tensor) {
    fail(fmt::format("the attribute {} must be a tensor", in_quotes(name)));
  }
  attrs_read_.insert(name);
  return *it->second.t;
}

void Converter::unsupported_attr(const std::string& name, const std::string& value,
                                 const std::string& supported) const {
  fail(fmt::format("attribute {} = {} is not supported; supported: {}", in_quotes(name),
                   printable(value), supported));
}

bool Converter::has_input(size_t i) const {
  return i < node_->inputs.size() && !node_->inputs[i].empty();
}

const Value& Converter::input(size_t i) const {
  const Value& v = input_or_axis_crop(i);
  if (v.axis_crop) {
    fail(fmt::format("input {} is a Slice of one axis of an activation; such a crop is supported "
                     "only when a Slice of the other spatial axis completes it",
                     in_quotes(node_->inputs[i])));
  }
  return v;
}

const Value& Converter::input_or_axis_crop(size_t i) const {
  if (!has_input(i)) fail(fmt::format("input {} is missing", i));
  const auto it = values_.find(node_->inputs[i]);
  if (it == values_.end()) {
    fail(fmt::format("input {} is not produced by an earlier node, a graph input or an "
                     "initializer (a cycle, unsorted nodes or a dangling name)",
                     in_quotes(node_->inputs[i])));
  }
  if (it->second.dropped_argmax) {
    fail(fmt::format("input {} is an ArgMax's output; only a final ArgMax over the classes "
                     "(left out: vkseg takes the argmax itself) is supported",
                     in_quotes(node_->inputs[i])));
  }
  return it->second;
}

std::string Converter::activation(size_t i) const {
  const Value& v = input(i);
  if (v.activation.empty()) {
    fail(fmt::format("input {} is a tensor known at convert time; this op is supported on the "
                     "image's activations only",
                     in_quotes(node_->inputs[i])));
  }
  return v.activation;
}

Sym Converter::sym(size_t i) const {
  const Value& v = input(i);
  if (v.sym) return *v.sym;
  if (!v.data) {
    fail(fmt::format("input {} is an activation; this op is supported on shapes and constants "
                     "only",
                     in_quotes(node_->inputs[i])));
  }
  check_extent(v.data->dims);
  Sym s{v.data->dims, v.data->is_float, {}};
  s.elems.resize(v.data->size());
  for (size_t k = 0; k < s.elems.size(); ++k) s.elems[k].value = v.data->at(k);
  return s;
}

TensorData Converter::constant(size_t i) const {
  const Value& v = input(i);
  if (v.data) return *v.data;
  const Sym s = sym(i);
  if (!s.is_constant()) {
    fail(fmt::format("input {} depends on the input image's size; a constant is needed here",
                     in_quotes(node_->inputs[i])));
  }
  TensorData t;
  t.dims = s.dims;
  t.is_float = s.is_float;
  for (const ShapeElem& e : s.elems) {
    if (s.is_float) t.floats.push_back(float(e.value));
    else t.ints.push_back(to_int(e.value));
  }
  return t;
}

std::string Converter::add_weight(const std::string& name, const TensorData& data) {
  const std::string unique = unique_name(name);
  graph::WeightTensor& w = model_.weights[unique];
  w.shape = data.dims;
  if (data.is_float) {
    w.values = data.floats;
  } else {
    w.values.assign(data.ints.begin(), data.ints.end());
  }
  return unique;
}

std::string Converter::weight(size_t i) {
  const Value& v = input(i);
  const void* key = v.data ? static_cast<const void*>(v.data.get()) : v.sym.get();
  const auto known = weight_names_.find(key);
  if (known != weight_names_.end()) return known->second;
  const std::string name = add_weight(node_->inputs[i], constant(i));
  weight_names_[key] = name;
  return name;
}

std::string Converter::operand(size_t i) {
  if (is_activation(i)) return activation(i);
  const std::string value = weight(i);
  return add_node(value + ".constant", "constant", {}, {}, {{"value", value}});
}

std::string Converter::add_node(const std::string& base, const std::string& op,
                                std::vector<std::string> inputs,
                                std::map<std::string, graph::AttrValue> attrs,
                                std::map<std::string, std::string> weights) {
  const std::string name = unique_name(base);
  model_.graph.nodes.push_back(
      graph::make_node(name, op, std::move(inputs), std::move(attrs), std::move(weights)));
  return name;
}

void Converter::set_output(size_t i, Value value) {
  if (i >= node_->outputs.size() || node_->outputs[i].empty()) return;
  if (!values_.emplace(node_->outputs[i], std::move(value)).second) {
    fail(fmt::format("its output {} is produced twice", in_quotes(node_->outputs[i])));
  }
}

void Converter::check_extent(const std::vector<int64_t>& dims) const {
  size_t extent = 1;
  for (int64_t d : dims) {
    if (d < 0 || uint64_t(d) > k_max_sym_elements || (extent *= size_t(std::max<int64_t>(d, 1))) >
                                                          k_max_sym_elements) {
      fail(fmt::format("a tensor of dims [{}] in shape arithmetic; at most {} elements are "
                       "supported",
                       fmt::join(dims, ", "), k_max_sym_elements));
    }
  }
}

void Converter::set_sym(size_t i, Sym sym) {
  check_extent(sym.dims);
  set_output(i, Value{{}, {}, std::make_shared<const Sym>(std::move(sym))});
}

void Converter::set_constant(size_t i, TensorData data) {
  set_output(i, Value{{}, std::make_shared<const TensorData>(std::move(data)), {}});
}

std::string Converter::emit(const std::string& op, std::vector<std::string> inputs,
                            std::map<std::string, graph::AttrValue> attrs,
                            std::map<std::string, std::string> weights, size_t output) {
  const std::string name = add_node(output_name(output), op, std::move(inputs),
                                    std::move(attrs), std::move(weights));
  set_output(output, Value{name, {}, {}});
  return name;
}

const std::string& Converter::output_name(size_t i) const {
  if (i >= node_->outputs.size() || node_->outputs[i].empty()) {
    fail(fmt::format("output {} is missing", i));
  }
  return node_->outputs[i];
}

int32_t Converter::source_of(const std::string& activation) {
  const auto [it, added] = source_index_.emplace(activation, int32_t(sources_.size()));
  if (added) sources_.push_back(activation);
  return it->second;
}

std::string Converter::unique_name(const std::string& base) {
  const std::string root = base.empty() ? "unnamed" : base;
  std::string name = root;
  // Suffixes count up per base, so many nodes of one name stay linear.
  for (int& k = next_suffix_[root]; names_.count(name);) name = fmt::format("{}.{}", root, ++k);
  names_.insert(name);
  return name;
}

void Converter::map_node(const NodeDef& node, const std::map<std::string, Mapper>& mappers) {
  node_ = &node;
  attrs_read_.clear();
  attrs_known_.clear();
  if (!node.domain.empty()) {
    fail(fmt::format("the op domain {} is not supported; the default ONNX domain's {} are",
                     in_quotes(node.domain), supported_ops(mappers)));
  }
  const auto it = mappers.find(node.op_type);
  if (it == mappers.end()) {
    fail(fmt::format("op type {} is not supported; supported: {}", in_quotes(node.op_type),
                     supported_ops(mappers)));
  }
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (has_input(i)) input_or_axis_crop(i);  // every input defined earlier
  }
  it->second(*this);
  for (const auto& [name, attr] : node.attrs) {
    if (!attrs_read_.count(name)) {
      fail(fmt::format("the attribute {} is not supported for {} (supported: {})",
                       in_quotes(name), printable(node.op_type),
                       attrs_known_.empty() ? "none" : fmt::format("{}", fmt::join(attrs_known_, ", "))));
    }
  }
  // Extra outputs no mapper set (MaxPool's indices, Dropout's mask) stay undefined, so a node
  // that reads one is refused by name.
}

detail::ModelData Converter::convert() {
  std::map<std::string, Mapper> mappers;
  add_layer_ops(mappers);
  add_shape_ops(mappers);
  add_crop_ops(mappers);

  for (auto& [name, data] : file_.initializers) {
    values_[name] = Value{{}, std::make_shared<const TensorData>(std::move(data)), {}};
  }
  file_.initializers.clear();
  if (file_.inputs.size() != 1) {
    throw Error(fmt::format("the graph has {} inputs besides its initializers; vkseg supports "
                            "one, the image (N, C, H, W)",
                            file_.inputs.size()));
  }
  const ValueInfo& image = file_.inputs[0];
  if (image.elem_type != 1 || !image.has_shape || image.dims.size() != 4 || !image.dims[1]) {
    throw Error(fmt::format("the graph input {} must be a float tensor of 4 dimensions (N, C, H, "
                            "W) with a fixed channel count",
                            in_quotes(image.name)));
  }
  if (*image.dims[1] < 1 || *image.dims[1] > 65536) {
    throw Error(fmt::format("the graph input {} has {} channels; 1 to 65536 are supported",
                            in_quotes(image.name), *image.dims[1]));
  }
  model_.input_channels = uint32_t(*image.dims[1]);
  model_.graph.input = unique_name(image.name);
  values_[image.name] = Value{model_.graph.input, {}, {}};

  for (const NodeDef& node : file_.nodes) map_node(node, mappers);

  if (file_.outputs.size() != 1) {
    throw Error(fmt::format("the graph has {} outputs; vkseg supports one (the class scores)",
                            file_.outputs.size()));
  }
  const auto out = values_.find(file_.outputs[0]);
  if (out == values_.end() || out->second.activation.empty()) {
    throw Error(fmt::format("the graph output {} is not an activation computed from the input",
                            in_quotes(file_.outputs[0])));
  }
  if (out->second.axis_crop) {
    throw Error(fmt::format("the graph output {} is a Slice of one axis of an activation; such a "
                            "crop is supported only when a Slice of the other spatial axis "
                            "completes it",
                            in_quotes(file_.outputs[0])));
  }
  std::string output = out->second.activation;
  if (out->second.dropped_argmax) {
    note("left out the final ArgMax over the classes: vkseg takes the argmax of the scores "
         "itself");
  }
  if (output == model_.graph.input) output = add_node(file_.outputs[0] + ".copy", "identity", {output});
  model_.graph.outputs = {output};
  return std::move(model_);
}

}  // namespace vkseg::onnx
