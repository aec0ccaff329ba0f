#pragma once
// The two torch.save layouts (fcn.md §5.2 zip, §5.5 legacy stream): each yields the object pickle
// and the raw bytes of the storages it references.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "io/pickle.hpp"

namespace vkseg::io {

class StorageSource {
 public:
  virtual ~StorageSource() = default;
  // The bytes of `storage`, checked to hold exactly storage.numel elements of storage.dtype.
  // Throws Error if the file lacks them or they disagree with an earlier reference.
  virtual std::span<const uint8_t> bytes(const TorchStorage& storage) = 0;
};

struct TorchFile {
  PickleRef object;
  std::unique_ptr<StorageSource> storages;
};

// The first bytes of every legacy-format file: a protocol-2 pickle of the magic number.
inline constexpr uint8_t kLegacyMagic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                           0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};

// Errors come without the path; read_checkpoint adds it.
TorchFile open_torch_zip(const std::string& path);
TorchFile open_torch_legacy(std::vector<uint8_t> file);

}  // namespace vkseg::io
