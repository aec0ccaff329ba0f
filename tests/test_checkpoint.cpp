// read_checkpoint against the fixtures from make_checkpoint_fixtures.py: every format and
// wrapper gives the tensors PyTorch reports; hostile, truncated and corrupted files, and files
// built here with one defect each, are refused with a one-line vkseg::Error.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>

#include "checkpoint_fixtures.hpp"
#include "io/checkpoint.hpp"
#include "io/torch_formats.hpp"
#include "vkseg/error.hpp"

namespace vkseg::test {
namespace {

using nlohmann::json;

json load_expected() {
  const std::filesystem::path dir = checkpoint_fixture_dir();
  if (dir.empty()) return json::object();
  return json::parse(read_bytes(dir / "expected.json"));
}

// Every fixture file named in expected.json, readable and refused alike.
std::vector<std::filesystem::path> all_fixture_files() {
  const json expected = load_expected();
  std::vector<std::filesystem::path> files;
  for (const char* group : {"checkpoints", "refused"}) {
    for (const json& entry : expected.value(group, json::array())) {
      files.push_back(checkpoint_fixture_dir() / entry["file"].get<std::string>());
    }
  }
  return files;
}

// The message of the vkseg::Error that reading `path` throws; a failure if it does not throw
// one, or if the message is not one line naming the file.
std::string refusal(const std::filesystem::path& path) {
  try {
    io::read_checkpoint(path.string());
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_EQ(message.rfind(path.string() + ": ", 0), 0u) << message;
    return message;
  }
  ADD_FAILURE() << path << " was read without an error";
  return {};
}

// --- hand-built checkpoints, each with one defect a torch.save file never has

std::string little_endian(uint64_t value, size_t bytes) {
  std::string text;
  for (size_t i = 0; i < bytes; ++i) text += char(value >> (8 * i));
  return text;
}
// Pickle opcodes: BINUNICODE for a str, LONG1 with 8 bytes for any int64, MARK ... TUPLE.
std::string pickled_str(const std::string& text) {
  return "X" + little_endian(text.size(), 4) + text;
}
std::string pickled_int(int64_t value) { return "\x8a\x08" + little_endian(uint64_t(value), 8); }
std::string pickled_ints(const std::vector<int64_t>& values) {
  std::string text = "(";
  for (int64_t value : values) text += pickled_int(value);
  return text + "t";
}

// One state-dict entry as torch.save pickles it: _rebuild_tensor_v2 of a view of storage "0".
struct TensorSpec {
  std::string name = "w";
  std::string storage_type = "FloatStorage";
  int64_t storage_numel = 6;
  int64_t offset = 0;
  std::vector<int64_t> sizes{2, 3};
  std::vector<int64_t> strides{3, 1};
};

// The zip format's persistent ids have 5 items, the legacy format's a sixth (None).
std::string state_dict_pickle(const std::vector<TensorSpec>& tensors, bool legacy) {
  std::string text = "\x80\x02}(";
  for (const TensorSpec& t : tensors) {
    text += pickled_str(t.name) + "ctorch._utils\n_rebuild_tensor_v2\n((" + pickled_str("storage") +
            "ctorch\n" + t.storage_type + "\n" + pickled_str("0") + pickled_str("cpu") +
            pickled_int(t.storage_numel) + (legacy ? "N" : "") + "tQ" + pickled_int(t.offset) +
            pickled_ints(t.sizes) + pickled_ints(t.strides) + "\x89}tR";
  }
  return text + "u.";
}

struct StoredStorage {
  std::string key = "0";
  int64_t count = 6;  // the element count written before the bytes
  std::string bytes = std::string(24, '\0');
};

// The legacy (torch <= 1.5) stream: magic, protocol 1001, sys_info, the object, the storage keys,
// then each storage's element count and bytes.
std::vector<uint8_t> legacy_file(const std::vector<TensorSpec>& tensors,
                                 const std::vector<StoredStorage>& storages = {StoredStorage{}},
                                 int64_t protocol = 1001) {
  std::string text(std::begin(io::kLegacyMagic), std::end(io::kLegacyMagic));
  text += "\x80\x02" + pickled_int(protocol) + ".\x80\x02}." + state_dict_pickle(tensors, true);
  text += "\x80\x02(";
  for (const StoredStorage& storage : storages) text += pickled_str(storage.key);
  text += "l.";
  for (const StoredStorage& storage : storages) {
    text += little_endian(uint64_t(storage.count), 8) + storage.bytes;
  }
  return {text.begin(), text.end()};
}

uint32_t crc32(const std::string& data) {
  uint32_t crc = 0xffffffff;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xedb88320 & (0 - (crc & 1)));
  }
  return ~crc;
}

