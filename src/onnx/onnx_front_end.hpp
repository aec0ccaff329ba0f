#pragma once
// The ONNX front end: `vkseg convert model.onnx`. ONNX files hold no preprocessing or class
// names: torchvision's (RGB on [0, 1], ImageNet mean and std) and PASCAL VOC's names for 21
// classes (class_N otherwise) are assumed, said in the model's notes, and the command's options
// override them.
#include <string>

#include "graph/fcn_builder.hpp"
#include "graph/model_data.hpp"
#include "onnx/onnx_file.hpp"

namespace vkseg::onnx {

// Reads, maps and validates the model; throws Error "<path>: <problem>".
detail::ModelData build_onnx(const std::string& path, const ConvertOptions& options);
// The same for a model already read; `source` names it in errors.
detail::ModelData build_onnx(ModelFile file, const std::string& source,
                             const ConvertOptions& options);

}  // namespace vkseg::onnx
