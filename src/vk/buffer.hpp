#pragma once
#include <vulkan/vulkan.h>

#include <atomic>
#include <cstddef>

#include "vkseg/context.hpp"

namespace vkseg::vk {

// A range of a VkBuffer, as shaders bind it.
struct BufferView {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize size = 0;
};

enum class MemoryUse {
  Device,    // shader storage; host-visible on unified-memory devices unless force_staging
  Upload,    // host-visible staging for host -> device
  Readback,  // host-visible, host-cached where possible, for device -> host
};

// One VkBuffer with its own memory. Move-only.
class Buffer {
 public:
  Buffer() = default;
  Buffer(Context& context, VkDeviceSize bytes, MemoryUse use = MemoryUse::Device);
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  VkBuffer handle() const { return buffer_; }
  VkDeviceSize size() const { return size_; }
  // Host pointer to the contents, or nullptr where the memory is not host-visible.
  void* mapped() const { return mapped_; }
  bool coherent() const { return coherent_; }
  // Makes device writes visible to mapped() on non-coherent memory.
  void invalidate() const;
  BufferView view() const { return {buffer_, 0, size_}; }
  BufferView view(VkDeviceSize offset, VkDeviceSize bytes) const;

 private:
  void release();
  VkDevice device_ = VK_NULL_HANDLE;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  VkDeviceSize size_ = 0;
  VkDeviceSize allocated_ = 0;
  std::atomic<uint64_t>* allocated_counter_ = nullptr;
  const std::atomic<bool>* hung_ = nullptr;  // the context's: set, release() leaks
  void* mapped_ = nullptr;
  bool coherent_ = true;
};

// Copies host bytes into a buffer range: directly where the buffer is mapped, else through a
// staging buffer and a transfer on the context's queue. Waits for completion.
void upload(Context& context, const Buffer& dst, VkDeviceSize offset, const void* src,
            size_t bytes);
// Copies a buffer range to host memory (through host-cached staging memory where needed).
void download(Context& context, const Buffer& src, VkDeviceSize offset, void* dst, size_t bytes);

}  // namespace vkseg::vk
