#pragma once
#include <memory>
#include <optional>
#include <vector>

#include "graph/model_data.hpp"
#include "ops/argmax.hpp"
#include "ops/convert.hpp"
#include "ops/node_op.hpp"
#include "vk/buffer.hpp"

namespace vkseg::detail {

struct NetworkState {
  Context& context;
  Model model;
  Precision precision;
  std::vector<std::unique_ptr<ops::NodeOp>> ops;  // one per graph node
  vk::Buffer weights;                              // every node's device weights, uploaded once
  std::vector<std::vector<ops::Tensor>> node_weights;  // per node, as its device_weights() listed
  ops::Argmax argmax;
  std::optional<ops::Convert> convert;  // fp16: to and from the fp32 input and logits
};

struct NetworkAccess {
  static NetworkState& state(Network& network) { return *network.state_; }
};

}  // namespace vkseg::detail
