#pragma once
// Which front end reads a checkpoint: torchvision's segmentation networks and U-Net by their
// module names, every other checkpoint by the FCN/VGG16 front end's shape recognition.
#include <string>
#include <vector>

#include "graph/fcn_builder.hpp"

namespace vkseg::graph {

// The model of `checkpoint`, by the front end `options.arch` names or, for "auto", the one its
// tensor names fit; classes named by default (PASCAL VOC for 21), the graph validated.
detail::ModelData build_model(io::Checkpoint checkpoint, const ConvertOptions& options);

}  // namespace vkseg::graph
