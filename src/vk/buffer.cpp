#include "vk/buffer.hpp"

#include <fmt/format.h>

#include <cstring>
#include <utility>

#include "vk/check.hpp"
#include "vk/context_state.hpp"

namespace vkseg::vk {

namespace {

std::string human_bytes(VkDeviceSize bytes) {
  if (bytes >= (VkDeviceSize(1) << 30)) return fmt::format("{:.2f} GiB", double(bytes) / (1 << 30));
  if (bytes >= (VkDeviceSize(1) << 20)) return fmt::format("{:.1f} MiB", double(bytes) / (1 << 20));
  return fmt::format("{} bytes", bytes);
}

}  // namespace

Buffer::Buffer(Context& context, VkDeviceSize bytes, MemoryUse use) {
  ContextState& s = vk::state(context);
  device_ = s.device;
  // Vulkan forbids empty buffers; storage access works in 4-byte words.
  size_ = std::max<VkDeviceSize>(4, (bytes + 3) & ~VkDeviceSize(3));
  if (s.info.max_allocation_bytes && size_ > s.info.max_allocation_bytes) {
    throw VulkanError(fmt::format("a buffer of {} exceeds the device's largest allocation ({}); "
                                  "try a smaller input size or batch",
                                  human_bytes(size_), human_bytes(s.info.max_allocation_bytes)),
                      int(VK_ERROR_OUT_OF_DEVICE_MEMORY));
  }

  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = size_;
  info.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  if (use == MemoryUse::Device) {
    info.usage |= VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT;
  }
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check(vkCreateBuffer(device_, &info, nullptr, &buffer_), "vkCreateBuffer");

  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(device_, buffer_, &req);
  constexpr VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
  constexpr VkMemoryPropertyFlags coherent = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  constexpr VkMemoryPropertyFlags local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  int type = -1;
  switch (use) {
    case MemoryUse::Device:
      if (s.info.unified_memory && !s.force_staging) {
        type = s.find_memory_type(req.memoryTypeBits, local | host, coherent);
      }
      if (s.force_staging) {
        // Prefer memory the host cannot see, so the staging path really is taken.
        for (uint32_t t = 0; t < s.memory.memoryTypeCount && type < 0; ++t) {
          const auto flags = s.memory.memoryTypes[t].propertyFlags;
          if ((req.memoryTypeBits & (1u << t)) && (flags & local) && !(flags & host)) type = int(t);
        }
      }
      if (type < 0) type = s.find_memory_type(req.memoryTypeBits, local, 0);
      if (type < 0) type = s.find_memory_type(req.memoryTypeBits, 0, 0);
      break;
    case MemoryUse::Upload:
      type = s.find_memory_type(req.memoryTypeBits, host | coherent, 0);
      break;
    case MemoryUse::Readback:
      type = s.find_memory_type(req.memoryTypeBits, host, VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
      break;
  }
  if (type < 0) {
    release();
    throw Error("the device offers no memory type usable for this buffer");
  }

  VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  alloc.allocationSize = req.size;
  alloc.memoryTypeIndex = uint32_t(type);
  VkResult r = s.injected(false, req.size);
  if (r == VK_SUCCESS) r = vkAllocateMemory(device_, &alloc, nullptr, &memory_);
  if (r != VK_SUCCESS) {
    release();
    throw_vulkan_error(fmt::format("allocating {} of device memory", human_bytes(req.size)), r);
  }
  allocated_ = req.size;
  allocated_counter_ = &s.allocated_bytes;
  hung_ = &s.hung;
  const uint64_t now = s.allocated_bytes += allocated_;
  uint64_t peak = s.peak_allocated_bytes;
  while (now > peak && !s.peak_allocated_bytes.compare_exchange_weak(peak, now)) {
  }
  r = vkBindBufferMemory(device_, buffer_, memory_, 0);
  if (r != VK_SUCCESS) {
    release();
    throw_vulkan_error("vkBindBufferMemory", r);
  }
  const VkMemoryPropertyFlags flags = s.memory.memoryTypes[type].propertyFlags;
  coherent_ = flags & coherent;
  // Device buffers are mapped only where coherent, so direct copies need no flush; readback
  // memory may be cached and non-coherent (faster to read) and is invalidated after each copy.
  const bool map = (flags & host) && (use == MemoryUse::Readback ||
                                      (coherent_ && !(use == MemoryUse::Device && s.force_staging)));
  if (map) {
    r = vkMapMemory(device_, memory_, 0, VK_WHOLE_SIZE, 0, &mapped_);
    if (r != VK_SUCCESS) {
      release();
      throw_vulkan_error("vkMapMemory", r);
    }
  }
}

Buffer::~Buffer() { release(); }

Buffer::Buffer(Buffer&& other) noexcept { *this = std::move(other); }

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    release();
    device_ = std::exchange(other.device_, VK_NULL_HANDLE);
    buffer_ = std::exchange(other.buffer_, VK_NULL_HANDLE);
    memory_ = std::exchange(other.memory_, VK_NULL_HANDLE);
    size_ = std::exchange(other.size_, 0);
    allocated_ = std::exchange(other.allocated_, 0);
    allocated_counter_ = std::exchange(other.allocated_counter_, nullptr);
    hung_ = std::exchange(other.hung_, nullptr);
    mapped_ = std::exchange(other.mapped_, nullptr);
    coherent_ = other.coherent_;
  }
  return *this;
}

