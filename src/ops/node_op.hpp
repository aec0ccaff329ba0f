#pragma once
// The interface every op's host class implements for the graph runner (see ops/registry.hpp).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

// A weight as an op wants it on the device: repacked, transformed or as stored, in `type`
// (the network uploads the values converted to it). The values are computed only when the
// network uploads them, one tensor at a time, so that no second copy of every weight is held.
struct DeviceWeight {
  Shape shape;
  DType type = DType::F32;
  std::function<std::vector<float>()> values;
};

// What an op's factory gets: the device, the (validated) node, the model's weights and the
// network's precision. The weights live only while the network is created (it then releases
// its copy of them): an op reads them in its constructor and in device_weights(), never later.
struct OpBuild {
  Context& context;
  const graph::Node& node;
  const graph::Weights& weights;
  Precision precision;
  // The node's weight `role`; throws when it has none.
  const graph::WeightTensor& weight(const std::string& role) const;
  // The same, or nullptr.
  const graph::WeightTensor* optional_weight(const std::string& role) const;
};

// The tensors of one recorded node: its inputs and outputs in node order, its weights in the
// order device_weights() listed them, and the session's workspace (at least workspace_bytes()).
struct OpIo {
  const std::vector<Tensor>& inputs;
  const std::vector<Tensor>& outputs;
  const std::vector<Tensor>& weights;
  const Tensor& workspace;
};

class NodeOp {
 public:
  virtual ~NodeOp() = default;
  // The weights record() reads, prepared once when the network is created.
  virtual std::vector<DeviceWeight> device_weights() const { return {}; }
  // Output shapes for inputs of these shapes; throws Error naming what does not fit.
  virtual std::vector<Shape> output_shapes(const std::vector<Shape>& inputs) const = 0;
  // Multiply-adds count 2, comparisons and other element operations 1.
  virtual uint64_t flops(const std::vector<Shape>& inputs,
                         const std::vector<Shape>& outputs) const = 0;
  // Scratch memory record() needs for inputs of these shapes.
  virtual uint64_t workspace_bytes(const std::vector<Shape>& inputs) const {
    (void)inputs;
    return 0;
  }
  virtual void record(vk::Recorder& recorder, const OpIo& io) const = 0;
};

// The node of an op class with record(recorder, input, output) whose output has its input's
// shape (activations, softmax, ...).
template <class Op>
class ShapePreservingNode : public NodeOp {
 public:
  ShapePreservingNode(Op op, uint64_t flops_per_element)
      : op_(std::move(op)), flops_per_element_(flops_per_element) {}
  std::vector<Shape> output_shapes(const std::vector<Shape>& inputs) const override {
    return {inputs[0]};
  }
  uint64_t flops(const std::vector<Shape>&, const std::vector<Shape>& outputs) const override {
    return flops_per_element_ * outputs[0].count();
  }
  void record(vk::Recorder& recorder, const OpIo& io) const override {
    op_.record(recorder, io.inputs[0], io.outputs[0]);
  }

 private:
  Op op_;
  uint64_t flops_per_element_;
};

// The node of an op class of one input and one output of another shape (pooling, padding,
// rearranging, ...), with output_shape(input), flops(input, output) and
// record(recorder, input, output).
template <class Op>
class OneInputNode : public NodeOp {
 public:
  explicit OneInputNode(Op op) : op_(std::move(op)) {}
  std::vector<Shape> output_shapes(const std::vector<Shape>& inputs) const override {
    return {op_.output_shape(inputs[0])};
  }
  uint64_t flops(const std::vector<Shape>& inputs,
                 const std::vector<Shape>& outputs) const override {
    return op_.flops(inputs[0], outputs[0]);
  }
  void record(vk::Recorder& recorder, const OpIo& io) const override {
    op_.record(recorder, io.inputs[0], io.outputs[0]);
  }

 private:
  Op op_;
};

}  // namespace vkseg::ops
