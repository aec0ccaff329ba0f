#pragma once
// The ONNX front end's state while it walks a model's nodes in order: what each ONNX value is
// (an activation of the vkseg graph, or a tensor known at convert time whose elements may be
// dimensions of activations), the graph and weights built so far, and the current node with
// accessors that check and record what of it was read. The op mappers (layer_ops.cpp,
// shape_ops.cpp, crop_ops.cpp) work through it.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "graph/model_data.hpp"
#include "onnx/onnx_file.hpp"

namespace vkseg::onnx {

struct ShapeExpr;

// One element of a tensor known at convert time: a constant, floor?(dim `axis` of activation
// `source` x scale) for shape arithmetic on inputs of any size, or an expression of such
// elements (differences of dimensions: U-Net's padding to its skip's size).
struct ShapeElem {
  int32_t source = -1;  // an index into Converter::sources; -1: a constant or an expression
  int32_t axis = 0;
  double value = 0;  // the constant, or the dimension's scale
  bool floored = false;
  std::shared_ptr<const ShapeExpr> expr;
  bool is_constant() const { return source < 0 && !expr; }
  bool is_dim() const { return source >= 0; }
};

// `op` of `a` and `b`: '+', '-', '*', '/', '\\' (integer division, truncating); of `a` only:
// 'f' (floor), 'c' (ceil), 't' (truncation).
struct ShapeExpr {
  char op;
  ShapeElem a, b;
  size_t size = 1;  // elements in the tree, shared ones counted each time they appear
};

// A tensor evaluated at convert time (shapes, constants of shape arithmetic).
struct Sym {
  std::vector<int64_t> dims;
  bool is_float = false;
  std::vector<ShapeElem> elems;
  bool is_constant() const;
};

// A Slice of one spatial axis of an activation to another activation's size on that axis,
// kept until a Slice of the other axis completes vkseg's crop (torch.onnx writes FCN's
// h[:, :, 19:19 + H, 19:19 + W] as two Slices).
struct AxisCrop {
  int32_t axis;       // 2 or 3
  int64_t offset;     // the window's start
  int32_t reference;  // the source (Converter::source_of) whose size on `axis` the window has
};

// What an ONNX value name refers to: exactly one of the three is set.
struct Value {
  std::string activation;                    // a tensor of the vkseg graph (NCHW)
  std::shared_ptr<const TensorData> data;    // an initializer or folded constant
  std::shared_ptr<const Sym> sym;            // a value of shape arithmetic
  bool dropped_argmax = false;               // an ArgMax left out: its input's activation
  std::optional<AxisCrop> axis_crop;         // a half-done crop of `activation`
};

// A value of shape arithmetic as an integer, saturated far beyond any size vkseg takes (NaN: 0).
inline int64_t to_int(double v) {
  return v == v ? int64_t(v < -0x1p62 ? -0x1p62 : v > 0x1p62 ? 0x1p62 : v) : 0;
}

class Converter;
using Mapper = std::function<void(Converter&)>;
// ONNX op_type -> its mapper, for each group of ops.
void add_layer_ops(std::map<std::string, Mapper>& mappers);
void add_shape_ops(std::map<std::string, Mapper>& mappers);
void add_crop_ops(std::map<std::string, Mapper>& mappers);

class Converter {
 public:
  explicit Converter(ModelFile file);
  // Maps every node, then sets the graph's output. Throws Error naming the node.
  detail::ModelData convert();

  int64_t opset() const { return file_.opset; }

  // The current node.
  const NodeDef& node() const { return *node_; }
  [[noreturn]] void fail(const std::string& problem) const;
  // Attributes: absent ones give `fallback` (none: the attribute is required). Reading one
  // marks it understood; an attribute no mapper read is refused after the node is mapped,
  // listing those it asked for.
  bool has_attr(const std::string& name);
  int64_t attr_int(const std::string& name, std::optional<int64_t> fallback = std::nullopt);
  double attr_float(const std::string& name, std::optional<double> fallback = std::nullopt);
  std::string attr_string(const std::string& name, std::optional<std::string> fallback = {});
  std::vector<int64_t> attr_ints(const std::string& name,
                                 std::optional<std::vector<int64_t>> fallback = std::nullopt);
  std::vector<double> attr_floats(const std::string& name,
                                  std::optional<std::vector<double>> fallback = std::nullopt);
  const TensorData& attr_tensor(const std::string& name);
  // Refuses an attribute value the mapping does not support, naming what is.
  [[noreturn]] void unsupported_attr(const std::string& name, const std::string& value,
                                     const std::string& supported) const;

  // Inputs: `i` counts ONNX inputs; an omitted optional one is "" or past the end.
  bool has_input(size_t i) const;
  const Value& input(size_t i) const;  // refuses a half-done crop
  const Value& input_or_axis_crop(size_t i) const;
  bool is_activation(size_t i) const { return !input(i).activation.empty(); }
  std::string activation(size_t i) const;  // refuses a value known at convert time
  Sym sym(size_t i) const;                 // refuses an activation
  TensorData constant(size_t i) const;     // refuses anything depending on the input's size
  // Refuses dims of a value of shape arithmetic beyond its limit (2^20 elements, counting
  // zero-length axes as 1 so that no loop over a prefix of them runs long).
  void check_extent(const std::vector<int64_t>& dims) const;
  // Input `i` as a weight of the model (float32), named after the ONNX value.
  std::string weight(size_t i);
  std::string add_weight(const std::string& name, const TensorData& data);
  // Input `i` as an activation: itself, or a constant node producing its value.
  std::string operand(size_t i);

  // Outputs. Only outputs[0] of most ops; extra outputs must not be used by anything.
  void set_output(size_t i, Value value);
  void set_sym(size_t i, Sym sym);
  void set_constant(size_t i, TensorData data);
  // The name of output `i`; refuses the node when it has none.
  const std::string& output_name(size_t i) const;
  // Adds a vkseg node computing an intermediate value, named after `base`; returns its name.
  std::string add_node(const std::string& base, const std::string& op,
                       std::vector<std::string> inputs,
                       std::map<std::string, graph::AttrValue> attrs = {},
                       std::map<std::string, std::string> weights = {});
  // Adds a vkseg node named after the ONNX node's output `output`, which it produces.
  std::string emit(const std::string& op, std::vector<std::string> inputs,
                   std::map<std::string, graph::AttrValue> attrs = {},
                   std::map<std::string, std::string> weights = {}, size_t output = 0);
  void note(const std::string& text) { model_.notes.push_back(text); }

  // Activations whose dimensions shape arithmetic refers to.
  int32_t source_of(const std::string& activation);
  const std::string& source_name(int32_t source) const { return sources_.at(size_t(source)); }

 private:
  std::string unique_name(const std::string& base);
  void map_node(const NodeDef& node, const std::map<std::string, Mapper>& mappers);

  ModelFile file_;
  const NodeDef* node_ = nullptr;
  std::set<std::string> attrs_read_;
  std::set<std::string> attrs_known_;  // every attribute the mapper asked for, given or not
  std::map<std::string, Value> values_;
  std::vector<std::string> sources_;
  std::map<std::string, int32_t> source_index_;
  std::set<std::string> names_;  // vkseg node, activation and weight names in use
  std::map<std::string, int> next_suffix_;  // base name -> the next suffix unique_name tries
  // The weight made of each initializer (aliases by Identity share it) or folded value.
  std::map<const void*, std::string> weight_names_;
  detail::ModelData model_;
};

// "node 'name' (OpType)" for messages; the output's name where the node has none.
std::string describe(const NodeDef& node);

}  // namespace vkseg::onnx
