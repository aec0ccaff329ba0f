#pragma once
#include <string>

#include "graph/model_data.hpp"
#include "io/checkpoint.hpp"

namespace vkseg::graph {

constexpr const char* k_torchvision_families =
    "torchvision's fcn_resnet50, fcn_resnet101, deeplabv3_resnet50, deeplabv3_resnet101, "
    "deeplabv3_mobilenet_v3_large and lraspp_mobilenet_v3_large convert from their state dicts";

// Whether the checkpoint uses torchvision's segmentation module names (backbone.*, classifier.*).
bool looks_like_torchvision(const io::Checkpoint& checkpoint);

// One of torchvision's segmentation networks (see k_torchvision_families), any number of
// classes, its auxiliary classifier left out. `arch` is "auto" or the family expected. Throws
// Error naming the first tensor that does not fit.
detail::ModelData build_torchvision(io::Checkpoint checkpoint, const std::string& arch);

}  // namespace vkseg::graph
