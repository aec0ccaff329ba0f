#include <array>
#include <cmath>

#include "graph/passes/pass_util.hpp"
#include "graph/passes/passes.hpp"
#include "ops/activation.hpp"

namespace vkseg::graph {

namespace {

bool is_arithmetic(const Node& n) {
  return n.op == "add" || n.op == "sub" || n.op == "mul" || n.op == "div";
}

bool unactivated(const Node& n) {
  return ops::fused_activation(n).kind == ops::ActivationKind::None;
}

double apply(const std::string& op, double a, double b) {
  if (op == "add") return a + b;
  if (op == "sub") return a - b;
  if (op == "mul") return a * b;
  return a / b;
}

// Dimensions right-aligned to rank 4.
std::array<int64_t, 4> dims4(const std::vector<int64_t>& shape) {
  std::array<int64_t, 4> d{1, 1, 1, 1};
  for (size_t i = 0; i < shape.size(); ++i) d[4 - shape.size() + i] = shape[i];
  return d;
}

// a op b with numpy broadcasting, in float as the device computes it; nullopt when the shapes do
// not broadcast (validation then reports the node as it stands).
std::optional<WeightTensor> evaluate(const std::string& op, const WeightTensor& a,
                                     const WeightTensor& b) {
  const auto da = dims4(a.shape), db = dims4(b.shape);
  std::array<int64_t, 4> out{};
  for (int i = 0; i < 4; ++i) {
    if (da[i] != db[i] && da[i] != 1 && db[i] != 1) return std::nullopt;
    out[i] = std::max(da[i], db[i]);
  }
  WeightTensor r{{out[0], out[1], out[2], out[3]}, {}};
  r.values.resize(size_t(out[0] * out[1] * out[2] * out[3]));
  auto index = [](const std::array<int64_t, 4>& d, const std::array<int64_t, 4>& at) {
    int64_t flat = 0;
    for (int i = 0; i < 4; ++i) flat = flat * d[i] + (d[i] == 1 ? 0 : at[i]);
    return size_t(flat);
  };
  std::array<int64_t, 4> at{};
  for (size_t k = 0; k < r.values.size(); ++k) {
    size_t rest = k;
    for (int i = 3; i >= 0; --i) at[i] = int64_t(rest % size_t(out[i])), rest /= size_t(out[i]);
    r.values[k] = float(apply(op, a.values[index(da, at)], b.values[index(db, at)]));
  }
  return r;
}

class Folder {
 public:
  explicit Folder(detail::ModelData& model) : model_(model), g_(model.graph) {}

  void run() {
    use_ = tensor_use(g_);
    removed_.assign(g_.nodes.size(), false);
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (!is_arithmetic(g_.nodes[i]) || !unactivated(g_.nodes[i])) continue;
      fold_two_constants(i) || fold_into_reading_convs(i) || fold_into_producing_conv(i);
    }
    erase_nodes(g_, removed_);
    // Constants nothing reads any more.
    use_ = tensor_use(g_);
    removed_.assign(g_.nodes.size(), false);
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const Node& n = g_.nodes[i];
      if (n.op == "constant" && !use_.readers.count(n.outputs[0])) removed_[i] = true;
    }
    erase_nodes(g_, removed_);
  }

 private:
  const WeightTensor* constant(const std::string& tensor) const {
    return constant_value(g_, use_, model_.weights, tensor);
  }

  // Replaces node i by a constant node of `value`, named after it. (The producer map stays
  // right: the node keeps its index and output.)
  void make_constant(size_t i, WeightTensor value) {
    Node& n = g_.nodes[i];
    std::string name = n.name + ".value";
    while (model_.weights.count(name)) name += "_";
    model_.weights[name] = std::move(value);
    Node c = make_node(n.name, "constant", {}, {}, {{"value", name}});
    c.outputs = n.outputs;
    c.fused = n.fused;
    n = std::move(c);
  }

  // constant op constant: one constant.
  bool fold_two_constants(size_t i) {
    const Node& n = g_.nodes[i];
    const WeightTensor* a = constant(n.inputs[0]);
    const WeightTensor* b = constant(n.inputs[1]);
    if (!a || !b) return false;
    std::optional<WeightTensor> value = evaluate(n.op, *a, *b);
    if (!value) return false;
    make_constant(i, std::move(*value));
    return true;
  }