// One record of a zip archive: stored as it is unless said otherwise.
struct ZipRecord {
  std::string name;
  std::string data;                   // the bytes in the archive
  uint16_t method = 0;                // 0 stored, 8 deflated (`data` is then a deflate stream)
  std::optional<std::string> inflated;  // what a deflated record inflates to (for its CRC)
  std::optional<uint32_t> size;       // the inflated size declared, if not the true one
  std::optional<uint32_t> crc;        // the CRC-32 declared, if not the true one
  std::optional<uint32_t> compressed_size;  // the size in the archive declared, if not data's
};

// A deflate stream of one stored block: `raw` as it is, behind a 5-byte block header.
std::string deflate_stored(const std::string& raw) {
  return "\x01" + little_endian(raw.size(), 2) + little_endian(~raw.size() & 0xffff, 2) + raw;
}

// A zip archive of the records; all of them stored is what torch.save (>= 1.6) writes.
std::vector<uint8_t> zip_file(const std::vector<ZipRecord>& records) {
  std::string local, central;
  for (const ZipRecord& record : records) {
    const std::string& name = record.name;
    const std::string& content = record.inflated.value_or(record.data);
    // version needed, flags, method, time and date, CRC, sizes, name length, extra length
    const std::string fields =
        little_endian(20, 2) + little_endian(0, 2) + little_endian(record.method, 2) +
        little_endian(0, 4) + little_endian(record.crc.value_or(crc32(content)), 4) +
        little_endian(record.compressed_size.value_or(record.data.size()), 4) +
        little_endian(record.size.value_or(content.size()), 4) +
        little_endian(name.size(), 2) + little_endian(0, 2);
    // version made by, the fields, comment length, disk, internal and external attributes, and
    // where the local header is
    central += "PK\x01\x02" + little_endian(20, 2) + fields + little_endian(0, 2) +
               little_endian(0, 2) + little_endian(0, 2) + little_endian(0, 4) +
               little_endian(local.size(), 4) + name;
    local += "PK\x03\x04" + fields + name + record.data;
  }
  const std::string end = "PK\x05\x06" + little_endian(0, 4) + little_endian(records.size(), 2) +
                          little_endian(records.size(), 2) + little_endian(central.size(), 4) +
                          little_endian(local.size(), 4) + little_endian(0, 2);
  const std::string text = local + central + end;
  return {text.begin(), text.end()};
}

// The refusal of `bytes` written to a file, checked to contain `fragment`.
void expect_refused(const std::vector<uint8_t>& bytes, const std::string& fragment) {
  ScratchDir scratch;
  const std::filesystem::path path = scratch.path() / "hostile.pt";
  write_bytes(path, bytes);
  const std::string message = refusal(path);
  EXPECT_NE(message.find(fragment), std::string::npos) << message;
}

