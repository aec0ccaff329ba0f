#include "io/torch_objects.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <optional>

#include "vkseg/error.hpp"
#include "vkseg/text.hpp"

namespace vkseg::io {

namespace {

// Where training scripts keep the model: pytorch-fcn's trainer ("model_state_dict"), most others.
constexpr std::string_view k_wrappers[] = {"state_dict", "model_state_dict", "model", "net",
                                           "network"};

const PickleDict* as_dict(const PickleValue* v) {
  return v ? std::get_if<PickleDict>(&v->data) : nullptr;
}

const std::string* as_string(const PickleValue* v) {
  const auto* s = v ? std::get_if<PickleString>(&v->data) : nullptr;
  return s ? &s->text : nullptr;
}

// The __dict__ of a pickled nn.Module: an object whose BUILD state holds _modules and _parameters.
const PickleDict* module_state(const PickleValue* v) {
  const auto* object = v ? std::get_if<PickleObject>(&v->data) : nullptr;
  const PickleDict* state = object ? as_dict(object->state.get()) : nullptr;
  return state && as_dict(state->find("_modules")) && as_dict(state->find("_parameters")) ? state
                                                                                          : nullptr;
}

bool holds_tensors(const PickleDict& dict) {
  for (const auto& [key, value] : dict.entries) {
    if (std::holds_alternative<TorchTensor>(value->data)) return true;
  }
  return false;
}

std::string joined(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

std::optional<ModuleAttr> attr_of(const PickleValue& v) {
  if (const auto* b = std::get_if<bool>(&v.data)) return int64_t(*b);
  if (const auto* i = std::get_if<int64_t>(&v.data)) return *i;
  if (const auto* d = std::get_if<double>(&v.data)) return *d;
  if (const auto* s = std::get_if<PickleString>(&v.data)) return s->text;
  if (const auto* t = std::get_if<PickleTuple>(&v.data)) {
    std::vector<int64_t> ints;
    for (const PickleRef& item : t->items) {
      const auto* i = std::get_if<int64_t>(&item->data);
      if (!i) return std::nullopt;
      ints.push_back(*i);
    }
    return ints;
  }
  return std::nullopt;
}

// Names of a module's non-persistent buffers (absent from its state dict): the list a pickled
// builtins.set was built from.
std::vector<std::string> non_persistent(const PickleDict& state) {
  std::vector<std::string> names;
  const PickleValue* set = state.find("_non_persistent_buffers_set");
  const auto* object = set ? std::get_if<PickleObject>(&set->data) : nullptr;
  if (!object || object->args.size() != 1) return names;
  if (const auto* list = std::get_if<PickleList>(&object->args[0]->data)) {
    for (const PickleRef& item : list->items) {
      if (const std::string* s = as_string(item.get())) names.push_back(*s);
    }
  }
  return names;
}

// state_dict()'s order: a module's parameters, its persistent buffers, then its children.
void walk_module(const PickleValue& value, const std::string& path, ModelObject& out) {
  const PickleDict& state = *module_state(&value);
  const PickleGlobal& cls = std::get<PickleObject>(value.data).callable;
  PickledModule module{path, cls.name, cls.module, {}, false};
  for (const auto& [key, v] : state.entries) {
    const std::string* name = as_string(key.get());
    if (!name || name->empty() || (*name)[0] == '_') continue;
    if (auto attr = attr_of(*v)) module.attrs[*name] = std::move(*attr);
  }
  const size_t index = out.modules.size();
  out.modules.push_back(std::move(module));
  const std::vector<std::string> skipped = non_persistent(state);
  for (const char* group : {"_parameters", "_buffers"}) {
    const PickleDict* tensors = as_dict(state.find(group));
    if (!tensors) continue;
    for (const auto& [key, v] : tensors->entries) {
      const std::string* name = as_string(key.get());
      const auto* tensor = std::get_if<TorchTensor>(&v->data);
      if (!name || !tensor) continue;  // a parameter set to None
      if (std::string_view(group) == "_buffers" &&
          std::find(skipped.begin(), skipped.end(), *name) != skipped.end()) {
        continue;
      }
      out.tensors.push_back({joined(path, *name), tensor});
      out.modules[index].has_tensors = true;
    }
  }
  for (const auto& [key, child] : as_dict(state.find("_modules"))->entries) {
    const std::string* name = as_string(key.get());
    if (name && module_state(child.get())) walk_module(*child, joined(path, *name), out);
  }
}

void read_state_dict(const PickleDict& dict, ModelObject& out) {
  for (const auto& [key, value] : dict.entries) {
    const std::string* name = as_string(key.get());
    if (!name) throw Error(fmt::format("state dict has a {} key", kind_name(*key)));
    if (const auto* tensor = std::get_if<TorchTensor>(&value->data)) {
      out.tensors.push_back({*name, tensor});
    } else {
      out.ignored.push_back(*name);  // e.g. Pytorch-UNet's mask_values
    }
  }
}

// Reads `value` as a module or a state dict; false when it is neither.
bool read_model(const PickleValue* value, ModelObject& out) {
  if (module_state(value)) {
    walk_module(*value, "", out);
    return true;
  }
  const PickleDict* dict = as_dict(value);
  if (!dict || !holds_tensors(*dict)) return false;
  read_state_dict(*dict, out);
  return true;
}

std::string keys_of(const PickleDict& dict) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : dict.entries) {
    const std::string* name = as_string(key.get());
    keys.push_back(name ? fmt::format("'{}'", printable(*name)) : std::string(kind_name(*key)));
    if (keys.size() == 12) {
      keys.push_back("...");
      break;
    }
  }
  return fmt::format("{}", fmt::join(keys, ", "));
}

}  // namespace

ModelObject find_model(const PickleValue& object) {
  ModelObject out;
  if (read_model(&object, out)) return out;
  const PickleDict* dict = as_dict(&object);
  if (!dict) {
    throw Error(fmt::format("the file holds a {}, not a state dict, a module or a training "
                            "checkpoint",
                            kind_name(object)));
  }
  if (const std::string* arch = as_string(dict->find("arch"))) out.arch = *arch;
  for (std::string_view wrapper : k_wrappers) {
    if (read_model(dict->find(wrapper), out)) {
      out.container = wrapper;
      return out;
    }
  }
  // Otherwise the one entry that holds a model, whatever its name.
  std::vector<std::string> candidates;
  const PickleValue* found = nullptr;
  for (const auto& [key, value] : dict->entries) {
    const std::string* name = as_string(key.get());
    if (name && (module_state(value.get()) ||
                 (as_dict(value.get()) && holds_tensors(*as_dict(value.get()))))) {
      candidates.push_back(*name);
      found = value.get();
    }
  }
  if (candidates.size() == 1) {
    read_model(found, out);
    out.container = candidates[0];
    return out;
  }
  if (candidates.size() > 1) {
    throw Error(fmt::format("the checkpoint holds several models ({}); save the one to convert "
                            "alone, or under 'state_dict'",
                            printable(fmt::format("{}", fmt::join(candidates, ", ")))));
  }
  throw Error(fmt::format("found no tensors: the file holds a dict of {} and no state dict or "
                          "module under 'state_dict', 'model_state_dict', 'model', 'net' or "
                          "'network'",
                          keys_of(*dict)));
}

}  // namespace vkseg::io
