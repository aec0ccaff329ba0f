#include "io/checkpoint.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <set>

#include "io/dtype.hpp"
#include "io/file_io.hpp"
#include "io/safetensors.hpp"
#include "io/torch_formats.hpp"
#include "io/torch_objects.hpp"
#include "vkseg/error.hpp"
#include "vkseg/text.hpp"

namespace vkseg::io {

namespace {

// 16 GiB of float32: far beyond FCN-VGG16 (134M parameters); bounds what many references to
// one storage can add up to.
constexpr uint64_t kMaxTotalElements = uint64_t(1) << 32;

enum class Format { TorchZip, TorchLegacy, Safetensors };

Format detect_format(std::span<const uint8_t> prefix) {
  const auto starts_with = [&](std::string_view magic, size_t at = 0) {
    return prefix.size() >= at + magic.size() &&
           std::memcmp(prefix.data() + at, magic.data(), magic.size()) == 0;
  };
  if (starts_with("PK\x03\x04")) return Format::TorchZip;
  if (prefix.size() >= sizeof kLegacyMagic &&
      std::equal(std::begin(kLegacyMagic), std::end(kLegacyMagic), prefix.begin())) {
    return Format::TorchLegacy;
  }
  if (looks_like_safetensors(prefix)) return Format::Safetensors;
  if (starts_with("ustar", 257))
    throw Error("tar-format torch checkpoints (torch < 0.4) are not supported");
  if (starts_with("PYTORCH1")) throw Error("pre-1.0 TorchScript containers are not supported");
  throw Error("not a torch zip, legacy torch or safetensors checkpoint");
}

// DataParallel saves every key as "module.<key>".
void strip_data_parallel_prefix(std::string& name) {
  constexpr std::string_view kPrefix = "module.";
  if (name.compare(0, kPrefix.size(), kPrefix) == 0) name.erase(0, kPrefix.size());
}

// Element count of `shape`, refusing negative dimensions and 64-bit overflow.
uint64_t element_count(const std::vector<int64_t>& shape, const std::string& name) {
  uint64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) throw Error(fmt::format("tensor '{}' has a negative dimension", printable(name)));
    if (__builtin_mul_overflow(count, uint64_t(dim), &count)) {
      throw Error(fmt::format("tensor '{}' has too many elements", printable(name)));
    }
  }
  return count;
}

// Collects tensors while keeping names unique and the total size bounded.
class TensorList {
 public:
  std::vector<float>& add(std::string name, std::vector<int64_t> shape, DType dtype,
                          uint64_t count) {
    strip_data_parallel_prefix(name);
    if (!names_.insert(name).second)
      throw Error(fmt::format("tensor '{}' appears twice", printable(name)));
    total_ += count;
    if (total_ > kMaxTotalElements) {
      throw Error(fmt::format("tensors hold more than {} elements in total", kMaxTotalElements));
    }
    tensors_.push_back({std::move(name), std::move(shape), std::string(dtype_name(dtype)), {}});
    tensors_.back().values.resize(size_t(count));
    return tensors_.back().values;
  }
  std::vector<NamedTensor> take() { return std::move(tensors_); }

 private:
  std::vector<NamedTensor> tensors_;
  std::set<std::string> names_;
  uint64_t total_ = 0;
};

// Checks, before anything is allocated for it, that a view of `count` elements lies inside its
// storage and reads no element twice: a view that repeats elements (stride 0, an expand())
// would turn a few bytes of file into up to 16 GiB of floats.
void check_view(const TorchTensor& tensor, const std::string& name, uint64_t count) {
  if (count == 0) return;
  if (tensor.storage_offset < 0) {
    throw Error(fmt::format("tensor '{}' has a negative storage offset", printable(name)));
  }
  // Highest element index the view touches must lie inside the storage.
  uint64_t last = uint64_t(tensor.storage_offset);
  for (size_t d = 0; d < tensor.sizes.size(); ++d) {
    uint64_t step;
    if (tensor.strides[d] < 0 ||
        __builtin_mul_overflow(uint64_t(tensor.sizes[d] - 1), uint64_t(tensor.strides[d]), &step) ||
        __builtin_add_overflow(last, step, &last)) {
      throw Error(fmt::format("tensor '{}' has invalid strides", printable(name)));
    }
  }
  if (last >= uint64_t(tensor.storage.numel)) {
    throw Error(fmt::format("tensor '{}' reaches element {} of its {}-element storage",
                            printable(name), last, tensor.storage.numel));
  }
  if (count > uint64_t(tensor.storage.numel)) {
    throw Error(fmt::format("tensor '{}' repeats elements: {} of them from a {}-element storage "
                            "(expanded views are not supported)",
                            printable(name), count, tensor.storage.numel));
  }
}

