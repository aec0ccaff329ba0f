#pragma once
// What the front ends that read module names (torchvision's networks, U-Net) share: the
// checkpoint's tensors looked up by name, each used at most once, and nodes added to the graph
// with the checkpoint's own tensor names as weights.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph/model_data.hpp"
#include "io/checkpoint.hpp"

namespace vkseg::graph {

class NetBuilder {
 public:
  // `family` names the network in errors ("deeplabv3_resnet50"). BatchNorm's
  // num_batches_tracked counters are read and dropped: inference does not use them.
  NetBuilder(io::Checkpoint checkpoint, std::string family);

  bool has(const std::string& tensor) const;
  // The tensor's shape; throws Error naming the tensor and the family when it is absent.
  const std::vector<int64_t>& shape(const std::string& tensor) const;
  // Ignores every tensor whose name starts with `prefix` (an auxiliary classifier); returns
  // how many there were.
  size_t skip(const std::string& prefix);

  // The nodes below are named after the module prefix, with its tensors as their weights.
  // `prefix`.weight (and `prefix`.bias when present) as a convolution.
  std::string conv(const std::string& prefix, const std::string& input, int64_t stride = 1,
                   int64_t pad = 0, int64_t dilation = 1, int64_t groups = 1);
  std::string conv_transpose(const std::string& prefix, const std::string& input, int64_t stride,
                             int64_t pad = 0);
  // `prefix`.{weight,bias,running_mean,running_var}, epsilon as the family constructs it.
  std::string batch_norm(const std::string& prefix, const std::string& input, double epsilon);
  // `op` over `inputs`, with `attrs`, and the checkpoint tensors `weights` names by role.
  std::string node(const std::string& name, const std::string& op,
                   std::vector<std::string> inputs, std::map<std::string, AttrValue> attrs = {},
                   const std::map<std::string, std::string>& weights = {});

  // Every tensor must have been used (or skipped); throws Error naming the first that was not,
  // then moves the graph and weights into `model`.
  void finish(detail::ModelData& model, const std::string& output);

  const std::string& family() const { return family_; }

 private:
  std::string weight(const std::string& name);  // marks the tensor used; returns its name
  std::string family_;
  std::map<std::string, io::NamedTensor> tensors_;
  std::vector<std::string> order_;  // the checkpoint's order, for "the first unused tensor"
  enum class Use { None, Weight, Skipped };
  std::map<std::string, Use> used_;
  Graph graph_;
};

// Checks a tensor's shape, naming it, the family and what was expected when it differs.
void expect_shape(const NetBuilder& b, const std::string& tensor, const std::vector<int64_t>& shape);

}  // namespace vkseg::graph
