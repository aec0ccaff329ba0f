#pragma once
#include <vulkan/vulkan.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vkseg/context.hpp"
#include "vk/pipeline.hpp"

namespace vkseg::vk {

// Everything a Context holds. Internal code reaches it through Context::state().
class ContextState {
 public:
  ~ContextState();

  VkInstance instance = VK_NULL_HANDLE;
  VkPhysicalDevice physical_device = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t queue_family = 0;
  bool owns_instance = false;
  bool owns_device = false;
  bool force_staging = false;
  DeviceInfo info;
  VkPhysicalDeviceMemoryProperties memory{};

  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  std::function<void(const std::string&)> on_validation_message;
  std::atomic<uint64_t> validation_messages{0};
  // Bytes of device memory vkseg holds now and at most since the last reset (benchmarks).
  std::atomic<uint64_t> allocated_bytes{0};
  std::atomic<uint64_t> peak_allocated_bytes{0};

  PFN_vkCmdPushDescriptorSetKHR push_descriptor_fn = nullptr;
  VkPipelineCache pipeline_cache = VK_NULL_HANDLE;  // internally synchronized by Vulkan
  std::string pipeline_cache_file;  // where it is saved at destruction; empty: nowhere
  // Convolution autotuning (ops/conv2d_tuner): on or off, where results live on disk (empty:
  // nowhere), and the results so far (layer key -> variant name), guarded by tuning_mutex.
  bool autotune = false;
  bool retune = false;  // cached choices are timed again (each key once per context)
  std::string tuning_file;
  std::map<std::string, std::string> tuned;
  std::map<std::string, nlohmann::json> tuned_detail;  // how each choice was measured, for the file
  std::vector<TuningRecord> tuning_records;
  bool tuning_loaded = false;
  std::mutex tuning_mutex;
  // For submit_once() only, guarded by one_shot_mutex; every Recorder owns its own pool, so
  // threads can record at the same time.
  VkCommandPool command_pool = VK_NULL_HANDLE;
  std::mutex one_shot_mutex;
  // VkQueue is externally synchronized: every submission takes this lock, the context's own or
  // the one an adopting application shares (ExternalDevice::queue_mutex).
  std::mutex own_queue_mutex;
  std::mutex* queue_mutex = &own_queue_mutex;
  // Whether timeline semaphores may be waited on and signalled (Session::submit).
  bool timeline_semaphores = false;
  // Submissions wait at most this long; one that times out marks the context hung, after which
  // nothing is submitted and nothing the device may still use is destroyed or freed.
  uint64_t gpu_timeout_ns = 0;
  std::atomic<bool> hung{false};
  // Throws the hang error once the context is hung.
  void require_not_hung() const;
  // Waits for `fence` up to gpu_timeout_ns; a timeout marks the context hung and throws.
  void wait(VkFence fence);

  // A fault to simulate, for tests of the error paths (VKSEG_INJECT_FAULT): device_lost makes
  // queue submissions fail, out_of_device_memory makes allocations over 1 MiB fail.
  VkResult injected_fault = VK_SUCCESS;
  // The result a submission or allocation of `bytes` should fail with, or VK_SUCCESS.
  VkResult injected(bool submission, uint64_t bytes = 0) const;

  // Pipelines are created once per (shader, specialization, layout) and live as long as the context.
  const Pipeline& pipeline(const PipelineKey& key);

  // Records with `record`, submits to the queue and waits (used for staging copies).
  template <typename F>
  void submit_once(F&& record);
  void submit_and_wait(VkCommandBuffer cmd);

  // Index of a memory type with all `required` flags, preferring `preferred` ones too.
  int find_memory_type(uint32_t type_bits, VkMemoryPropertyFlags required,
                       VkMemoryPropertyFlags preferred) const;

 private:
  std::mutex pipelines_mutex_;
  std::map<PipelineKey, std::unique_ptr<Pipeline>> pipelines_;
  VkCommandBuffer allocate_command_buffer();
  void free_command_buffer(VkCommandBuffer cmd);
};

template <typename F>
void ContextState::submit_once(F&& record) {
  std::lock_guard lock(one_shot_mutex);
  VkCommandBuffer cmd = allocate_command_buffer();
  try {
    VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    vkBeginCommandBuffer(cmd, &begin);
    record(cmd);
    vkEndCommandBuffer(cmd);
    submit_and_wait(cmd);
  } catch (...) {
    free_command_buffer(cmd);
    throw;
  }
  free_command_buffer(cmd);
}

}  // namespace vkseg::vk

namespace vkseg::detail {

struct ContextAccess {
  static vk::ContextState& state(Context& context) { return *context.state_; }
};

}  // namespace vkseg::detail

namespace vkseg::vk {

// The state of `context`, for vkseg's own code.
inline ContextState& state(Context& context) { return detail::ContextAccess::state(context); }

}  // namespace vkseg::vk