// The hand-built files without a defect read, so each refusal below is its one defect's doing.
TEST(Checkpoint, ReadsHandBuiltLegacyAndZipFiles) {
  ScratchDir scratch;
  const std::filesystem::path legacy = scratch.path() / "legacy.pt";
  write_bytes(legacy, legacy_file({TensorSpec{}}));
  const std::filesystem::path zip = scratch.path() / "zip.pt";
  write_bytes(zip, zip_file({{"archive/data.pkl", state_dict_pickle({TensorSpec{}}, false)},
                             {"archive/data/0", std::string(24, '\0')}}));
  for (const auto& path : {legacy, zip}) {
    const io::Checkpoint checkpoint = io::read_checkpoint(path.string());
    ASSERT_EQ(checkpoint.tensors.size(), 1u);
    EXPECT_EQ(checkpoint.tensors[0].shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(checkpoint.tensors[0].values, std::vector<float>(6, 0.0f));
  }
}

TEST(Checkpoint, RefusesWrongMagicAndOlderContainers) {
  std::vector<uint8_t> tar(600, 0);
  std::memcpy(tar.data() + 257, "ustar", 5);
  expect_refused(tar, "tar-format torch checkpoints (torch < 0.4) are not supported");
  const std::string torchscript = "PYTORCH1" + std::string(100, '\0');
  expect_refused({torchscript.begin(), torchscript.end()}, "pre-1.0 TorchScript");
  expect_refused(legacy_file({TensorSpec{}}, {StoredStorage{}}, 1000),
                 "unsupported legacy torch protocol version");
  expect_refused(zip_file({{"weights.bin", "not torch"}}),
                 "zip archive without a <root>/data.pkl record (not a torch checkpoint)");
}

TEST(Checkpoint, RefusesNegativeAndOverflowingShapes) {
  expect_refused(legacy_file({{.sizes = {-1, 3}}}), "tensor 'w' has a negative dimension");
  // 2^32 cubed does not fit in 64 bits.
  expect_refused(legacy_file({{.sizes = {1ll << 32, 1ll << 32, 1ll << 32}, .strides = {0, 0, 0}}}),
                 "tensor 'w' has too many elements");
  // 2^62 floats overflow the byte count.
  expect_refused(legacy_file({{.storage_numel = 1ll << 62, .sizes = {1}, .strides = {1}}},
                             {{.count = 1ll << 62, .bytes = ""}}),
                 "storage '0' is too large");
}

TEST(Checkpoint, RefusesViewsOutsideTheirStorage) {
  expect_refused(legacy_file({{.offset = 5}}), "tensor 'w' reaches element 10 of its 6-element");
  expect_refused(legacy_file({{.offset = -1}}), "tensor 'w' has a negative storage offset");
  expect_refused(legacy_file({{.sizes = {2}, .strides = {-1}}}), "tensor 'w' has invalid strides");
  expect_refused(legacy_file({{.strides = {1}}}), "tensor size and stride ranks differ");
  // The last element's index, 2 * 2^62 + 2 * 2^62, overflows 64 bits.
  expect_refused(legacy_file({{.sizes = {3, 3}, .strides = {1ll << 62, 1ll << 62}}}),
                 "tensor 'w' has invalid strides");
}

TEST(Checkpoint, RefusesStoragesThatDisagreeWithTheirReferences) {
  expect_refused(legacy_file({TensorSpec{}}, {{.count = 5, .bytes = std::string(20, '\0')}}),
                 "storage '0' holds 5 elements, its references say 6");
  expect_refused(legacy_file({TensorSpec{}, {.name = "v", .storage_type = "HalfStorage"}}),
                 "storage '0' is referenced as 6 x float32 and as 6 x float16");
  expect_refused(legacy_file({TensorSpec{}}, {}), "storage '0' is missing from the file");
  expect_refused(
      legacy_file({TensorSpec{}}, {StoredStorage{}, {.key = "1", .count = 0, .bytes = ""}}),
      "storage '1' is listed but never used");
  const std::string pickle = state_dict_pickle({TensorSpec{}}, false);
  expect_refused(
      zip_file({{"archive/data.pkl", pickle}, {"archive/data/0", std::string(20, '\0')}}),
      "storage '0' holds 20 bytes, its 6 x float32 need 24");
  expect_refused(zip_file({{"archive/data.pkl", pickle}}),
                 "zip record 'archive/data/0' is missing");
  expect_refused(zip_file({{"archive/data.pkl", pickle},
                           {"archive/data/0", std::string(24, '\0')},
                           {"archive/byteorder", "big"}}),
                 "big-endian torch checkpoints are not supported");
  expect_refused(zip_file({{"a/data.pkl", pickle}, {"b/data.pkl", pickle}}),
                 "more than one <root>/data.pkl");
}

// The peak resident memory of this process so far (ctest runs every test in its own process).
uint64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return uint64_t(usage.ru_maxrss) * 1024;
}