// Gathers a checked (possibly strided, offset, shared-storage) view into row-major floats.
void gather_view(const TorchTensor& tensor, std::span<const uint8_t> storage,
                 std::vector<float>& out) {
  const size_t rank = tensor.sizes.size();
  const DType dtype = tensor.storage.dtype;
  const size_t element_size = dtype_size(dtype);
  std::vector<int64_t> index(rank, 0);  // odometer over the view, last dimension fastest
  int64_t source = tensor.storage_offset;
  for (float& value : out) {
    value = element_to_float(dtype, storage.data() + size_t(source) * element_size);
    for (size_t d = rank; d-- > 0;) {
      source += tensor.strides[d];
      if (++index[d] < tensor.sizes[d]) break;
      source -= tensor.strides[d] * tensor.sizes[d];
      index[d] = 0;
    }
  }
}

Checkpoint read_torch_checkpoint(const char* format, const TorchFile& file) {
  const ModelObject model = find_model(*file.object);
  TensorList list;
  for (const auto& [name, tensor] : model.tensors) {
    const uint64_t count = element_count(tensor->sizes, name);
    check_view(*tensor, name, count);
    const std::span<const uint8_t> storage = file.storages->bytes(tensor->storage);
    std::vector<float>& values = list.add(name, tensor->sizes, tensor->storage.dtype, count);
    gather_view(*tensor, storage, values);
  }
  Checkpoint checkpoint{format, list.take(), {}, model.modules, model.arch, model.container,
                        model.ignored};
  for (PickledModule& m : checkpoint.modules) strip_data_parallel_prefix(m.path);
  return checkpoint;
}

DType safetensors_dtype(const std::string& dtype, const std::string& name) {
  constexpr std::array<std::pair<std::string_view, DType>, 10> kTypes{{
      {"F32", DType::Float32},
      {"F64", DType::Float64},
      {"F16", DType::Float16},
      {"BF16", DType::BFloat16},
      {"I64", DType::Int64},
      {"I32", DType::Int32},
      {"I16", DType::Int16},
      {"I8", DType::Int8},
      {"U8", DType::UInt8},
      {"BOOL", DType::Bool},
  }};
  for (const auto& [text, type] : kTypes) {
    if (dtype == text) return type;
  }
  throw Error(fmt::format("tensor '{}': dtype {} cannot be converted to float", printable(name),
                          printable(dtype)));
}

Checkpoint read_safetensors_checkpoint(std::span<const uint8_t> file) {
  SafetensorsLayout layout = parse_safetensors_layout(file);
  TensorList list;
  for (const SafetensorsEntry& entry : layout.entries) {
    const DType dtype = safetensors_dtype(entry.dtype, entry.name);
    const uint64_t count = entry.byte_count / dtype_size(dtype);  // the layout checked the shape
    std::vector<float>& values = list.add(entry.name, entry.shape, dtype, count);
    const uint8_t* source = file.data() + entry.file_offset;
    for (float& value : values) {
      value = element_to_float(dtype, source);
      source += dtype_size(dtype);
    }
  }
  Checkpoint checkpoint{"safetensors", list.take(), std::move(layout.metadata)};
  return checkpoint;
}

}  // namespace

Checkpoint read_checkpoint(const std::string& path) {
  return with_path_in_errors(path, [&]() -> Checkpoint {
    // 262 bytes reach the tar "ustar" tag at offset 257.
    switch (detect_format(read_file_prefix(path, 262))) {
      case Format::TorchZip: return read_torch_checkpoint("torch-zip", open_torch_zip(path));
      case Format::TorchLegacy:
        return read_torch_checkpoint("torch-legacy", open_torch_legacy(read_file(path)));
      case Format::Safetensors: return read_safetensors_checkpoint(read_file(path));
    }
    throw Error("unknown checkpoint format");
  });
}

bool has_tensor_prefix(const Checkpoint& checkpoint, const std::string& prefix) {
  for (const NamedTensor& t : checkpoint.tensors) {
    if (t.name.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

}  // namespace vkseg::io
