#include "io/torch_formats.hpp"

#include <fmt/format.h>
#include <zip.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "vkseg/error.hpp"
#include "vkseg/text.hpp"

namespace vkseg::io {

namespace {

// Deflate cannot expand data by more than ~1032x; a larger claimed size is a lie (or a bomb).
constexpr uint64_t kMaxDeflateRatio = 1100;
// A state dict's pickle holds names, shapes and storage references: kilobytes, a few megabytes
// for the largest networks. The unpickler's value cap (2^20) cannot use much more either.
constexpr uint64_t kMaxPickleBytes = uint64_t(64) << 20;
// Compressed records are inflated this much at a time, so memory follows the bytes that really
// come out of the decompressor, not the size the archive claims.
constexpr size_t kInflateChunk = size_t(16) << 20;

uint64_t storage_byte_count(const TorchStorage& storage) {
  uint64_t bytes;
  if (__builtin_mul_overflow(uint64_t(storage.numel), dtype_size(storage.dtype), &bytes)) {
    throw Error(fmt::format("storage '{}' is too large", printable(storage.key)));
  }
  return bytes;
}

// All references to one storage key must agree on its type and size.
void check_same_storage(const TorchStorage& first, const TorchStorage& again) {
  if (first.dtype != again.dtype || first.numel != again.numel) {
    throw Error(fmt::format("storage '{}' is referenced as {} x {} and as {} x {}",
                            printable(first.key),
                            first.numel, dtype_name(first.dtype), again.numel,
                            dtype_name(again.dtype)));
  }
}

// ---------------------------------------------------------------- zip (torch >= 1.6)

struct ZipCloser {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};

class ZipArchive final : public StorageSource {
 public:
  explicit ZipArchive(const std::string& path) {
    int error_code = 0;
    archive_.reset(zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &error_code));
    if (!archive_) {
      zip_error_t error;
      zip_error_init_with_code(&error, error_code);
      const std::string message = zip_error_strerror(&error);
      zip_error_fini(&error);
      throw Error(fmt::format("not a readable zip archive: {}", message));
    }
    root_ = find_root();
  }

  std::vector<uint8_t> read_pickle() {
    const std::string name = root_ + "/data.pkl";
    const zip_stat_t stat = stat_record(name);
    if (stat.size > kMaxPickleBytes) {
      throw Error(fmt::format("zip record '{}' inflates to {} bytes, more than the {} a "
                              "checkpoint's pickle can need",
                              printable(name), stat.size, kMaxPickleBytes));
    }
    return read_record(stat, name);
  }

  // The "byteorder" record (torch >= 2.1) must say little; without it, little is implied.
  void check_byte_order() {
    const std::string name = root_ + "/byteorder";
    if (zip_name_locate(archive_.get(), name.c_str(), 0) < 0) return;
    const zip_stat_t stat = stat_record(name);
    if (stat.size > 16) {
      throw Error(fmt::format("zip record '{}' holds {} bytes, not a byte order", printable(name),
                              stat.size));
    }
    const std::vector<uint8_t> order = read_record(stat, name);
    if (std::string(order.begin(), order.end()) != "little") {
      throw Error("big-endian torch checkpoints are not supported");
    }
  }

  std::span<const uint8_t> bytes(const TorchStorage& storage) override {
    auto it = storages_.find(storage.key);
    if (it == storages_.end()) {
      const uint64_t expected = storage_byte_count(storage);
      const std::string name = root_ + "/data/" + storage.key;
      const zip_stat_t stat = stat_record(name);
      if (stat.size != expected) {
        throw Error(fmt::format("storage '{}' holds {} bytes, its {} x {} need {}",
                                printable(storage.key), stat.size, storage.numel,
                                dtype_name(storage.dtype), expected));
      }
      it = storages_.emplace(storage.key, Loaded{storage, read_record(stat, name)}).first;
    }
    check_same_storage(it->second.storage, storage);
    return it->second.data;
  }

 private:
  struct Loaded {
    TorchStorage storage;
    std::vector<uint8_t> data;
  };

