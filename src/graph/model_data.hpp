#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "vkseg/error.hpp"
#include "vkseg/model.hpp"

namespace vkseg::detail {

using WeightTensor = graph::WeightTensor;

// Everything of a model but its weights.
struct ModelDescription {
  std::string arch;
  graph::Graph graph;
  Preprocess preprocess;
  std::vector<ClassInfo> classes;
  std::string weight_dtype = "fp32";
  uint32_t input_channels = 3;
  // Input sizes the network accepts: multiples of input_multiple, at least min_input (images are
  // padded up to that). Caffe-padded FCNs take any size; aligned ones need multiples of 32.
  uint32_t input_multiple = 1;
  uint32_t min_input = 1;
  // What the converter assumed where the checkpoint could be read two ways, and how to choose
  // otherwise; shown by `vkseg convert` and `vkseg info`.
  std::vector<std::string> notes;
  // A network's own copy of its model drops the weights once they are on the device (the host
  // copy would double a CPU device's memory); it keeps how many there were.
  bool weights_released = false;
  uint64_t released_parameters = 0;
};

struct ModelData : ModelDescription {
  graph::Weights weights;
};

// Model file format version written into the metadata. Version 1 (the FCN-only graph) is read
// and upgraded; newer ones are refused.
constexpr int k_model_format_version = 2;

// Writes a .vkseg file (safetensors): weights as fp32 or fp16, the rest as metadata.
void save_model(const ModelData& model, const std::string& path);
// Checks that the graph, weights, preprocessing and classes agree (graph::validate, every tensor
// used, one class per output channel); fills in the graph's default attributes. Throws Error.
void validate_model(ModelData& model);
// What every front end does last: names the classes after the graph's output channels
// (default_classes), refusing an `expected` count (--num-classes) that differs ("the `source`
// scores N classes"), then validate_model.
void finish_model(ModelData& model, std::optional<uint32_t> expected, const char* source);

// "name (k of n values)" for each weight holding NaN or infinite values, in name order.
std::vector<std::string> non_finite_weights(const ModelData& model);

// The PASCAL VOC palette (FCN's vis.make_palette): label bits spread over R, G, B from the MSB.
std::array<uint8_t, 3> voc_color(uint32_t label);
// PASCAL VOC names and palette for 21 classes; "class_N" with the same palette otherwise.
std::vector<ClassInfo> default_classes(uint32_t count);

struct ModelAccess {
  static const ModelData& data(const Model& model) { return *model.data_; }
  static Model make(std::shared_ptr<const ModelData> data) { return Model(std::move(data)); }
  // The model without its weights (see ModelData::weights_released).
  static Model without_weights(const Model& model);
};

}  // namespace vkseg::detail
