#pragma once
// Reads the weights of a PyTorch checkpoint without Python and without running anything from the
// file: torch.save zip files, the legacy (torch <= 1.5) stream format, and safetensors.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vkseg::io {

struct NamedTensor {
  std::string name;            // state-dict key, a leading "module." (DataParallel) removed
  std::vector<int64_t> shape;  // empty for 0-d tensors
  std::string source_dtype;   // PyTorch dtype name in the file: "float32", "bfloat16", "int64", ...
  std::vector<float> values;  // row-major, converted to float32
};

struct Checkpoint {
  std::string format;                           // "torch-zip", "torch-legacy" or "safetensors"
  std::vector<NamedTensor> tensors;             // in state-dict (file) order
  std::map<std::string, std::string> metadata;  // safetensors "__metadata__"; empty otherwise
};

// Detects the format from the content (never the extension) and returns every tensor of the
// state dict. A dict holding the state dict under "state_dict", "model_state_dict" or "model" is
// unwrapped (its other entries are parsed and then ignored). Integer and bool tensors (e.g.
// BatchNorm num_batches_tracked) are kept, converted to float like the rest. Throws Error
// "<path>: <problem>" for anything unreadable, inconsistent or outside the allowed pickle globals.
Checkpoint read_checkpoint(const std::string& path);

}  // namespace vkseg::io
