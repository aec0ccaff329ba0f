#pragma once
#include <optional>
#include <string>
#include <vector>

#include "graph/model_data.hpp"
#include "io/checkpoint.hpp"
#include "vkseg/convert.hpp"

namespace vkseg::graph {

// Recognises a VGG16 FCN (pytorch-fcn's FCN32s/16s/8s/8sAtOnce, the lecture's FCN with a 1x1
// fc6 and biased upsampling, or any naming of them) or a torchvision VGG16 classifier (made
// fully convolutional) from the shapes and order of a checkpoint's tensors, and builds the model.
// Safetensors files are read in natural name order (their writers sort keys). What the tensors
// cannot tell (layout, ReLUs after fc6 and fc7, FCN8s or FCN8sAtOnce) comes from the options,
// the pickled module or the training checkpoint's arch, or is assumed and said in model.notes.
// Throws Error naming the first tensor that does not fit.
detail::ModelData build_fcn(io::Checkpoint checkpoint, const ConvertOptions& options);

}  // namespace vkseg::graph
