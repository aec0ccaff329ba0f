#pragma once
// Reads the weights of a PyTorch checkpoint without Python and without running anything from the
// file: torch.save zip files, the legacy (torch <= 1.5) stream format, and safetensors.
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace vkseg::io {

struct NamedTensor {
  std::string name;            // state-dict key, a leading "module." (DataParallel) removed
  std::vector<int64_t> shape;  // empty for 0-d tensors
  std::string source_dtype;   // PyTorch dtype name in the file: "float32", "bfloat16", "int64", ...
  std::vector<float> values;  // row-major, converted to float32
};

// A plain attribute of a pickled module: ints and bools as int64, floats, strings, int tuples.
using ModuleAttr = std::variant<int64_t, double, std::string, std::vector<int64_t>>;

// One torch.nn.Module of a whole pickled model (torch.save(model)), read as data: nothing of its
// class is imported or run.
struct PickledModule {
  std::string path;           // its state-dict prefix: "" for the root, "conv1.0", "fc6"
  std::string type;           // its class name: "Conv2d", "ReLU", "FCN8sAtOnce"
  std::string python_module;  // where the class lives: "torch.nn.modules.conv", "__main__"
  std::map<std::string, ModuleAttr> attrs;  // kernel_size, stride, padding, ceil_mode, p, ...
  bool has_tensors = false;   // parameters or persistent buffers of its own
};

struct Checkpoint {
  std::string format;                           // "torch-zip", "torch-legacy" or "safetensors"
  std::vector<NamedTensor> tensors;             // in state-dict (file) order
  std::map<std::string, std::string> metadata;  // safetensors "__metadata__"; empty otherwise
  // A whole pickled model: every module, depth first (registration order), the root first.
  // Empty for state dicts.
  std::vector<PickledModule> modules;
  std::string arch;       // a training checkpoint's "arch" entry (pytorch-fcn's trainer), if any
  std::string container;  // the entry the weights were found under ("model_state_dict", ...)
  std::vector<std::string> ignored;  // non-tensor entries of the state dict, skipped
};

// Detects the format from the content (never the extension) and returns every tensor of the
// model. The file may hold a state dict, a whole pickled module, or a training checkpoint: a
// dict holding either under "state_dict", "model_state_dict", "model", "net" or "network", or as
// its one such entry, beside optimizer state, numpy scalars and other values that are read as
// inert data and ignored. A "module." (DataParallel) prefix is removed. Integer and bool tensors
// (e.g. BatchNorm num_batches_tracked) are kept, converted to float like the rest. Throws Error
// "<path>: <problem>" for anything unreadable or inconsistent, and for pickles naming globals
// only an attack would (os.system, builtins.eval, ...).
Checkpoint read_checkpoint(const std::string& path);

// Whether a tensor name of the checkpoint starts with `prefix` (front ends recognise their
// families by module names).
bool has_tensor_prefix(const Checkpoint& checkpoint, const std::string& prefix);

}  // namespace vkseg::io
