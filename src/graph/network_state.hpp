#pragma once
#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include "graph/model_data.hpp"
#include "ops/argmax.hpp"
#include "ops/conv2d.hpp"
#include "ops/conv_transpose2d.hpp"
#include "ops/convert.hpp"
#include "ops/crop_add.hpp"
#include "ops/max_pool2d.hpp"
#include "ops/relu.hpp"
#include "vk/buffer.hpp"

namespace vkseg::detail {

using Operator = std::variant<ops::Conv2d, ops::MaxPool2d, ops::ConvTranspose2d, ops::CropAdd,
                              ops::Relu>;

struct NetworkState {
  Context& context;
  Model model;
  Precision precision;
  std::vector<Operator> operators;  // one per graph node
  vk::Buffer weights;               // every weight tensor, uploaded once
  // Weights in the storage type, biases in fp32, by name; convolution weights as their layer's
  // variant reads them (Conv2d::prepare_weights) by node index instead.
  std::map<std::string, ops::Tensor> weight_tensors;
  std::map<size_t, ops::Tensor> conv_weights;
  ops::Argmax argmax;
  std::optional<ops::Convert> convert;  // fp16: to and from the fp32 input and logits
};

}  // namespace vkseg::detail
