#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include "vkseg/context.hpp"
#include "vkseg/precision.hpp"

namespace vkseg {

// vkseg's own state behind each class, and how its code reaches it; not part of the API.
namespace detail {
struct ModelData;
struct NetworkState;
struct SessionState;
struct ModelAccess;
struct NetworkAccess;
}  // namespace detail

// How an image becomes the network's input: channel order, value = (pixel * scale - mean) / std
// per channel (pixel in 0..255, channels in the model's order).
struct Preprocess {
  bool bgr = false;
  float scale = 1.0f / 255.0f;
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
};

struct ClassInfo {
  std::string name;
  std::array<uint8_t, 3> rgb{0, 0, 0};
};

// An op a model graph may hold, as the op registry describes it (`vkseg ops` prints these).
struct OpInfo {
  std::string name;
  std::string summary;
  uint32_t min_inputs = 1, max_inputs = 1;
  std::vector<std::string> attributes;  // "stride: ints[2] = [1, 1]", "ceil_mode: int = 0", ...
  std::vector<std::string> weights;     // roles: "weight", "bias (optional)", ...
};
std::vector<OpInfo> supported_ops();

// A converted model (a .vkseg file: safetensors with the graph, preprocessing and classes in its
// metadata). Immutable and cheap to copy; safe to share between threads.
class Model {
 public:
  // Reads and validates a model file; throws Error "<path>: <reason>" on any problem.
  static Model load(const std::string& path);

  const std::string& arch() const;
  const Preprocess& preprocess() const;
  const std::vector<ClassInfo>& classes() const;
  uint32_t input_channels() const;
  // Accepted input sizes: multiples of input_multiple(), at least min_input() (per side).
  uint32_t input_multiple() const;
  uint32_t min_input() const;
  uint64_t parameter_count() const;
  const std::string& weight_dtype() const;  // "fp32" or "fp16", as stored
  // What the converter assumed where the checkpoint could be read two ways.
  const std::vector<std::string>& notes() const;

 private:
  friend struct detail::ModelAccess;
  explicit Model(std::shared_ptr<const detail::ModelData> data);
  std::shared_ptr<const detail::ModelData> data_;
};

// A model on a device: weights uploaded once and pipelines created once. Sessions of any input
// size share it, and may be created and run on different threads at once. At Precision::Fp16
// the weights are converted to fp16 on upload and activations are fp16 (see precision.hpp);
// throws Error where the device lacks 16-bit storage buffers. The network keeps no host copy of
// the weights: once the caller's Model is gone, so are they (a CPU device's memory holds only
// the uploaded ones).
class Network {
 public:
  Network(Context& context, const Model& model, Precision precision = Precision::Fp32);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // The model without its weights (parameter_count() still counts them): what describes it,
  // not what creates another network, which takes a Model from Model::load.
  const Model& model() const;
  Precision precision() const;
  Context& context() const;
  uint64_t weight_bytes() const;

 private:
  friend struct detail::NetworkAccess;
  std::unique_ptr<detail::NetworkState> state_;
};

using Shape4 = std::array<uint32_t, 4>;  // N, C, H, W

// A range of one of the session's device buffers.
struct DeviceRange {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize size = 0;
};

// How the application uses a session's buffers before or after vkseg's work (Session::record):
// the pipeline stages and accesses vkseg's barriers order against, and the queue family it uses
// them on. VK_QUEUE_FAMILY_IGNORED (or the context's family): the context's queue family.
// Another family: vkseg records the acquire half (input) or the release half (outputs) of a
// queue family ownership transfer, and the application records the other half on its queue.
struct BufferUse {
  VkPipelineStageFlags stages = 0;
  VkAccessFlags access = 0;
  uint32_t queue_family = VK_QUEUE_FAMILY_IGNORED;

  // Written by a copy, a compute shader or the host (the default before the input).
  static BufferUse any_write() {
    return {VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT |
                VK_PIPELINE_STAGE_HOST_BIT,
            VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT};
  }
  // Read by a copy, a compute shader or the host (the default after the outputs).
  static BufferUse any_read() {
    return {VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT |
                VK_PIPELINE_STAGE_HOST_BIT,
            VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_HOST_READ_BIT};
  }
};

// A semaphore a submission waits for or signals: binary semaphores take value 0, timeline
// semaphores the value to wait for or to signal.
struct SemaphoreWait {
  VkSemaphore semaphore = VK_NULL_HANDLE;
  uint64_t value = 0;
  VkPipelineStageFlags stages = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;  // what waits
};
struct SemaphoreSignal {
  VkSemaphore semaphore = VK_NULL_HANDLE;
  uint64_t value = 0;
};

// The completion of one Session::submit(); valid while its session lives.
class Completion {
 public:
  bool finished() const;  // never blocks
  void wait() const;      // blocks, up to the context's GPU timeout

