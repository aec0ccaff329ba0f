#pragma once
// Converting a PyTorch checkpoint (torch zip, legacy torch or safetensors: a state dict, a training
// dict or a whole pickled module) or an ONNX model into a .vkseg model file: what
// `vkseg convert` does.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vkseg {

struct ConvertOptions {
  std::string arch = "auto";  // a name of supported_archs(); ONNX graphs need none
  std::optional<uint32_t> num_classes;
  // Each of these, when not given, is read from a whole pickled module where the file is one,
  // else assumed, and the assumption is recorded in the model's notes:
  std::optional<bool> fc_relu;        // ReLU after fc6 and fc7 (the FCN paper has them)
  std::optional<bool> caffe_padding;  // true: conv1_1 padded by 100, Caffe's crop offsets
                                      // (pytorch-fcn); false: the aligned layout (padding 1,
                                      // fc6 and upsampling padded, no crops; the lecture's FCN)
  std::string dtype = "fp32";         // how the weights are stored: "fp32" or "fp16"
  // Preprocessing, where the checkpoint's defaults (torchvision's, or Caffe's for pytorch-fcn)
  // do not fit: channel order, and value = (pixel * scale - mean) / std with mean and std given
  // in R, G, B order.
  std::optional<bool> bgr;
  std::optional<std::array<float, 3>> mean, std;
  std::optional<float> scale;
  std::vector<std::string> class_names;  // one per class; empty: named from the model
  bool refuse_non_finite = false;        // refuse weights holding NaN or infinity
  bool overwrite = false;                // replace an existing output file
};

// What a conversion made, and what it assumed.
struct ConvertReport {
  std::string arch;
  std::string format;  // torch-zip, torch-legacy, safetensors or onnx
  uint64_t tensors = 0, parameters = 0;
  uint32_t classes = 0;
  std::string dtype;
  std::vector<std::string> notes;  // where the file could be read two ways: what was assumed
  // Weights holding NaN or infinity (kept, as PyTorch would, unless refuse_non_finite).
  std::vector<std::string> non_finite_weights;
};

// Reads `input`, builds and validates the model and writes it to `output` (through a temporary
// file created exclusively, then renamed). Throws Error "<input>: <reason>" and writes nothing
// on any problem, including an `output` that exists (unless overwrite) or is the input.
ConvertReport convert(const std::string& input, const std::string& output,
                      const ConvertOptions& options = {});

// Every ConvertOptions::arch value with what it converts.
struct ArchInfo {
  std::string name, description;
};
const std::vector<ArchInfo>& supported_archs();

}  // namespace vkseg
