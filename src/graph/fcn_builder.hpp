#pragma once
#include <optional>
#include <string>
#include <vector>

#include "graph/model_data.hpp"
#include "io/checkpoint.hpp"

namespace vkseg::graph {

struct FcnOptions {
  std::string arch = "auto";  // auto, fcn32s, fcn16s, fcn8s, vgg16
  std::optional<uint32_t> num_classes;
  bool fc_relu = true;        // ReLU after fc6 and fc7, as in the FCN paper
  bool caffe_padding = true;  // conv1_1 pad 100 and Caffe's crop offsets; false: aligned FCN
                              // (pad 1, fc6 padded, upsampling padded by stride/2, no offsets)
};

// Recognises a VGG16 FCN (or a torchvision VGG16 classifier, made fully convolutional) from the
// shapes and order of a checkpoint's tensors, whatever they are named, and builds the model.
// Safetensors files are read in natural name order (their writers sort keys). Throws Error
// naming the first tensor that does not fit.
detail::ModelData build_fcn(io::Checkpoint checkpoint, const FcnOptions& options);

}  // namespace vkseg::graph