 private:
  friend class Session;
  Completion(detail::SessionState* session, uint64_t serial) : session_(session), serial_(serial) {}
  detail::SessionState* session_ = nullptr;
  uint64_t serial_ = 0;
};

// One input size and batch: shapes inferred, activations planned into one arena, and the whole
// network recorded into one command buffer that every run() replays. One thread at a time.
class Session {
 public:
  Session(Network& network, uint32_t batch, uint32_t height, uint32_t width);
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  Shape4 input_shape() const;
  Shape4 output_shape() const;  // logits
  uint64_t activation_bytes() const;  // the planned arena (2-byte elements at fp16)
  uint64_t naive_activation_bytes() const;  // every activation in its own buffer, for comparison
  // Scratch memory of the layers that need one (im2col and Winograd convolutions), shared by
  // them and bounded by chunking, whatever the input size.
  uint64_t workspace_bytes() const;

  // NCHW float32 in, NCHW float32 logits out (sizes from input_shape() / output_shape()), at
  // either precision.
  void run(const float* input, float* logits);
  // Same, then argmax over classes: N x H x W labels.
  void run_labels(const float* input, uint32_t* labels);

  // Device-side use, for applications that produce the input on the same VkDevice: write the
  // NCHW float32 input into input_range() (a transfer or shader write, completed before the call),
  // call run_on_device(), then read logits_range() (float32) or labels_range() (uint32).
  DeviceRange input_range() const;
  // Uploads an NCHW float32 input into input_range().
  void write_input(const float* input);
  DeviceRange logits_range() const;
  DeviceRange labels_range() const;
  void run_on_device();

  // Embedding in an application's own command buffers and queue submissions. The work reads
  // input_range() and writes logits_range() and labels_range() (with the non-finite count
  // after the labels); run(), run_on_device(), read_labels(), write_input() and
  // non_finite_pixels() wait for a submit() still running before they touch them.
  //
  // Records the work into `command_buffer`: a primary command buffer of the context's queue
  // family, in the recording state and outside a render pass, submitted by the application to
  // a queue of that family. `input_before` is how the commands before it in submission order
  // wrote input_range(); `outputs_after` how the commands after it read the outputs. vkseg
  // records the barriers between them and its work (also against earlier executions of this
  // session), and nothing else; the commands stay valid while the session lives, and may be
  // recorded into several command buffers, also pending at once on that one queue.
  void record(VkCommandBuffer command_buffer, const BufferUse& input_before = BufferUse::any_write(),
              const BufferUse& outputs_after = BufferUse::any_read());
  // Submits the work to the context's queue after `waits`, signalling `signals` when done, and
  // returns without waiting (a submission of this session still running is waited for first).
  // Timeline values need timeline semaphores enabled (see ExternalDevice::enabled_features).
  Completion submit(const std::vector<SemaphoreWait>& waits = {},
                    const std::vector<SemaphoreSignal>& signals = {});
  // Downloads the labels of the last run (N x H x W).
  void read_labels(uint32_t* labels);
  // Pixels of the last run whose logits hold a NaN or an infinity (their labels follow
  // torch.argmax, but mean nothing): callers should refuse to use labels made from them.
  uint64_t non_finite_pixels() const;

  struct Layer {
    std::string name;
    std::string op;   // the op's registry name: conv2d, max_pool2d, crop_add, relu, ...
    Shape4 output;
    uint64_t flops;   // multiply-adds count 2; pooling counts one per compared element
    // The layer that computes this one as part of itself (a convolution with the batch norm or
    // activation after it folded in, a transposed convolution doing the crop or skip addition
    // after it); its time is counted there. Empty for most layers.
    std::string fused_into;
  };
  // Every layer in execution order.
  const std::vector<Layer>& layers() const;

  struct LayerTime {
    std::string name;  // a layer of layers(), "argmax", or input_to_fp16 / logits_to_fp32 at fp16
    double milliseconds;
  };
  // GPU time of each layer in the last run, from timestamp queries (empty where the device
  // writes no timestamps).
  std::vector<LayerTime> last_run_times() const;
  struct KernelTime {
    std::string layer;   // as in LayerTime
    std::string kernel;  // the shader (e.g. winograd_input, gemm_packed, conv2d_gemm)
    double milliseconds;
  };
  // GPU time of every dispatch in the last run, in order: the profile behind last_run_times().
  std::vector<KernelTime> last_kernel_times() const;

 private:
  std::unique_ptr<detail::SessionState> state_;
};

}  // namespace vkseg
