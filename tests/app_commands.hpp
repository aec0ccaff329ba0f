#pragma once
// What an application keeps to record and submit its own work on a queue, for the tests that
// act as a Vulkan application around vkseg.
#include <gtest/gtest.h>
#include <vulkan/vulkan.h>

namespace vkseg::test {

inline void expect_ok(VkResult r, const char* what) { ASSERT_EQ(r, VK_SUCCESS) << what; }

// What an application keeps to record and submit its own work on a queue.
class AppCommands {
 public:
  AppCommands(VkDevice device, VkQueue queue, uint32_t family) : device_(device), queue_(queue) {
    VkCommandPoolCreateInfo pool{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pool.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pool.queueFamilyIndex = family;
    expect_ok(vkCreateCommandPool(device, &pool, nullptr, &pool_), "vkCreateCommandPool");
    VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    alloc.commandPool = pool_;
    alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    alloc.commandBufferCount = 1;
    expect_ok(vkAllocateCommandBuffers(device, &alloc, &cmd), "vkAllocateCommandBuffers");
    VkFenceCreateInfo fence{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    expect_ok(vkCreateFence(device, &fence, nullptr, &fence_), "vkCreateFence");
  }
  ~AppCommands() {
    vkDestroyFence(device_, fence_, nullptr);
    vkDestroyCommandPool(device_, pool_, nullptr);
  }
  void begin() {
    VkCommandBufferBeginInfo info{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    info.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    expect_ok(vkBeginCommandBuffer(cmd, &info), "vkBeginCommandBuffer");
  }
  void end_submit_and_wait() {
    expect_ok(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
    VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &cmd;
    expect_ok(vkQueueSubmit(queue_, 1, &submit, fence_), "vkQueueSubmit");
    expect_ok(vkWaitForFences(device_, 1, &fence_, VK_TRUE, 60'000'000'000ull), "vkWaitForFences");
    expect_ok(vkResetFences(device_, 1, &fence_), "vkResetFences");
  }
  VkCommandBuffer cmd = VK_NULL_HANDLE;

 private:
  VkDevice device_;
  VkQueue queue_;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
};

}  // namespace vkseg::test
