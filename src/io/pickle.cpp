#include "io/pickle.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <unordered_map>

#include "vkseg/error.hpp"
#include "vkseg/text.hpp"

namespace vkseg::io {

namespace {

// Far above what any state dict needs (nesting ~6, a few thousand entries), far below what
// would exhaust the stack or memory.
constexpr int kMaxNesting = 100;
constexpr size_t kMaxMarks = 256;
constexpr size_t kMaxStack = size_t(1) << 22;
constexpr size_t kMaxMemo = size_t(1) << 22;
constexpr size_t kMaxContainerItems = size_t(1) << 22;
// Values in all: a state dict of thousands of tensors needs tens of thousands; without a cap a
// pickle of a few MB of one-byte opcodes can build ~230x its size in memory.
constexpr size_t kMaxValues = size_t(1) << 20;

constexpr std::array<std::pair<std::string_view, DType>, 10> kStorageTypes{{
    {"FloatStorage", DType::Float32},
    {"DoubleStorage", DType::Float64},
    {"HalfStorage", DType::Float16},
    {"BFloat16Storage", DType::BFloat16},
    {"LongStorage", DType::Int64},
    {"IntStorage", DType::Int32},
    {"ShortStorage", DType::Int16},
    {"CharStorage", DType::Int8},
    {"ByteStorage", DType::UInt8},
    {"BoolStorage", DType::Bool},
}};

const DType* storage_dtype(const PickleGlobal& global) {
  if (global.module != "torch") return nullptr;
  for (const auto& [name, dtype] : kStorageTypes) {
    if (global.name == name) return &dtype;
  }
  return nullptr;
}

bool is_global(const PickleGlobal& global, std::string_view module, std::string_view name) {
  return global.module == module && global.name == name;
}

// Names no checkpoint holds and attacks do: whole modules that run commands, load code or
// files, and the builtins that evaluate or reach arbitrary attributes. Everything else only ever
// becomes an inert value here, so the list refuses signs of an attack, not a risk.
bool is_forbidden_global(const PickleGlobal& global) {
  constexpr std::string_view k_modules[] = {
      "os",      "posix",  "nt",      "subprocess", "sys",     "shutil",    "socket",
      "importlib", "runpy", "pty",    "ctypes",     "code",    "codeop",    "pickle",
      "marshal", "webbrowser", "multiprocessing", "asyncio", "signal", "torch.hub", "torch.jit",
      "torch.serialization", "torch._C", "torch.ops"};
  constexpr std::string_view k_builtins[] = {
      "eval",  "exec",   "compile", "open",    "getattr", "setattr", "delattr", "__import__",
      "input", "breakpoint", "globals", "locals", "vars", "execfile", "file", "apply"};
  const std::string_view module = global.module;
  for (std::string_view m : k_modules) {
    if (module == m || (module.size() > m.size() && module.substr(0, m.size()) == m &&
                        module[m.size()] == '.')) {
      return true;
    }
  }
  if (module == "builtins" || module == "__builtin__") {
    for (std::string_view b : k_builtins) {
      if (global.name == b) return true;
    }
  }
  return is_global(global, "torch", "load");
}

bool is_tensor_function(const PickleGlobal& global) {
  return global.module == "torch._utils" || storage_dtype(global) != nullptr;
}

// A value under construction: containers stay mutable until they are placed inside another
// value, after which they are frozen. That rules out cycles and keeps `depth` exact.
struct Node : PickleValue {
  int depth = 1;
  bool nested = false;
  std::unordered_map<std::string, size_t> dict_index;  // hashable key -> entry, dicts only
};
using NodeRef = std::shared_ptr<Node>;

class Unpickler {
 public:
  Unpickler(std::span<const uint8_t> bytes, size_t position,
            std::vector<TorchStorage>* storages_seen)
      : bytes_(bytes), pos_(position), storages_seen_(storages_seen) {}

  PickleRef run() {
    for (;;) {
      op_start_ = pos_;
      const uint8_t op = read_u8();
      if (op == '.') {  // STOP
        if (stack_.size() != 1 || !marks_.empty()) fail("STOP with an unbalanced stack");
        return stack_.back();
      }
      execute(op);
    }
  }