// Records that claim to inflate to far more than they hold are refused from their declared size,
// and what inflates is read in chunks up to that size and never past it. Before, each of these
// allocated its declared gigabyte first (and the pickle cap did not exist).
TEST(HostileInput, DecompressionBombsAreRefusedFromTheirDeclaredSize) {
  const uint64_t peak_before = peak_rss_bytes();
  const std::string pickle = state_dict_pickle({TensorSpec{}}, false);
  const std::string storage(24, '\0');
  const std::string megabyte(1 << 20, '\0');  // 1 GiB / 1024: deflate could claim that ratio
  constexpr uint32_t kGiB = 1u << 30;
  expect_refused(zip_file({{"archive/data.pkl", megabyte, 8, std::nullopt, kGiB}}),
                 "zip record 'archive/data.pkl' inflates to 1073741824 bytes, more than the "
                 "67108864 a checkpoint's pickle can need");
  expect_refused(zip_file({{"archive/data.pkl", pickle},
                           {"archive/data/0", megabyte, 8, std::nullopt, kGiB}}),
                 "storage '0' holds 1073741824 bytes, its 6 x float32 need 24");
  // A storage the pickle says is 1 GiB, whose record agrees but holds no valid deflate stream.
  const std::string big_pickle =
      state_dict_pickle({{.storage_numel = kGiB / 4, .sizes = {2}, .strides = {1}}}, false);
  expect_refused(zip_file({{"archive/data.pkl", big_pickle},
                           {"archive/data/0", megabyte, 8, std::nullopt, kGiB}}),
                 "cannot read zip record 'archive/data/0'");
  // A view that repeats one element 2^30 times: 4 GiB of floats from a 4-byte storage.
  expect_refused(zip_file({{"archive/data.pkl",
                            state_dict_pickle({{.storage_numel = 1, .sizes = {kGiB}, .strides = {0}}},
                                              false)},
                           {"archive/data/0", std::string(4, '\0')}}),
                 "tensor 'w' repeats elements: 1073741824 of them from a 1-element storage");
  EXPECT_LT(peak_rss_bytes() - peak_before, uint64_t(128) << 20);

  // A deflated pickle inflates to exactly its declared size, or it is refused.
  const std::vector<ZipRecord> deflated{{"archive/data.pkl", deflate_stored(pickle), 8, pickle},
                                        {"archive/data/0", deflate_stored(storage), 8, storage}};
  ScratchDir scratch;
  write_bytes(scratch.path() / "deflated.pt", zip_file(deflated));
  EXPECT_EQ(io::read_checkpoint((scratch.path() / "deflated.pt").string()).tensors[0].values,
            std::vector<float>(6, 0.0f));
  expect_refused(zip_file({{"archive/data.pkl", deflate_stored(pickle + "junk"), 8,
                            pickle + "junk", uint32_t(pickle.size())},
                           {"archive/data/0", storage}}),
                 "zip record 'archive/data.pkl': it inflates to more than its declared size");
  // Reading to the end checks the CRC, which the exact-size read never reached.
  expect_refused(zip_file({{"archive/data.pkl", pickle, 0, std::nullopt, std::nullopt, 1234},
                           {"archive/data/0", storage}}),
                 "cannot read zip record 'archive/data.pkl': CRC error");
  // A stored record larger than the whole file (libzip's consistency check finds it).
  expect_refused(zip_file({{"archive/data.pkl", pickle},
                           {"archive/data/0", storage, 0, std::nullopt, kGiB, std::nullopt, kGiB}}),
                 "not a readable zip archive");
}

TEST(Checkpoint, ReadsEveryFixtureExactly) {
  const json expected = load_expected();
  ASSERT_FALSE(expected.value("checkpoints", json::array()).empty());
  for (const json& fixture : expected["checkpoints"]) {
    const std::string file = fixture["file"];
    SCOPED_TRACE(file);
    const io::Checkpoint checkpoint =
        io::read_checkpoint((checkpoint_fixture_dir() / file).string());
    EXPECT_EQ(checkpoint.format, fixture["format"].get<std::string>());
    EXPECT_EQ(
        checkpoint.metadata,
        (fixture.value("metadata", json::object()).get<std::map<std::string, std::string>>()));
    const json& tensors = fixture["tensors"];
    ASSERT_EQ(checkpoint.tensors.size(), tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
      const io::NamedTensor& actual = checkpoint.tensors[i];
      SCOPED_TRACE(actual.name);
      EXPECT_EQ(actual.name, tensors[i]["name"].get<std::string>());
      EXPECT_EQ(actual.shape, tensors[i]["shape"].get<std::vector<int64_t>>());
      EXPECT_EQ(actual.source_dtype, tensors[i]["dtype"].get<std::string>());
      std::vector<float> values;
      for (const json& v : tensors[i]["values"]) values.push_back(float(v.get<double>()));
      EXPECT_EQ(actual.values, values);
    }
  }
}

