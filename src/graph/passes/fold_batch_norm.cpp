#include "graph/passes/pass_util.hpp"
#include "graph/passes/passes.hpp"
#include "ops/activation.hpp"
#include "ops/batch_norm.hpp"

namespace vkseg::graph {

namespace {

std::vector<float> values_or_empty(const detail::ModelData& model, const Node& bn,
                                   const std::string& role) {
  const std::string name = bn.weight(role);
  return name.empty() ? std::vector<float>{} : model.weights.at(name).values;
}

// Scales output channel `o` of a convolution's weights by a[o]: rows of out x in/g x kh x kw for
// conv2d; for conv_transpose2d (in x out/g x kh x kw) the columns of each group's rows.
void scale_output_channels(const Node& conv, WeightTensor& w, const std::vector<float>& a) {
  const std::vector<int64_t>& s = w.shape;
  const size_t taps = size_t(s[2] * s[3]);
  if (conv.op == "conv2d") {
    const size_t per_channel = size_t(s[1]) * taps;
    for (size_t i = 0; i < w.values.size(); ++i) w.values[i] *= a[i / per_channel];
    return;
  }
  const size_t out_per_group = size_t(s[1]);
  const size_t in_per_group = size_t(s[0]) / size_t(conv.attr_int("groups"));
  for (size_t i = 0; i < w.values.size(); ++i) {
    const size_t in = i / (out_per_group * taps), j = i / taps % out_per_group;
    w.values[i] *= a[in / in_per_group * out_per_group + j];
  }
}

}  // namespace

// conv -> batch_norm becomes one conv: W'[o] = W[o] * a[o], b'[o] = b[o] * a[o] + shift[o], with
// a and shift batch_norm's per-channel affine (computed in double as the op itself does).
void fold_batch_norm(detail::ModelData& model) {
  Graph& g = model.graph;
  const TensorUse use = tensor_use(g);
  std::vector<bool> removed(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& bn = g.nodes[i];
    if (bn.op != "batch_norm") continue;
    const auto producer = use.producer.find(bn.inputs[0]);
    if (producer == use.producer.end() || !single_use(use, bn.inputs[0])) continue;
    Node& conv = g.nodes[producer->second];
    if ((conv.op != "conv2d" && conv.op != "conv_transpose2d") || conv.outputs.size() != 1 ||
        (conv.op == "conv2d" && ops::fused_activation(conv).kind != ops::ActivationKind::None) ||
        (conv.op == "conv_transpose2d" && conv.attr_string("fuse") != "none")) {
      continue;
    }
    const ops::ChannelAffineValues affine = ops::batch_norm_affine(
        values_or_empty(model, bn, "mean"), values_or_empty(model, bn, "var"),
        values_or_empty(model, bn, "scale"), values_or_empty(model, bn, "bias"),
        bn.attr_float("epsilon"));
    WeightTensor& w = own_weight(g, model.weights, conv, "weight");
    scale_output_channels(conv, w, affine.scale);
    if (conv.weight("bias").empty()) {
      std::string name = conv.name + ".bias";
      while (model.weights.count(name)) name += "_";
      model.weights[name] = {{int64_t(affine.shift.size())}, affine.shift};
      conv.weights["bias"] = name;
    } else {
      WeightTensor& b = own_weight(g, model.weights, conv, "bias");
      for (size_t o = 0; o < b.values.size(); ++o) {
        b.values[o] = float(double(b.values[o]) * affine.scale[o] + affine.shift[o]);
      }
    }
    conv.outputs[0] = bn.outputs[0];
    absorb(conv, bn);
    removed[i] = true;
  }
  erase_nodes(g, removed);
}

}  // namespace vkseg::graph