void Buffer::invalidate() const {
  if (coherent_ || !mapped_) return;
  VkMappedMemoryRange range{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE};
  range.memory = memory_;
  range.size = VK_WHOLE_SIZE;
  check(vkInvalidateMappedMemoryRanges(device_, 1, &range), "vkInvalidateMappedMemoryRanges");
}

void Buffer::release() {
  if (!device_) return;
  // After a hang the device may still write this memory: leak it rather than free it.
  if (!(hung_ && *hung_)) {
    if (mapped_) vkUnmapMemory(device_, memory_);
    if (buffer_) vkDestroyBuffer(device_, buffer_, nullptr);
    if (memory_) vkFreeMemory(device_, memory_, nullptr);
  }
  if (allocated_counter_) *allocated_counter_ -= allocated_;
  allocated_ = 0;
  allocated_counter_ = nullptr;
  mapped_ = nullptr;
  buffer_ = VK_NULL_HANDLE;
  memory_ = VK_NULL_HANDLE;
}

BufferView Buffer::view(VkDeviceSize offset, VkDeviceSize bytes) const {
  if (offset > size_ || bytes > size_ - offset) {
    throw Error(fmt::format("internal error: view [{}, +{}) outside a buffer of {} bytes", offset,
                            bytes, size_));
  }
  return {buffer_, offset, bytes};
}

namespace {

void check_range(const Buffer& buffer, VkDeviceSize offset, size_t bytes) {
  if (offset > buffer.size() || bytes > buffer.size() - offset) {
    throw Error(fmt::format("internal error: copy of {} bytes at {} outside a buffer of {} bytes",
                            bytes, offset, buffer.size()));
  }
}

void copy_region(VkCommandBuffer cmd, VkBuffer src, VkDeviceSize src_offset, VkBuffer dst,
                 VkDeviceSize dst_offset, VkDeviceSize bytes) {
  // Make earlier shader writes visible to the copy and the copy visible to later work.
  VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &barrier, 0, nullptr, 0, nullptr);
  VkBufferCopy region{src_offset, dst_offset, bytes};
  vkCmdCopyBuffer(cmd, src, dst, 1, &region);
  barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_SHADER_READ_BIT |
                          VK_ACCESS_SHADER_WRITE_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1,
                       &barrier, 0, nullptr, 0, nullptr);
}

}  // namespace

void upload(Context& context, const Buffer& dst, VkDeviceSize offset, const void* src,
            size_t bytes) {
  check_range(dst, offset, bytes);
  if (bytes == 0) return;
  if (dst.mapped()) {
    std::memcpy(static_cast<char*>(dst.mapped()) + offset, src, bytes);
    return;
  }
  Buffer staging(context, bytes, MemoryUse::Upload);
  std::memcpy(staging.mapped(), src, bytes);
  vk::state(context).submit_once([&](VkCommandBuffer cmd) {
    copy_region(cmd, staging.handle(), 0, dst.handle(), offset, bytes);
  });
}

void download(Context& context, const Buffer& src, VkDeviceSize offset, void* dst, size_t bytes) {
  check_range(src, offset, bytes);
  if (bytes == 0) return;
  if (src.mapped()) {
    std::memcpy(dst, static_cast<const char*>(src.mapped()) + offset, bytes);
    return;
  }
  Buffer staging(context, bytes, MemoryUse::Readback);
  vk::state(context).submit_once([&](VkCommandBuffer cmd) {
    copy_region(cmd, src.handle(), offset, staging.handle(), 0, bytes);
  });
  staging.invalidate();
  std::memcpy(dst, staging.mapped(), bytes);
}

}  // namespace vkseg::vk