  // The writer names the top folder after the file (or "archive"); find it through data.pkl.
  std::string find_root() {
    const zip_int64_t count = zip_get_num_entries(archive_.get(), 0);
    std::string root;
    for (zip_int64_t i = 0; i < count; ++i) {
      const char* name = zip_get_name(archive_.get(), zip_uint64_t(i), 0);
      if (!name) continue;
      const std::string_view entry(name);
      const size_t slash = entry.find('/');
      if (slash == std::string_view::npos || slash == 0 || entry.substr(slash) != "/data.pkl")
        continue;
      if (!root.empty()) throw Error("zip archive holds more than one <root>/data.pkl record");
      root = entry.substr(0, slash);
    }
    if (root.empty())
      throw Error("zip archive without a <root>/data.pkl record (not a torch checkpoint)");
    return root;
  }

  std::string zip_message() { return zip_strerror(archive_.get()); }

  // The record's entry, with sizes it can have: a stored record's as large as its bytes (which
  // ZIP_CHECKCONS has found inside the file), a compressed one's within deflate's largest ratio.
  // Nothing is read or allocated yet.
  zip_stat_t stat_record(const std::string& name) {
    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_stat(archive_.get(), name.c_str(), 0, &stat) != 0) {
      throw Error(fmt::format("zip record '{}' is missing", printable(name)));
    }
    constexpr zip_uint64_t kNeeded =
        ZIP_STAT_INDEX | ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD;
    if ((stat.valid & kNeeded) != kNeeded)
      throw Error(fmt::format("zip record '{}' lacks its sizes", printable(name)));
    const bool stored = stat.comp_method == ZIP_CM_STORE;
    if ((stored && stat.size != stat.comp_size) ||
        (!stored && stat.size / kMaxDeflateRatio > stat.comp_size)) {
      throw Error(fmt::format("zip record '{}' claims an implausible size {}", printable(name),
                              stat.size));
    }
    return stat;
  }

  // Exactly the stat.size bytes the record declares, or an Error: it never inflates more (the
  // first byte past them is an error), and reading to the end checks the CRC.
  std::vector<uint8_t> read_record(const zip_stat_t& stat, const std::string& name) {
    std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> file(
        zip_fopen_index(archive_.get(), stat.index, 0), &zip_fclose);
    if (!file) {
      throw Error(
          fmt::format("cannot open zip record '{}': {}", printable(name), zip_message()));
    }
    const auto failure = [&](const char* problem) {
      return Error(fmt::format("cannot read zip record '{}': {}", printable(name), problem));
    };
    // A stored record's bytes are in the file, whose size bounds it; a compressed one grows as
    // it inflates.
    const size_t step = stat.comp_method == ZIP_CM_STORE ? size_t(stat.size) : kInflateChunk;
    std::vector<uint8_t> data;
    while (data.size() < stat.size) {
      const size_t begin = data.size();
      data.resize(begin + size_t(std::min<uint64_t>(step, stat.size - begin)));
      const zip_int64_t read = zip_fread(file.get(), data.data() + begin, data.size() - begin);
      if (read < 0) throw failure(zip_file_strerror(file.get()));
      if (zip_uint64_t(read) != data.size() - begin) throw failure("record is short");
    }
    uint8_t past_the_end;
    const zip_int64_t extra = zip_fread(file.get(), &past_the_end, 1);
    if (extra < 0) throw failure(zip_file_strerror(file.get()));
    if (extra > 0) throw failure("it inflates to more than its declared size");
    return data;
  }

  std::unique_ptr<zip_t, ZipCloser> archive_;
  std::string root_;
  std::map<std::string, Loaded> storages_;
};

// ---------------------------------------------------------------- legacy stream (torch <= 1.5)

class LegacyStream final : public StorageSource {
 public:
  explicit LegacyStream(std::vector<uint8_t> file) : file_(std::move(file)) {}

  std::span<const uint8_t> bytes(const TorchStorage& storage) override {
    const auto it = storages_.find(storage.key);
    if (it == storages_.end())
      throw Error(fmt::format("storage '{}' is missing from the file", printable(storage.key)));
    check_same_storage(it->second.storage, storage);
    return it->second.data;
  }

