#pragma once
#include <vulkan/vulkan.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vkseg {

// What vkseg knows about a physical device; printed by `vkseg devices`.
struct DeviceInfo {
  uint32_t index = 0;  // position in the Vulkan enumeration order (what --device takes)
  std::string name;
  std::string type;  // "discrete GPU", "integrated GPU", "virtual GPU", "CPU", "other"
  uint32_t vendor_id = 0;
  uint32_t device_id = 0;
  uint32_t api_version = 0;
  std::string driver_name;
  std::string driver_info;

  bool fp16_storage = false;     // storageBuffer16BitAccess
  bool fp16_arithmetic = false;  // shaderFloat16
  bool int8_arithmetic = false;  // shaderInt8
  uint32_t subgroup_size = 0;
  uint32_t min_subgroup_size = 0;
  uint32_t max_subgroup_size = 0;
  bool subgroup_size_control = false;
  uint32_t max_shared_memory_bytes = 0;
  uint32_t max_workgroup_invocations = 0;
  uint32_t max_workgroup_count[3] = {0, 0, 0};
  uint32_t max_push_constant_bytes = 0;
  uint64_t max_storage_buffer_range = 0;
  uint64_t max_allocation_bytes = 0;
  uint64_t min_storage_buffer_offset_alignment = 0;
  uint64_t max_texel_buffer_elements = 0;
  uint64_t min_texel_buffer_offset_alignment = 0;
  uint64_t device_local_bytes = 0;
  bool unified_memory = false;  // a device-local memory type is also host-visible
  bool timestamps = false;      // compute queue writes timestamps
  double timestamp_period_ns = 0.0;
  bool push_descriptors = false;     // VK_KHR_push_descriptor
  bool cooperative_matrix = false;   // VK_KHR_cooperative_matrix
  bool cooperative_matrix_nv = false;  // VK_NV_cooperative_matrix
};

std::string api_version_string(uint32_t version);

// How a Context chooses and sets up its device.
struct ContextOptions {
  // Index into the enumeration order; when empty, VKSEG_DEVICE is read, and without it the first
  // discrete GPU, then integrated, then virtual, then CPU device is chosen.
  std::optional<uint32_t> device_index;
  // Enable VK_LAYER_KHRONOS_validation with synchronization validation (also VKSEG_VALIDATION=1).
  bool validation = false;
  // Called with every validation warning or error; by default they go to stderr.
  std::function<void(const std::string&)> on_validation_message;
  // Directory of the on-disk pipeline cache (loaded at start, saved at destruction), so later
  // processes skip shader compilation; empty: no disk cache. vkseg::default_cache_dir() gives
  // VKSEG_CACHE_DIR, $XDG_CACHE_HOME/vkseg or ~/.cache/vkseg (what the CLI uses).
  std::string cache_dir;
  // Choose each convolution's shader by timing every variant that can run it (on a small proxy
  // input, once per device, driver and layer shape) instead of by rule. Results are kept in
  // cache_dir (conv2d-tuning-*.json) when it is set, so later processes skip the timing. The CLI
  // turns this on; off, the built-in rules choose.
  bool autotune = false;
  // With autotune: time every layer again, replacing what the cache holds (`vkseg tune`).
  bool retune = false;
  // Keep activations in device-local memory reached through staging copies even on devices whose
  // device-local memory is host-visible (tests use it to cover both paths on lavapipe).
  bool force_staging = false;
  // How long a submission may run before it counts as hung and is reported (VulkanError, code
  // VK_TIMEOUT) instead of waited for forever; 0: VKSEG_GPU_TIMEOUT (seconds), else 600 s. After
  // a timeout the context is unusable, and it leaks (never frees) what the device may still be
  // using.
  double gpu_timeout_seconds = 0;
};

// Handles of a device an application already owns. vkseg uses them and never destroys them.
struct ExternalDevice {
  VkInstance instance = VK_NULL_HANDLE;
  VkPhysicalDevice physical_device = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;  // must support compute
  uint32_t queue_family_index = 0;
  // Extensions the application enabled on the device (vkseg uses VK_KHR_push_descriptor if listed).
  std::vector<std::string> enabled_device_extensions;
  // The features the application enabled: the chain it passed as VkDeviceCreateInfo::pNext
  // (VkPhysicalDeviceFeatures2 and/or VkPhysicalDeviceVulkan11Features, ...Vulkan12Features,
  // ...16BitStorageFeatures, ...ShaderFloat16Int8Features, ...TimelineSemaphoreFeatures), read
  // during adopt() only. vkseg uses storageBuffer16BitAccess (fp16 networks), shaderFloat16 and
  // shaderInt8 where enabled here; a feature it cannot see is assumed off.
  const void* enabled_features = nullptr;
  // Where the application submits to `queue` from other threads too: a mutex vkseg locks around
  // each of its own submissions (VkQueue is externally synchronized). Without it, the application
  // must not use the queue while a vkseg call that submits is running.
  std::mutex* queue_mutex = nullptr;
};

// How one convolution shape's shader was chosen by autotuning (Context::tuning_records()).
struct TuningRecord {
  std::string layer;    // channels, kernel, stride, padding, dilation, groups, precision
  std::string variant;  // the shader variant chosen
  bool from_cache = false;  // taken from the cache file, not timed by this context
  std::string proxy;        // the input it was timed on (N x C x H x W)
  // Each variant timed, best of its runs in milliseconds (infinity: gave up after one run, over
  // three times the best so far).
  std::vector<std::pair<std::string, double>> milliseconds;
  // The built-in rules' choice, timed first: it stands unless another variant is
  // tuning_rule_margin times faster (empty for a choice from the cache).
  std::string rule;
};
// Timings drift by 10% on a CPU device, and a proxy with fewer output channels than the layer
// can flatter a variant: the rules' choice gives way only to one this much faster.
inline constexpr double tuning_rule_margin = 1.25;

namespace vk {
class ContextState;
}
namespace detail {
struct ContextAccess;  // vkseg's own code reaches the state through it; not part of the API
}

// A Vulkan device and compute queue, owned or adopted, with the state vkseg keeps per device
// (pipeline cache, pipelines, command pool). One Context may serve many sessions, also from
// several threads: vkseg serialises its own queue submissions and pipeline creation. With an
// adopted device, the application must not use the same VkQueue while a vkseg call runs.
class Context {
 public:
  explicit Context(const ContextOptions& options = {});
  static std::unique_ptr<Context> adopt(const ExternalDevice& external,
                                        const ContextOptions& options = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const DeviceInfo& info() const;
  VkInstance instance() const;
  VkPhysicalDevice physical_device() const;
  VkDevice device() const;
  VkQueue queue() const;
  uint32_t queue_family_index() const;
  bool owns_device() const;

  // Every convolution shape autotuning chose a shader for in this context, in order, once each.
  std::vector<TuningRecord> tuning_records() const;

  // Validation warnings and errors seen so far (0 when validation is off).
  uint64_t validation_message_count() const;

  // Device memory vkseg's buffers hold now, and the most they held since reset_peak_memory().
  uint64_t allocated_device_bytes() const;
  uint64_t peak_device_bytes() const;
  void reset_peak_memory();

 private:
  friend struct detail::ContextAccess;
  struct Adopt {};
  Context(Adopt, const ExternalDevice& external, const ContextOptions& options);
  std::unique_ptr<vk::ContextState> state_;
};

std::string default_cache_dir();

// Every physical device the Vulkan loader reports, in enumeration order.
std::vector<DeviceInfo> list_devices();

}  // namespace vkseg
