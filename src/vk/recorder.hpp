#pragma once
#include <vulkan/vulkan.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "vk/buffer.hpp"
#include "vk/pipeline.hpp"
#include "vkseg/context.hpp"

namespace vkseg::vk {

enum class Access { Read, Write, ReadWrite };

struct Binding {
  BufferView view;
  Access access = Access::Read;
  // Set for a uniform texel buffer binding (read as texels of this format), else a storage
  // buffer.
  VkFormat texel_format = VK_FORMAT_UNDEFINED;
};

// Bytes per texel of the texel-buffer formats vkseg binds.
uint32_t texel_bytes(VkFormat format);

struct DispatchTime {
  std::string scope;  // what set_scope() named when the dispatch was recorded (e.g. a layer)
  std::string label;  // the dispatch's own label (e.g. its op)
  double milliseconds = 0.0;
};

// A wait or signal of a submission (Session::submit): binary semaphores take value 0.
struct SemaphoreOp {
  VkSemaphore semaphore = VK_NULL_HANDLE;
  uint64_t value = 0;
  VkPipelineStageFlags stages = 0;  // waits only
};

// Records dispatches into one command buffer that can be submitted any number of times.
// A barrier is inserted only where a dispatch reads or overwrites a range an earlier dispatch
// (or copy) wrote, or writes a range an earlier one still reads; independent work runs unordered.
// A secondary recorder's commands end without a barrier: the primary that executes them
// (Session::record) orders them against what comes before and after.
class Recorder {
 public:
  enum class Level { Primary, Secondary };
  // timestamp_capacity > 0 times that many dispatches with timestamp queries (devices with
  // timestamps only; see DeviceInfo::timestamps; primary recorders only).
  explicit Recorder(Context& context, uint32_t timestamp_capacity = 0,
                    Level level = Level::Primary);
  ~Recorder();
  // Safe to use from one thread while other Recorders of the same Context run on others.
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  void begin();
  void dispatch(const Pipeline& pipeline, std::initializer_list<Binding> bindings,
                const void* push, uint32_t push_bytes, uint32_t groups_x, uint32_t groups_y = 1,
                uint32_t groups_z = 1, std::string label = {});
  void copy(BufferView src, BufferView dst);
  // Sets every 32-bit word of `dst` (offset and size multiples of 4) to `value`.
  void fill(BufferView dst, uint32_t value);
  // Names the dispatches recorded from now on in timings() (a graph runner passes layer names).
  void set_scope(std::string scope) { scope_ = std::move(scope); }
  void end();
  // Runs the recorded commands and waits for them.
  void submit();
  // Submits the recorded commands after `waits` and signalling `signals`, without waiting; a
  // submission still running is waited for first. Returns the submission's serial number.
  uint64_t submit_async(const std::vector<SemaphoreOp>& waits,
                        const std::vector<SemaphoreOp>& signals);
  // Whether submission `serial` has finished (never blocks), and waiting for it (the context's
  // GPU timeout applies).
  bool finished(uint64_t serial);
  void wait(uint64_t serial);
  VkCommandBuffer command_buffer() const { return cmd_; }

  uint32_t dispatch_count() const { return dispatch_count_; }
  uint32_t barrier_count() const { return barrier_count_; }
  // Per-dispatch GPU time of the last submit, in recording order (empty without timestamps).
  std::vector<DispatchTime> timings() const;

 private:
  struct Range {
    VkBuffer buffer;
    VkDeviceSize begin, end;
  };
  void release();
  static bool overlaps(const std::vector<Range>& ranges, const Range& r);
  // Inserts a barrier if the accesses conflict with pending ones, then records them as pending.
  void track(const std::vector<std::pair<Range, bool>>& accesses);
  // A view of a texel binding, destroyed with the recorded commands.
  VkBufferView texel_view(const Pipeline& pipeline, const Binding& binding);
  VkDescriptorSet allocate_set(VkDescriptorSetLayout layout, uint32_t binding_count);

  Context& context_;
  VkCommandPool pool_ = VK_NULL_HANDLE;  // its own, so recorders on other threads never contend
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  VkQueryPool queries_ = VK_NULL_HANDLE;
  uint32_t timestamp_capacity_ = 0;
  std::vector<VkDescriptorPool> pools_;
  std::vector<VkBufferView> texel_views_;  // of the recorded commands
  uint32_t pools_used_ = 0;
  std::vector<Range> pending_writes_;
  std::vector<Range> pending_reads_;
  std::vector<std::pair<std::string, std::string>> labels_;  // (scope, label) per timed dispatch
  std::string scope_;
  Level level_ = Level::Primary;
  uint64_t submitted_ = 0, completed_ = 0;  // serials of the last submission and the last one seen done
  uint32_t dispatch_count_ = 0;
  uint32_t barrier_count_ = 0;
  bool recording_ = false;
  bool recorded_ = false;
};

}  // namespace vkseg::vk