TEST(Checkpoint, RefusesForbiddenGlobals) {
  const json expected = load_expected();
  ASSERT_FALSE(expected.value("refused", json::array()).empty());
  for (const json& fixture : expected["refused"]) {
    const std::string message =
        refusal(checkpoint_fixture_dir() / fixture["file"].get<std::string>());
    EXPECT_NE(message.find("forbidden pickle global '" +
                           fixture["error_contains"].get<std::string>() + "'"),
              std::string::npos)
        << message;
  }
}

TEST(Checkpoint, RefusesTruncatedCopies) {
  ScratchDir scratch;
  const std::vector<std::filesystem::path> files = all_fixture_files();
  ASSERT_FALSE(files.empty());
  for (const std::filesystem::path& file : files) {
    const std::vector<uint8_t> bytes = read_bytes(file);
    ASSERT_FALSE(bytes.empty()) << file;
    // Every length near both ends, and a spread in between.
    std::vector<size_t> lengths;
    for (size_t n = 0; n < bytes.size(); n += std::max<size_t>(1, bytes.size() / 150))
      lengths.push_back(n);
    for (size_t cut = 1; cut <= std::min<size_t>(64, bytes.size()); ++cut)
      lengths.push_back(bytes.size() - cut);
    for (size_t length : lengths) {
      const std::filesystem::path copy = scratch.path() / file.filename();
      write_bytes(copy, {bytes.begin(), bytes.begin() + ptrdiff_t(length)});
      SCOPED_TRACE(copy.string() + " cut to " + std::to_string(length) + " bytes");
      refusal(copy);
    }
  }
}

// Random byte changes may leave a readable file, but must never crash or throw anything but
// vkseg::Error.
TEST(Checkpoint, SurvivesCorruptedBytes) {
  ScratchDir scratch;
  std::mt19937 rng(1234);
  for (const std::filesystem::path& file : all_fixture_files()) {
    const std::vector<uint8_t> original = read_bytes(file);
    const std::filesystem::path copy = scratch.path() / file.filename();
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<uint8_t> bytes = original;
      const int changes = 1 + int(rng() % 4);
      for (int c = 0; c < changes; ++c) bytes[rng() % bytes.size()] = uint8_t(rng());
      write_bytes(copy, bytes);
      try {
        io::read_checkpoint(copy.string());
      } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
      } catch (const std::exception& e) {
        ADD_FAILURE() << file.filename() << " trial " << trial << ": " << e.what();
      }
    }
  }
}

TEST(Checkpoint, DetectsFormatByContentNotExtension) {
  ScratchDir scratch;
  const std::filesystem::path text = scratch.path() / "weights.pt";
  write_bytes(text, {'h', 'e', 'l', 'l', 'o', '\n'});
  EXPECT_NE(refusal(text).find("not a torch zip, legacy torch or safetensors"), std::string::npos);

  const std::filesystem::path dir = checkpoint_fixture_dir();
  ASSERT_FALSE(dir.empty());
  const std::filesystem::path renamed = scratch.path() / "weights.safetensors";
  std::filesystem::copy_file(dir / "state_dict_legacy.pt", renamed);
  EXPECT_EQ(io::read_checkpoint(renamed.string()).format, "torch-legacy");
}

TEST(Checkpoint, MissingFileNamesThePath) {
  ScratchDir scratch;
  EXPECT_NE(refusal(scratch.path() / "absent.pt").find("cannot open"), std::string::npos);
  EXPECT_NE(refusal(scratch.path()).find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace vkseg::test
