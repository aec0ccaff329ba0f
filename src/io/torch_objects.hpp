#pragma once
// What the object in a torch.save file holds: a state dict, a whole pickled module, or a
// training checkpoint wrapping either; read as data, nothing run.
#include <string>
#include <utility>
#include <vector>

#include "io/checkpoint.hpp"
#include "io/pickle.hpp"

namespace vkseg::io {

struct ModelObject {
  // The model's tensors in state-dict order (names as state_dict() would give them).
  std::vector<std::pair<std::string, const TorchTensor*>> tensors;
  std::vector<PickledModule> modules;  // for a whole pickled module
  std::string arch, container;
  std::vector<std::string> ignored;
};

// Finds the model in `object`; throws Error saying what the file holds instead. The tensors
// point into `object`, which must outlive the result.
ModelObject find_model(const PickleValue& object);

}  // namespace vkseg::io
