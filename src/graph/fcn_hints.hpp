#pragma once
// What a checkpoint says about an FCN beyond its tensors' shapes: a whole pickled module's
// hyper-parameters (paddings, strides, where ReLUs sit, its class) and a training checkpoint's
// "arch" entry. Each answer is nullopt where the file does not tell.
#include <optional>
#include <string>
#include <vector>

#include "io/checkpoint.hpp"

namespace vkseg::graph {

class FcnHints {
 public:
  explicit FcnHints(const io::Checkpoint& checkpoint);

  // The module holding tensor `name` ("conv1.0.weight" -> module "conv1.0"), if pickled.
  const io::PickledModule* module_of(const std::string& tensor) const;
  // An int pair attribute (padding, stride, output_padding, ...) of that module.
  std::optional<std::vector<int64_t>> pair(const std::string& tensor, const char* attr) const;
  // Whether a ReLU module follows the layer of `tensor` before the next layer with tensors;
  // nullopt when the model holds no ReLU modules at all (its forward() applies them).
  std::optional<bool> relu_after(const std::string& tensor) const;
  // Whether the network is pytorch-fcn's FCN8sAtOnce, from the pickled class or the training
  // checkpoint's "arch"; nullopt when neither names a class.
  std::optional<bool> fcn8s_at_once() const;
  // Where the answer came from, for notes: "the pickled module" or "the checkpoint's arch".
  std::string source() const;

 private:
  std::vector<io::PickledModule> modules_;
  std::string arch_;
};

}  // namespace vkseg::graph