  // Parses everything after the object pickle: the storage key list, then per key an int64
  // element count and the raw elements. Each key's dtype comes from the object's references.
  void index_storages(size_t position, const std::vector<TorchStorage>& referenced) {
    std::map<std::string, TorchStorage> by_key;
    for (const TorchStorage& storage : referenced) {
      const auto [it, inserted] = by_key.emplace(storage.key, storage);
      if (!inserted) check_same_storage(it->second, storage);
    }
    const PickleRef keys = unpickle(file_, position);
    const auto* key_list = std::get_if<PickleList>(&keys->data);
    if (!key_list) throw Error(fmt::format("legacy storage key list is a {}", kind_name(*keys)));
    for (const PickleRef& key_value : key_list->items) {
      const auto* key = std::get_if<PickleString>(&key_value->data);
      if (!key) throw Error("legacy storage key list holds a non-string");
      const auto found = by_key.find(key->text);
      if (found == by_key.end())
        throw Error(fmt::format("storage '{}' is listed but never used", printable(key->text)));
      const TorchStorage& storage = found->second;
      if (file_.size() - position < 8)
        throw Error(fmt::format("truncated before storage '{}'", printable(key->text)));
      int64_t count;
      std::memcpy(&count, file_.data() + position, 8);
      position += 8;
      if (count != storage.numel) {
        throw Error(fmt::format("storage '{}' holds {} elements, its references say {}",
                                printable(key->text), count, storage.numel));
      }
      const uint64_t byte_count = storage_byte_count(storage);
      if (byte_count > file_.size() - position) {
        throw Error(fmt::format("truncated inside storage '{}'", printable(key->text)));
      }
      if (!storages_
               .emplace(key->text, Indexed{storage, {file_.data() + position, size_t(byte_count)}})
               .second) {
        throw Error(fmt::format("storage '{}' is listed twice", printable(key->text)));
      }
      position += size_t(byte_count);
    }
  }

  std::span<const uint8_t> file() const { return file_; }

 private:
  struct Indexed {
    TorchStorage storage;
    std::span<const uint8_t> data;
  };
  std::vector<uint8_t> file_;
  std::map<std::string, Indexed> storages_;
};

}  // namespace

TorchFile open_torch_zip(const std::string& path) {
  auto archive = std::make_unique<ZipArchive>(path);
  archive->check_byte_order();
  const std::vector<uint8_t> pickle = archive->read_pickle();
  size_t position = 0;
  PickleRef object = unpickle(pickle, position);
  return {std::move(object), std::move(archive)};
}

TorchFile open_torch_legacy(std::vector<uint8_t> file) {
  if (file.size() < sizeof kLegacyMagic ||
      !std::equal(std::begin(kLegacyMagic), std::end(kLegacyMagic), file.begin())) {
    throw Error("missing the legacy torch magic number");
  }
  auto stream = std::make_unique<LegacyStream>(std::move(file));
  const std::span<const uint8_t> bytes = stream->file();
  size_t position = sizeof kLegacyMagic;

  const PickleRef protocol = unpickle(bytes, position);
  const auto* protocol_number = std::get_if<int64_t>(&protocol->data);
  if (!protocol_number || *protocol_number != 1001) {
    throw Error("unsupported legacy torch protocol version (expected 1001)");
  }
  const PickleRef sys_info = unpickle(bytes, position);
  const auto* info = std::get_if<PickleDict>(&sys_info->data);
  if (!info) throw Error(fmt::format("legacy sys_info is a {}, not a dict", kind_name(*sys_info)));
  const PickleValue* little_endian = info->find("little_endian");
  if (little_endian && std::get_if<bool>(&little_endian->data) &&
      !std::get<bool>(little_endian->data)) {
    throw Error("big-endian torch checkpoints are not supported");
  }

  std::vector<TorchStorage> referenced;
  PickleRef object = unpickle(bytes, position, &referenced);
  stream->index_storages(position, referenced);
  return {std::move(object), std::move(stream)};
}

}  // namespace vkseg::io