  // conv(x * c) = conv'(x) with c folded into the weights of each input channel (zero padding
  // stays zero); likewise x / c. Every reader must be such a convolution.
  bool fold_into_reading_convs(size_t i) {
    const Node& n = g_.nodes[i];
    if (n.op != "mul" && n.op != "div") return false;
    const bool constant_first = n.op == "mul" && constant(n.inputs[0]);
    const WeightTensor* c = constant(n.inputs[constant_first ? 0 : 1]);
    const std::string& x = n.inputs[constant_first ? 1 : 0];
    if (!c || constant(x)) return false;
    std::vector<size_t> readers;
    for (size_t j = i + 1; j < g_.nodes.size(); ++j) {
      const Node& r = g_.nodes[j];
      for (size_t k = 0; k < r.inputs.size(); ++k) {
        if (r.inputs[k] != n.outputs[0]) continue;
        if (r.op != "conv2d" || k != 0) return false;
        readers.push_back(j);
      }
    }
    for (const std::string& out : g_.outputs) {
      if (out == n.outputs[0]) return false;
    }
    if (readers.empty()) return false;
    for (size_t j : readers) {
      Node& conv = g_.nodes[j];
      const std::vector<int64_t>& shape = model_.weights.at(conv.weight("weight")).shape;
      const int64_t groups = conv.attr_int("groups"), cin = shape[1];
      const std::vector<float> scale = per_channel(*c, cin * groups);
      if (scale.empty()) return false;
    }
    for (size_t j : readers) {
      Node& conv = g_.nodes[j];
      WeightTensor& w = own_weight(g_, model_.weights, conv, "weight");
      const int64_t groups = conv.attr_int("groups"), cout = w.shape[0] / groups;
      const int64_t cin = w.shape[1], taps = w.shape[2] * w.shape[3];
      const std::vector<float> scale = per_channel(*c, cin * groups);
      for (size_t k = 0; k < w.values.size(); ++k) {
        const int64_t o = int64_t(k) / (cin * taps), ic = int64_t(k) / taps % cin;
        const double s = scale[size_t(o / cout * cin + ic)];
        w.values[k] = float(n.op == "mul" ? w.values[k] * s : w.values[k] / s);
      }
      conv.inputs[0] = x;
      absorb(conv, n);
    }
    removed_[i] = true;
    return true;
  }

  // conv(x) op c, per output channel or scalar: into the conv's weights and bias.
  bool fold_into_producing_conv(size_t i) {
    Node& n = g_.nodes[i];
    const bool constant_first = constant(n.inputs[0]) != nullptr;
    if (constant_first && n.op == "div") return false;  // c / conv(x) is not linear
    const WeightTensor* c = constant(n.inputs[constant_first ? 0 : 1]);
    const std::string& x = n.inputs[constant_first ? 1 : 0];
    const auto producer = use_.producer.find(x);
    if (!c || producer == use_.producer.end() || !single_use(use_, x)) return false;
    Node& conv = g_.nodes[producer->second];
    if (conv.op != "conv2d" || !unactivated(conv)) return false;
    WeightTensor& w0 = model_.weights.at(conv.weight("weight"));
    const std::vector<float> k = per_channel(*c, w0.shape[0]);
    if (k.empty()) return false;
    WeightTensor& w = own_weight(g_, model_.weights, conv, "weight");
    if (conv.weight("bias").empty()) {
      std::string name = conv.name + ".bias";
      while (model_.weights.count(name)) name += "_";
      model_.weights[name] = {{w.shape[0]}, std::vector<float>(size_t(w.shape[0]), 0.0f)};
      conv.weights["bias"] = name;
    }
    WeightTensor& b = own_weight(g_, model_.weights, conv, "bias");
    const size_t per_channel_weights = w.values.size() / size_t(w.shape[0]);
    // y = s * conv + t for each op: add (1, c), sub (1, -c) or c - conv (-1, c), mul (c, 0),
    // div (1/c, 0).
    for (size_t o = 0; o < b.values.size(); ++o) {
      double s = 1, t = 0;
      if (n.op == "add") t = k[o];
      if (n.op == "sub") constant_first ? (s = -1, t = k[o]) : (t = -double(k[o]));
      if (n.op == "mul") s = k[o];
      if (n.op == "div") s = 1.0 / double(k[o]);
      for (size_t j = 0; j < per_channel_weights; ++j) {
        float& v = w.values[o * per_channel_weights + j];
        v = float(n.op == "div" ? v / double(k[o]) : v * s);
      }
      b.values[o] = float((n.op == "div" ? b.values[o] / double(k[o]) : b.values[o] * s) + t);
    }
    // The producer map still names node i for this output, so no later fold reaches through it.
    conv.outputs[0] = n.outputs[0];
    absorb(conv, n);
    removed_[i] = true;
    return true;
  }

  detail::ModelData& model_;
  Graph& g_;
  TensorUse use_;
  std::vector<bool> removed_;
};

}  // namespace

void fold_constants(detail::ModelData& model) { Folder(model).run(); }

}  // namespace vkseg::graph
