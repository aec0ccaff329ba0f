#pragma once
// For the op suites: an op's host class run on host values, a model of a few nodes run through
// Network and Session, and the one-line message with which loading refuses a malformed node.
#include <memory>
#include <string>
#include <vector>

#include "graph/model_data.hpp"
#include "graph/validate.hpp"
#include "harness.hpp"

namespace vkseg::test {

// Runs op.record(recorder, input, output) at `precision` with x (of shape `in`) as the input and
// an output of shape `out`; returns the output.
template <class Op>
std::vector<float> run_op(const Op& op, Precision precision, const ops::Shape& in,
                          const std::vector<float>& x, const ops::Shape& out) {
  const ops::DType type = ops::storage_type(precision);
  auto dx = device_tensor(in, x, type);
  auto dy = device_tensor(out, type);
  run([&](vk::Recorder& r) { op.record(r, *dx, *dy); });
  return read_floats(dy);
}

// A validated model whose graph is `nodes`, reading the input "x" of `input_channels` channels
// (1 to 4) and giving the last node's output, with one class per output channel.
inline Model graph_model(std::vector<graph::Node> nodes, uint32_t input_channels,
                         graph::Weights weights = {}) {
  auto m = std::make_shared<detail::ModelData>();
  m->arch = "test";
  m->graph.input = "x";
  m->graph.outputs = {nodes.back().output()};
  m->graph.nodes = std::move(nodes);
  m->weights = std::move(weights);
  m->input_channels = input_channels;
  graph::Graph copy = m->graph;
  m->classes = detail::default_classes(uint32_t(graph::validate(copy, m->weights,
                                                                input_channels).front()));
  detail::validate_model(*m);
  return detail::ModelAccess::make(m);
}

// Runs `model` at `precision` on x, of shape `input`; returns the logits and their shape.
struct GraphOutput {
  ops::Shape shape;
  std::vector<float> values;
};
inline GraphOutput run_graph(const Model& model, Precision precision, const ops::Shape& input,
                             const std::vector<float>& x) {
  Network network(context(), model, precision);
  Session session(network, input.n, input.h, input.w);
  const Shape4 o = session.output_shape();
  GraphOutput out{{o[0], o[1], o[2], o[3]}, {}};
  out.values.resize(out.shape.count());
  session.run(x.data(), out.values.data());
  return out;
}

// The message with which validating a model of the single node `node` (reading "x" of
// `input_channels` channels) fails, checked to be one line naming the node; empty, failing the
// test, when it validates.
inline std::string refusal(const graph::Node& node, uint32_t input_channels = 3) {
  detail::ModelData m;
  m.graph.input = "x";
  m.graph.nodes = {node};
  m.graph.outputs = {node.output()};
  m.input_channels = input_channels;
  m.classes = detail::default_classes(input_channels);
  try {
    detail::validate_model(m);
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find("'" + node.name + "'"), std::string::npos) << message;
    return message;
  }
  ADD_FAILURE() << "node '" << node.name << "' (" << node.op << ") was accepted";
  return {};
}

}  // namespace vkseg::test