  size_t position() const { return pos_; }

 private:
  [[noreturn]] void fail(std::string_view problem) const {
    throw Error(fmt::format("{} (pickle byte {})", problem, op_start_));
  }

  // --- input ---
  void need(uint64_t count) const {
    if (count > bytes_.size() - pos_) fail("truncated pickle");
  }
  uint8_t read_u8() {
    need(1);
    return bytes_[pos_++];
  }
  template <class T>
  T read_le() {
    need(sizeof(T));
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  std::string read_string(uint64_t length) {
    need(length);
    std::string text(reinterpret_cast<const char*>(bytes_.data() + pos_), size_t(length));
    pos_ += size_t(length);
    return text;
  }
  std::string read_line() {
    const uint8_t* begin = bytes_.data() + pos_;
    const void* newline = std::memchr(begin, '\n', bytes_.size() - pos_);
    if (!newline) fail("truncated pickle");
    const size_t length = size_t(static_cast<const uint8_t*>(newline) - begin);
    std::string line(reinterpret_cast<const char*>(begin), length);
    pos_ += length + 1;
    return line;
  }
  int64_t read_long(uint64_t length) {
    if (length > 8) fail("integer wider than 64 bits");
    need(length);
    uint64_t value = 0;
    for (uint64_t i = 0; i < length; ++i) value |= uint64_t(bytes_[pos_ + i]) << (8 * i);
    if (length > 0 && length < 8 && (bytes_[pos_ + length - 1] & 0x80)) {
      value |= ~uint64_t(0) << (8 * length);  // sign-extend the two's complement
    }
    pos_ += size_t(length);
    return int64_t(value);
  }

  // --- stack ---
  template <class T>
  NodeRef make(T&& data) {
    if (++values_ > kMaxValues) fail(fmt::format("pickle builds more than {} values", kMaxValues));
    auto node = std::make_shared<Node>();
    node->data = std::forward<T>(data);
    return node;
  }
  void push(NodeRef node) {
    if (stack_.size() >= kMaxStack) fail("pickle stack too large");
    stack_.push_back(std::move(node));
  }
  size_t stack_floor() const { return marks_.empty() ? 0 : marks_.back(); }
  NodeRef pop() {
    if (stack_.size() <= stack_floor()) fail("pickle stack underflow");
    NodeRef node = std::move(stack_.back());
    stack_.pop_back();
    return node;
  }
  NodeRef& top() {
    if (stack_.size() <= stack_floor()) fail("pickle stack underflow");
    return stack_.back();
  }
  std::vector<NodeRef> pop_to_mark() {
    if (marks_.empty()) fail("pickle MARK missing");
    std::vector<NodeRef> items(std::make_move_iterator(stack_.begin() + ptrdiff_t(marks_.back())),
                               std::make_move_iterator(stack_.end()));
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }

  // Freezes `child` as part of `parent` and updates the parent's depth.
  PickleRef adopt(Node& parent, const NodeRef& child) {
    if (&parent == child.get()) fail("recursive pickle structures are not supported");
    child->nested = true;
    parent.depth = std::max(parent.depth, child->depth + 1);
    if (parent.depth > kMaxNesting) fail(fmt::format("pickle nested deeper than {}", kMaxNesting));
    return child;
  }
  NodeRef make_tuple(const std::vector<NodeRef>& items) {
    NodeRef node = make(PickleTuple{});
    auto& tuple = std::get<PickleTuple>(node->data);
    tuple.items.reserve(items.size());
    for (const NodeRef& item : items) tuple.items.push_back(adopt(*node, item));
    return node;
  }
  Node& mutable_container(const NodeRef& node, std::string_view opcode) {
    if (node->nested) fail(fmt::format("{} on a container that is already nested", opcode));
    return *node;
  }
  void append(Node& list_node, const NodeRef& item) {
    auto* list = std::get_if<PickleList>(&list_node.data);
    if (!list) fail(fmt::format("APPEND to a {}", kind_name(list_node)));
    if (list->items.size() >= kMaxContainerItems) fail("pickle list too large");
    list->items.push_back(adopt(list_node, item));
  }
  void set_item(Node& dict_node, const NodeRef& key, const NodeRef& value) {
    auto* dict = std::get_if<PickleDict>(&dict_node.data);
    if (!dict) fail(fmt::format("SETITEM on a {}", kind_name(dict_node)));
    const auto [it, inserted] = dict_node.dict_index.try_emplace(hash_key(*key), 0);
    if (inserted) {
      if (dict->entries.size() >= kMaxContainerItems) fail("pickle dict too large");
      it->second = dict->entries.size();
      dict->entries.emplace_back(adopt(dict_node, key), adopt(dict_node, value));
    } else {
      dict->entries[it->second].second = adopt(dict_node, value);  // Python: last value wins
    }
  }
  // Distinct hashable keys map to distinct strings; the kind prefix keeps 1 and "1" apart.
  std::string hash_key(const PickleValue& key) const {
    if (auto* s = std::get_if<PickleString>(&key.data)) return "s" + s->text;
    if (auto* i = std::get_if<int64_t>(&key.data)) return fmt::format("i{}", *i);
    if (auto* b = std::get_if<bool>(&key.data)) return fmt::format("i{}", int(*b));
    if (auto* d = std::get_if<double>(&key.data)) return fmt::format("f{}", *d);
    if (auto* b = std::get_if<PickleBytes>(&key.data)) return "b" + b->bytes;
    if (std::holds_alternative<PickleNone>(key.data)) return "n";
    fail(fmt::format("unsupported dict key type {}", kind_name(key)));
  }

  // --- memo ---
  void memo_put(uint64_t index) {
    const NodeRef& node = top();
    if (memo_.size() >= kMaxMemo && !memo_.contains(index)) fail("pickle memo too large");
    memo_[index] = node;
  }
  void memo_get(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail(fmt::format("pickle memo index {} not defined", index));
    push(it->second);
  }

  // --- globals and calls ---
  void push_global(std::string module, std::string name) {
    PickleGlobal global{std::move(module), std::move(name)};
    if (is_forbidden_global(global)) {
      fail(fmt::format("forbidden pickle global '{}.{}' (a checkpoint never names it; vkseg runs "
                       "nothing from a file, but refuses this one)",
                       printable(global.module), printable(global.name)));
    }
    push(make(std::move(global)));
  }

  static const PickleGlobal& as_global(const NodeRef& node) {
    static const PickleGlobal none;
    const auto* global = std::get_if<PickleGlobal>(&node->data);
    return global ? *global : none;
  }
  // "'torch.FloatStorage'" for globals, the kind otherwise.
  static std::string describe(const NodeRef& node) {
    if (const auto* global = std::get_if<PickleGlobal>(&node->data)) {
      return fmt::format("'{}.{}'", printable(global->module), printable(global->name));
    }
    return std::string(kind_name(*node));
  }
  int64_t as_int(const PickleRef& value, std::string_view what) const {
    const auto* i = std::get_if<int64_t>(&value->data);
    if (!i) fail(fmt::format("{} is a {}, not an int", what, kind_name(*value)));
    return *i;
  }
  std::vector<int64_t> as_int_tuple(const PickleRef& value, std::string_view what) const {
    const auto* tuple = std::get_if<PickleTuple>(&value->data);
    if (!tuple) fail(fmt::format("{} is a {}, not a tuple", what, kind_name(*value)));
    std::vector<int64_t> ints;
    for (const PickleRef& item : tuple->items) ints.push_back(as_int(item, what));
    return ints;
  }
  NodeRef rebuild_tensor(const std::vector<PickleRef>& args) {
    const auto* storage = std::get_if<TorchStorage>(&args[0]->data);
    if (!storage) fail(fmt::format("tensor storage is a {}", kind_name(*args[0])));
    TorchTensor tensor{*storage, as_int(args[1], "tensor storage offset"),
                       as_int_tuple(args[2], "tensor size"),
                       as_int_tuple(args[3], "tensor stride")};
    if (tensor.sizes.size() != tensor.strides.size()) fail("tensor size and stride ranks differ");
    return make(std::move(tensor));
  }
  void reduce() {
    const NodeRef args_node = pop();
    const NodeRef callable = pop();
    const auto* tuple = std::get_if<PickleTuple>(&args_node->data);
    if (!tuple) fail(fmt::format("REDUCE arguments are a {}", kind_name(*args_node)));
    const std::vector<PickleRef>& args = tuple->items;
    const PickleGlobal& global = as_global(callable);
    if (is_global(global, "torch._utils", "_rebuild_tensor_v2") &&
        (args.size() == 6 || args.size() == 7)) {
      push(rebuild_tensor(args));  // requires_grad, hooks and metadata do not matter here
    } else if (is_global(global, "torch._utils", "_rebuild_tensor") && args.size() == 4) {
      push(rebuild_tensor(args));
    } else if ((is_global(global, "torch._utils", "_rebuild_parameter") && args.size() == 3) ||
               (is_global(global, "torch._utils", "_rebuild_parameter_with_state") &&
                args.size() == 4)) {
      if (!std::holds_alternative<TorchTensor>(args[0]->data))
        fail("parameter data is not a tensor");
      push(make(std::get<TorchTensor>(args[0]->data)));
    } else if (is_global(global, "collections", "OrderedDict") && args.empty()) {
      push(make(PickleDict{}));
    } else if (!std::holds_alternative<PickleGlobal>(callable->data) ||
               is_tensor_function(global)) {
      // A tensor function called in a way no torch.save writes is a malformed file.
      fail(
          fmt::format("unsupported call of {} with {} arguments", describe(callable), args.size()));
    } else {
      push(inert_object(global, args_node));
    }
  }
  // The record of what calling `global` with `args` would have built.
  NodeRef inert_object(const PickleGlobal& global, const NodeRef& args) {
    NodeRef node = make(PickleObject{global, {}, nullptr});
    auto& object = std::get<PickleObject>(node->data);
    for (const PickleRef& arg : std::get<PickleTuple>(args->data).items) {
      object.args.push_back(arg);
    }
    node->depth = std::max(node->depth, args->depth + 1);
    if (node->depth > kMaxNesting) fail(fmt::format("pickle nested deeper than {}", kMaxNesting));
    args->nested = true;
    return node;
  }
  // cls.__new__(cls, *args): an OrderedDict, or an inert object of any other class.
  void new_object(const NodeRef& cls, const NodeRef& args) {
    const PickleGlobal& global = as_global(cls);
    if (is_global(global, "collections", "OrderedDict")) {
      push(make(PickleDict{}));
    } else if (!std::holds_alternative<PickleGlobal>(cls->data) || is_tensor_function(global) ||
               !std::holds_alternative<PickleTuple>(args->data)) {
      fail(fmt::format("unsupported NEWOBJ of {}", describe(cls)));
    } else {
      push(inert_object(global, args));
    }
  }
  void build() {
    const NodeRef state = pop();
    const NodeRef& target = top();
    if (auto* object = std::get_if<PickleObject>(&target->data)) {
      // Set once, before the object is placed anywhere (as pickle writes objects).
      if (target->nested || object->state) fail("BUILD on an object that is already in use");
      object->state = adopt(*target, state);
      return;
    }
    // OrderedDict._metadata and a parameter's state: neither is needed.
    if (!std::holds_alternative<PickleDict>(target->data) &&
        !std::holds_alternative<TorchTensor>(target->data)) {
      fail(fmt::format("BUILD on a {}", kind_name(*target)));
    }
  }
  void persistent_load() {
    const NodeRef pid = pop();
    const auto* tuple = std::get_if<PickleTuple>(&pid->data);
    const auto* tag = tuple && !tuple->items.empty()
                          ? std::get_if<PickleString>(&tuple->items[0]->data)
                          : nullptr;
    if (!tag || tag->text != "storage") fail("unsupported persistent id (not a storage)");
    const auto& items = tuple->items;
    if (items.size() != 5 && items.size() != 6) fail("storage persistent id has the wrong length");
    const auto* type = std::get_if<PickleGlobal>(&items[1]->data);
    const DType* dtype = type ? storage_dtype(*type) : nullptr;
    const auto* key = std::get_if<PickleString>(&items[2]->data);
    if (!dtype || !key) fail("malformed storage persistent id");
    if (items.size() == 6 && !std::holds_alternative<PickleNone>(items[5]->data)) {
      fail("legacy storage views are not supported");
    }
    const int64_t numel = as_int(items[4], "storage element count");
    if (numel < 0) fail("negative storage element count");
    TorchStorage storage{key->text, *dtype, numel};
    if (storages_seen_) storages_seen_->push_back(storage);
    push(make(std::move(storage)));
  }

  void execute(uint8_t op);

  std::span<const uint8_t> bytes_;
  size_t pos_;
  std::vector<TorchStorage>* storages_seen_;
  size_t values_ = 0;
  size_t op_start_ = 0;
  std::vector<NodeRef> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, NodeRef> memo_;
};

void Unpickler::execute(uint8_t op) {
  switch (op) {
    case 0x80: {  // PROTO
      const uint8_t protocol = read_u8();
      if (protocol < 2 || protocol > 5)
        fail(fmt::format("unsupported pickle protocol {}", protocol));
      return;
    }
    case 0x95: read_le<uint64_t>(); return;  // FRAME: frames are only a read-ahead hint
    case '(':
      if (marks_.size() >= kMaxMarks) fail("pickle MARKs nested too deeply");
      marks_.push_back(stack_.size());
      return;
    case '0': pop(); return;
    case '1': pop_to_mark(); return;
    case '2': push(top()); return;
    case 'N': push(make(PickleNone{})); return;
    case 0x88: push(make(true)); return;
    case 0x89: push(make(false)); return;
    case 'K': push(make(int64_t(read_u8()))); return;
    case 'M': push(make(int64_t(read_le<uint16_t>()))); return;
    case 'J': push(make(int64_t(read_le<int32_t>()))); return;
    case 0x8a: push(make(read_long(read_u8()))); return;  // LONG1
    case 0x8b: {                                          // LONG4
      const int32_t length = read_le<int32_t>();
      if (length < 0) fail("negative LONG4 length");
      push(make(read_long(uint64_t(length))));
      return;
    }
    case 'G': {  // BINFLOAT: big-endian IEEE double
      const uint64_t bits = __builtin_bswap64(read_le<uint64_t>());
      push(make(std::bit_cast<double>(bits)));
      return;
    }
    case 'X': push(make(PickleString{read_string(read_le<uint32_t>())})); return;
    case 0x8c: push(make(PickleString{read_string(read_u8())})); return;
    case 0x8d: push(make(PickleString{read_string(read_le<uint64_t>())})); return;
    case 'T': {  // BINSTRING (Python 2 str)
      const int32_t length = read_le<int32_t>();
      if (length < 0) fail("negative BINSTRING length");
      push(make(PickleString{read_string(uint64_t(length))}));
      return;
    }
    case 'U': push(make(PickleString{read_string(read_u8())})); return;
    case 'B': push(make(PickleBytes{read_string(read_le<uint32_t>())})); return;
    case 'C': push(make(PickleBytes{read_string(read_u8())})); return;
    case 0x8e: push(make(PickleBytes{read_string(read_le<uint64_t>())})); return;  // BINBYTES8
    case 0x96: push(make(PickleBytes{read_string(read_le<uint64_t>())})); return;  // BYTEARRAY8
    case ')': push(make(PickleTuple{})); return;
    case 't': push(make_tuple(pop_to_mark())); return;
    case 0x85:
    case 0x86:
    case 0x87: {  // TUPLE1..3
      std::vector<NodeRef> items(size_t(op - 0x84));
      for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
      push(make_tuple(items));
      return;
    }
    case ']': push(make(PickleList{})); return;
    case 'l': {
      const std::vector<NodeRef> items = pop_to_mark();
      NodeRef list = make(PickleList{});
      for (const NodeRef& item : items) append(*list, item);
      push(std::move(list));
      return;
    }
    case 'a': {
      const NodeRef item = pop();
      append(mutable_container(top(), "APPEND"), item);
      return;
    }
    case 'e': {
      const std::vector<NodeRef> items = pop_to_mark();
      Node& list = mutable_container(top(), "APPENDS");
      for (const NodeRef& item : items) append(list, item);
      return;
    }
    case '}': push(make(PickleDict{})); return;
    case 'd':
    case 'u': {  // DICT, SETITEMS: key/value pairs above the mark
      const std::vector<NodeRef> items = pop_to_mark();
      if (items.size() % 2 != 0) fail("odd number of dict items");
      NodeRef fresh = op == 'd' ? make(PickleDict{}) : nullptr;
      Node& dict = fresh ? *fresh : mutable_container(top(), "SETITEMS");
      for (size_t i = 0; i < items.size(); i += 2) set_item(dict, items[i], items[i + 1]);
      if (fresh) push(std::move(fresh));
      return;
    }
    case 's': {
      const NodeRef value = pop();
      const NodeRef key = pop();
      set_item(mutable_container(top(), "SETITEM"), key, value);
      return;
    }
    case 'c': {
      std::string module = read_line();
      push_global(std::move(module), read_line());
      return;
    }
    case 0x93: {  // STACK_GLOBAL
      const NodeRef name = pop();
      const NodeRef module = pop();
      const auto* name_text = std::get_if<PickleString>(&name->data);
      const auto* module_text = std::get_if<PickleString>(&module->data);
      if (!name_text || !module_text) fail("STACK_GLOBAL operands are not strings");
      push_global(module_text->text, name_text->text);
      return;
    }
    case 'R': reduce(); return;
    case 'b': build(); return;
    case 0x81: {  // NEWOBJ
      const NodeRef args = pop();
      new_object(pop(), args);
      return;
    }
    case 0x92: {  // NEWOBJ_EX
      pop();      // kwargs
      const NodeRef args = pop();
      new_object(pop(), args);
      return;
    }
    case 'Q': persistent_load(); return;
    case 'q': memo_put(read_u8()); return;
    case 'r': memo_put(read_le<uint32_t>()); return;
    case 0x94: memo_put(memo_.size()); return;  // MEMOIZE
    case 'h': memo_get(read_u8()); return;
    case 'j': memo_get(read_le<uint32_t>()); return;
    default: fail(fmt::format("unsupported pickle opcode 0x{:02x}", op));
  }
}

}  // namespace

const PickleValue* PickleDict::find(std::string_view key) const {
  for (const auto& [k, v] : entries) {
    const auto* text = std::get_if<PickleString>(&k->data);
    if (text && text->text == key) return v.get();
  }
  return nullptr;
}

std::string_view kind_name(const PickleValue& value) {
  struct Namer {
    std::string_view operator()(const PickleNone&) const { return "None"; }
    std::string_view operator()(bool) const { return "bool"; }
    std::string_view operator()(int64_t) const { return "int"; }
    std::string_view operator()(double) const { return "float"; }
    std::string_view operator()(const PickleString&) const { return "str"; }
    std::string_view operator()(const PickleBytes&) const { return "bytes"; }
    std::string_view operator()(const PickleTuple&) const { return "tuple"; }
    std::string_view operator()(const PickleList&) const { return "list"; }
    std::string_view operator()(const PickleDict&) const { return "dict"; }
    std::string_view operator()(const PickleGlobal&) const { return "class or function"; }
    std::string_view operator()(const TorchStorage&) const { return "storage"; }
    std::string_view operator()(const TorchTensor&) const { return "tensor"; }
    std::string_view operator()(const PickleObject&) const { return "object"; }
  };
  return std::visit(Namer{}, value.data);
}

PickleRef unpickle(std::span<const uint8_t> bytes, size_t& position,
                   std::vector<TorchStorage>* storages_seen) {
  if (position > bytes.size()) throw Error("pickle starts beyond the end of the data");
  Unpickler unpickler(bytes, position, storages_seen);
  PickleRef value = unpickler.run();
  position = unpickler.position();
  return value;
}

}  // namespace vkseg::io
