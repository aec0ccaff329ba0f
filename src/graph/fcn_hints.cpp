#include "graph/fcn_hints.hpp"

#include <algorithm>

namespace vkseg::graph {

namespace {

std::string module_prefix(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos ? std::string() : name.substr(0, dot);
}

}  // namespace

FcnHints::FcnHints(const io::Checkpoint& checkpoint)
    : modules_(checkpoint.modules), arch_(checkpoint.arch) {}

const io::PickledModule* FcnHints::module_of(const std::string& tensor) const {
  const std::string path = module_prefix(tensor);
  for (const io::PickledModule& m : modules_) {
    if (m.path == path) return &m;
  }
  return nullptr;
}

std::optional<std::vector<int64_t>> FcnHints::pair(const std::string& tensor,
                                                   const char* attr) const {
  const io::PickledModule* m = module_of(tensor);
  if (!m) return std::nullopt;
  const auto it = m->attrs.find(attr);
  if (it == m->attrs.end()) return std::nullopt;
  if (const auto* v = std::get_if<std::vector<int64_t>>(&it->second); v && v->size() == 2) {
    return *v;
  }
  if (const auto* i = std::get_if<int64_t>(&it->second)) return std::vector<int64_t>{*i, *i};
  return std::nullopt;
}

std::optional<bool> FcnHints::relu_after(const std::string& tensor) const {
  const bool any_relu = std::any_of(modules_.begin(), modules_.end(), [](const auto& m) {
    return m.type == "ReLU";
  });
  const io::PickledModule* layer = module_of(tensor);
  if (!layer || !any_relu) return std::nullopt;
  // Depth first is registration order, which these networks also run in.
  for (auto it = modules_.begin() + (layer - modules_.data()) + 1; it != modules_.end(); ++it) {
    if (it->type == "ReLU") return true;
    if (it->has_tensors) break;
  }
  return false;
}

std::optional<bool> FcnHints::fcn8s_at_once() const {
  // pytorch-fcn's trainer stores its class name; any other arch string tells nothing.
  if (modules_.empty()) {
    if (arch_ == "FCN8s" || arch_ == "FCN8sAtOnce") return arch_ == "FCN8sAtOnce";
    return std::nullopt;
  }
  // The network's own class: the root, or the module a (Distributed)DataParallel wraps.
  for (const io::PickledModule& m : modules_) {
    if (m.type != "DataParallel" && m.type != "DistributedDataParallel") {
      return m.type == "FCN8sAtOnce";
    }
  }
  return std::nullopt;
}

std::string FcnHints::source() const {
  return modules_.empty() ? "the checkpoint's 'arch' entry" : "the pickled module";
}

}  // namespace vkseg::graph
