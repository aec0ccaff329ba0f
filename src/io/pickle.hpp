#pragma once
// A restricted unpickler for PyTorch checkpoints. It never imports or calls anything: globals
// become symbolic values, the tensor rebuild calls produce tensor descriptors, OrderedDict a
// dict, and every other class or function an inert PickleObject that records what it would have
// been built from (whole pickled nn.Modules, numpy scalars, optimizer state, ...). Globals that
// only an attack names (os.system, builtins.eval, torch.load, ...) are refused outright. Hostile
// input is bounded (nesting depth, stack, memo and container sizes) and fails with a one-line
// Error.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "io/dtype.hpp"

namespace vkseg::io {

struct PickleValue;
using PickleRef = std::shared_ptr<const PickleValue>;

struct PickleNone {};
struct PickleString {
  std::string text;  // as stored (UTF-8 for protocol 2+ strings)
};
struct PickleBytes {
  std::string bytes;
};
struct PickleTuple {
  std::vector<PickleRef> items;
};
struct PickleList {
  std::vector<PickleRef> items;
};
// dict and collections.OrderedDict alike; entries keep insertion order.
struct PickleDict {
  std::vector<std::pair<PickleRef, PickleRef>> entries;
  // The value stored under string key `key`, or nullptr.
  const PickleValue* find(std::string_view key) const;
};
// An allowed class or function reference ("torch._utils", "_rebuild_tensor_v2").
struct PickleGlobal {
  std::string module;
  std::string name;
};
// A storage referenced by persistent id; its bytes live outside the pickle.
struct TorchStorage {
  std::string key;  // "data/<key>" in zip files, the saved pointer in legacy files
  DType dtype;
  int64_t numel;  // elements of `dtype`
};
// What torch._utils._rebuild_tensor(_v2) / _rebuild_parameter describe; all counts in elements.
struct TorchTensor {
  TorchStorage storage;
  int64_t storage_offset;
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
};

// An instance of a class (or the result of a function) the unpickler does not build: the
// callable, the arguments it would have been called with (REDUCE) or the class's __new__ got
// (NEWOBJ), and the state BUILD would have set (an nn.Module's __dict__, for instance).
struct PickleObject {
  PickleGlobal callable;
  std::vector<PickleRef> args;
  PickleRef state;  // nullptr until BUILD
};

struct PickleValue {
  std::variant<PickleNone, bool, int64_t, double, PickleString, PickleBytes, PickleTuple,
               PickleList, PickleDict, PickleGlobal, TorchStorage, TorchTensor, PickleObject>
      data;
};

// "int", "str", "dict", "tensor", ... for error messages.
std::string_view kind_name(const PickleValue& value);

// Parses the pickle that starts at bytes[position] and returns its value; `position` is left just
// past its STOP opcode (legacy checkpoints are several pickles back to back). Storage persistent
// ids are the zip 5-tuple ('storage', type, key, location, numel) or the legacy 6-tuple with a
// trailing None view; each one met is appended to `storages_seen` when given (legacy files need
// every storage's dtype to walk their raw data). Throws Error naming the problem and its offset.
PickleRef unpickle(std::span<const uint8_t> bytes, size_t& position,
                   std::vector<TorchStorage>* storages_seen = nullptr);

}  // namespace vkseg::io
