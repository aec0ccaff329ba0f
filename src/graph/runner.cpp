// Network (a model on a device) and Session (one input size, planned and recorded once).
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <unordered_map>

#include "graph/network_state.hpp"
#include "graph/planner.hpp"
#include "io/half.hpp"
#include "ops/dispatch.hpp"
#include "ops/registry.hpp"
#include "vk/context_state.hpp"
#include "vk/recorder.hpp"

namespace vkseg {

namespace detail {

struct SessionState {
  NetworkState& network;
  ops::Shape input_shape;
  ops::Shape output_shape;
  std::vector<Session::Layer> layers;
  uint64_t naive_bytes = 0;
  vk::Buffer arena;
  vk::Buffer workspace;  // scratch of the layers that need one, used by one layer at a time
  vk::Buffer labels;  // the label map, then one word counting pixels with non-finite scores
  ops::Tensor input, logits, label_map;  // input and logits are fp32 at every precision
  ops::Tensor non_finite;
  std::unique_ptr<vk::Recorder> recorder;  // primary: run(), submit()
  // Records the whole session (primary or secondary recorder alike).
  std::function<void(vk::Recorder&)> record_all;
  std::unique_ptr<vk::Recorder> secondary;  // record(), made on first use
  uint64_t last_submission = 0;

  // Waits for a submit() still running before the host touches the session's memory.
  void settle() {
    if (last_submission) recorder->wait(last_submission);
  }
};

}  // namespace detail

namespace {

using detail::NetworkState;
using graph::Node;

Shape4 to_shape4(const ops::Shape& s) { return {s.n, s.c, s.h, s.w}; }

// `precision`, once the device is known to support it (before any op says so in its own words).
Precision supported(const Context& context, Precision precision) {
  ops::require_precision(context, "network", precision);
  return precision;
}

// Values of a weight in the storage type `type`, as bytes.
std::vector<char> storage_bytes(const std::vector<float>& values, ops::DType type) {
  std::vector<char> bytes(values.size() * ops::element_bytes(type));
  if (type == ops::DType::F16) {
    for (size_t i = 0; i < values.size(); ++i) {
      const uint16_t h = io::float_to_half(values[i]);
      std::memcpy(bytes.data() + 2 * i, &h, 2);
    }
  } else {
    std::memcpy(bytes.data(), values.data(), bytes.size());
  }
  return bytes;
}

}  // namespace

Network::Network(Context& context, const Model& model, Precision precision)
    : state_(new NetworkState{context, model, supported(context, precision), {}, {}, {},
                              ops::Argmax(context, precision), std::nullopt}) {
  if (precision == Precision::Fp16) state_->convert.emplace(context);
  const detail::ModelData& data = detail::ModelAccess::data(model);
  if (data.weights_released) {
    throw Error("this model is a network's copy, whose weights were released on upload: load "
                "the model file again to create another network");
  }
  std::vector<std::vector<ops::DeviceWeight>> weights;
  for (const Node& n : data.graph.nodes) {
    try {
      state_->ops.push_back(ops::find_op(n.op)->create({context, n, data.weights, precision}));
      weights.push_back(state_->ops.back()->device_weights());
    } catch (const Error& e) {
      throw Error(fmt::format("layer '{}': {}", n.name, e.what()));
    }
  }
  // One buffer, every tensor at an aligned offset, uploaded one tensor at a time.
  uint64_t total = 0;
  for (const auto& node : weights) {
    state_->node_weights.emplace_back();
    for (const ops::DeviceWeight& w : node) {
      state_->node_weights.back().push_back({w.shape, {VK_NULL_HANDLE, total, w.shape.bytes(w.type)}, w.type});
      total = ops::align_to_binding(context.info(), total + w.shape.bytes(w.type));
    }
  }
  state_->weights = vk::Buffer(context, std::max<uint64_t>(total, 4));
  for (size_t i = 0; i < weights.size(); ++i) {
    for (size_t j = 0; j < weights[i].size(); ++j) {
      ops::Tensor& t = state_->node_weights[i][j];
      const std::vector<float> values = weights[i][j].values();
      if (values.size() != t.shape.count()) {
        throw Error(fmt::format("internal error: layer '{}' prepared {} weights for {}",
                                data.graph.nodes[i].name, values.size(), t.shape.str()));
      }
      const std::vector<char> bytes = storage_bytes(values, t.dtype);
      vk::upload(context, state_->weights, t.view.offset, bytes.data(), bytes.size());
      t.view = state_->weights.view(t.view.offset, t.view.size);
    }
  }
  state_->model = detail::ModelAccess::without_weights(model);
}

Network::~Network() = default;
const Model& Network::model() const { return state_->model; }
Precision Network::precision() const { return state_->precision; }
Context& Network::context() const { return state_->context; }
uint64_t Network::weight_bytes() const { return state_->weights.size(); }

Session::Session(Network& network, uint32_t batch, uint32_t height, uint32_t width) {
  NetworkState& net = detail::NetworkAccess::state(network);
  const detail::ModelData& data = detail::ModelAccess::data(net.model);
  const graph::Graph& g = data.graph;
  if (batch == 0 || height == 0 || width == 0) {
    throw Error(fmt::format("input size {}x{} with batch {} is empty", height, width, batch));
  }
  state_.reset(new detail::SessionState{net, {batch, data.input_channels, height, width}});
  detail::SessionState& s = *state_;

  // Shapes and lifetimes. Step 0 writes the input and node i runs at step i + first_node; an
  // fp16 network narrows its fp32 input at step 1 and widens its logits into fp32 at the end.
  const bool fp16 = net.precision == Precision::Fp16;
  const ops::DType type = ops::storage_type(net.precision);
  const int first_node = fp16 ? 2 : 1;
  const int end_step = int(g.nodes.size()) + first_node;  // argmax (and widening) after the nodes
  std::unordered_map<std::string, size_t> index{{g.input, 0}};
  std::vector<graph::Lifetime> lifetimes{
      {g.input, s.input_shape.bytes(type), first_node - 1, first_node - 1}};
  std::vector<ops::Shape> shapes{s.input_shape};
  uint64_t workspace_bytes = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const int step = int(i) + first_node;
    std::vector<ops::Shape> in;
    for (const std::string& name : n.inputs) {
      const size_t t = index.at(name);
      in.push_back(shapes[t]);
      lifetimes[t].last = std::max(lifetimes[t].last, step);
    }
    std::vector<ops::Shape> out;
    try {
      out = net.ops[i]->output_shapes(in);
      workspace_bytes = std::max(workspace_bytes, net.ops[i]->workspace_bytes(in));
    } catch (const Error& e) {
      throw Error(fmt::format("layer '{}' at input {}x{}: {}", n.name, height, width, e.what()));
    }
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      index[n.outputs[k]] = shapes.size();
      shapes.push_back(out[k]);
      lifetimes.push_back({n.outputs[k], out[k].bytes(type), step, step});
    }
    s.layers.push_back({n.name, n.op, to_shape4(out[0]), net.ops[i]->flops(in, out), ""});
    for (const auto& [fused, op] : n.fused) {
      s.layers.push_back({fused, op, to_shape4(out[0]), 0, n.name});
    }
  }
  const size_t logits_index = index.at(g.outputs.front());
  s.output_shape = shapes[logits_index];
  // Read back (or widened, then read back) after the last node.
  lifetimes[logits_index].last = end_step;
  // The graph's tensors, then (fp16 only) the fp32 input and logits the host sees.
  std::vector<ops::Shape> all_shapes = shapes;
  std::vector<ops::DType> all_types(shapes.size(), type);
  const size_t input_fp32_index = shapes.size(), logits_fp32_index = shapes.size() + 1;
  if (fp16) {
    lifetimes.push_back({"input_fp32", s.input_shape.bytes(), 0, 1});
    lifetimes.push_back({"logits_fp32", s.output_shape.bytes(), end_step, end_step + 1});
    all_shapes.insert(all_shapes.end(), {s.input_shape, s.output_shape});
    all_types.insert(all_types.end(), {ops::DType::F32, ops::DType::F32});
  }
  for (const graph::Lifetime& l : lifetimes) s.naive_bytes += l.bytes;

  Context& ctx = net.context;
  const graph::MemoryPlan plan = graph::plan_memory(lifetimes, ops::binding_alignment(ctx.info()));
  s.arena = vk::Buffer(ctx, plan.arena_bytes);
  s.workspace = vk::Buffer(ctx, std::max<uint64_t>(workspace_bytes, 16));
  const ops::Tensor workspace{{1, 1, 1, 1}, s.workspace.view(), ops::DType::F32};
  std::vector<ops::Tensor> tensors;
  for (size_t t = 0; t < all_shapes.size(); ++t) {
    tensors.push_back({all_shapes[t], s.arena.view(plan.offsets[t], all_shapes[t].bytes(all_types[t])),
                       all_types[t]});
  }
  s.input = tensors[fp16 ? input_fp32_index : 0];
  s.logits = tensors[fp16 ? logits_fp32_index : logits_index];
  const ops::Shape label_shape = net.argmax.output_shape(s.output_shape);
  const uint64_t label_bytes = label_shape.bytes(ops::DType::U32);
  const uint64_t count_offset = ops::align_to_binding(ctx.info(), label_bytes);
  s.labels = vk::Buffer(ctx, count_offset + 4);
  s.label_map = {label_shape, s.labels.view(0, label_bytes), ops::DType::U32};
  s.non_finite = {{1, 1, 1, 1}, s.labels.view(count_offset, 4), ops::DType::U32};

  s.record_all = [&net, &g, &s, tensors, index, workspace, fp16, logits_index](vk::Recorder& r) {
    r.begin();
    if (fp16) {
      r.set_scope("input_to_fp16");
      net.convert->record(r, s.input, tensors[0]);
    }
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      std::vector<ops::Tensor> in, out;
      for (const std::string& name : n.inputs) in.push_back(tensors[index.at(name)]);
      for (const std::string& name : n.outputs) out.push_back(tensors[index.at(name)]);
      r.set_scope(n.name);
      net.ops[i]->record(r, {in, out, net.node_weights[i], workspace});
    }
    if (fp16) {
      r.set_scope("logits_to_fp32");
      net.convert->record(r, tensors[logits_index], s.logits);
    }
    // Argmax of the fp16 logits equals argmax of their exact fp32 widening.
    r.set_scope("argmax");
    r.fill(s.non_finite.view, 0);
    net.argmax.record(r, tensors[logits_index], s.label_map, &s.non_finite);
    r.end();
  };
  // Layers may take many dispatches (weight chunks, multi-pass algorithms, workspace chunks):
  // recorded again with room for all of them when the first guess is too small, so that every
  // dispatch is timed.
  constexpr uint32_t k_timed_dispatches = 4096;
  s.recorder = std::make_unique<vk::Recorder>(ctx, k_timed_dispatches);
  s.record_all(*s.recorder);
  if (s.recorder->dispatch_count() > k_timed_dispatches && ctx.info().timestamps) {
    s.recorder = std::make_unique<vk::Recorder>(ctx, s.recorder->dispatch_count());
    s.record_all(*s.recorder);
  }
}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

Shape4 Session::input_shape() const { return to_shape4(state_->input_shape); }
Shape4 Session::output_shape() const { return to_shape4(state_->output_shape); }
uint64_t Session::activation_bytes() const { return state_->arena.size(); }
uint64_t Session::workspace_bytes() const { return state_->workspace.size(); }
uint64_t Session::naive_activation_bytes() const { return state_->naive_bytes; }

const std::vector<Session::Layer>& Session::layers() const { return state_->layers; }

std::vector<Session::LayerTime> Session::last_run_times() const {
  std::vector<LayerTime> result;
  for (const vk::DispatchTime& t : state_->recorder->timings()) {
    if (result.empty() || result.back().name != t.scope) result.push_back({t.scope, 0.0});
    result.back().milliseconds += t.milliseconds;
  }
  return result;
}

std::vector<Session::KernelTime> Session::last_kernel_times() const {
  std::vector<KernelTime> result;
  for (const vk::DispatchTime& t : state_->recorder->timings()) {
    result.push_back({t.scope, t.label, t.milliseconds});
  }
  return result;
}

DeviceRange Session::input_range() const {
  const vk::BufferView& v = state_->input.view;
  return {v.buffer, v.offset, v.size};
}
DeviceRange Session::logits_range() const {
  const vk::BufferView& v = state_->logits.view;
  return {v.buffer, v.offset, v.size};
}
DeviceRange Session::labels_range() const {
  const vk::BufferView& v = state_->label_map.view;
  return {v.buffer, v.offset, v.size};
}

void Session::run_on_device() {
  state_->recorder->submit();
  state_->last_submission = 0;
}

void Session::read_labels(uint32_t* labels) {
  detail::SessionState& s = *state_;
  s.settle();
  vk::download(s.network.context, s.labels, 0, labels, s.label_map.bytes());
}

uint64_t Session::non_finite_pixels() const {
  state_->settle();
  uint32_t count = 0;
  vk::download(state_->network.context, state_->labels, state_->non_finite.view.offset, &count, 4);
  return count;
}

void Session::write_input(const float* input) {
  detail::SessionState& s = *state_;
  s.settle();
  vk::upload(s.network.context, s.arena, s.input.view.offset, input, s.input_shape.bytes());
}

void Session::run(const float* input, float* logits) {
  detail::SessionState& s = *state_;
  write_input(input);
  run_on_device();
  vk::download(s.network.context, s.arena, s.logits.view.offset, logits, s.output_shape.bytes());
}

void Session::run_labels(const float* input, uint32_t* labels) {
  write_input(input);
  run_on_device();
  read_labels(labels);
}

Completion Session::submit(const std::vector<SemaphoreWait>& waits,
                           const std::vector<SemaphoreSignal>& signals) {
  detail::SessionState& s = *state_;
  std::vector<vk::SemaphoreOp> wait_ops, signal_ops;
  for (const SemaphoreWait& w : waits) wait_ops.push_back({w.semaphore, w.value, w.stages});
  for (const SemaphoreSignal& g : signals) signal_ops.push_back({g.semaphore, g.value, 0});
  s.last_submission = s.recorder->submit_async(wait_ops, signal_ops);
  return Completion(state_.get(), s.last_submission);
}

bool Completion::finished() const {
  return !session_ || session_->recorder->finished(serial_);
}

void Completion::wait() const {
  if (session_) session_->recorder->wait(serial_);
}

namespace {

VkBufferMemoryBarrier buffer_barrier(const vk::BufferView& view, VkAccessFlags src,
                                     VkAccessFlags dst, uint32_t src_family,
                                     uint32_t dst_family) {
  VkBufferMemoryBarrier b{VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER};
  b.srcAccessMask = src;
  b.dstAccessMask = dst;
  b.srcQueueFamilyIndex = src_family;
  b.dstQueueFamilyIndex = dst_family;
  b.buffer = view.buffer;
  b.offset = view.offset;
  b.size = view.size;
  return b;
}

// A use on another queue family than the context's: an ownership transfer is needed.
bool other_family(const BufferUse& use, uint32_t family) {
  return use.queue_family != VK_QUEUE_FAMILY_IGNORED && use.queue_family != family;
}

}  // namespace

void Session::record(VkCommandBuffer command_buffer, const BufferUse& input_before,
                     const BufferUse& outputs_after) {
  detail::SessionState& s = *state_;
  Context& ctx = s.network.context;
  if (!command_buffer) throw Error("Session::record: the command buffer is VK_NULL_HANDLE");
  if (!s.secondary) {
    s.secondary = std::make_unique<vk::Recorder>(ctx, 0, vk::Recorder::Level::Secondary);
    s.record_all(*s.secondary);
  }
  const uint32_t family = ctx.queue_family_index();
  const VkPipelineStageFlags own = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  const VkAccessFlags own_writes = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  const VkAccessFlags own_all = own_writes | VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT;

  // Before: the application's writes of the input, and any earlier execution of this session
  // (its memory is reused), happen before vkseg's work reads or overwrites anything.
  VkMemoryBarrier before{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  before.srcAccessMask = own_writes | input_before.access;
  before.dstAccessMask = own_all;
  std::vector<VkBufferMemoryBarrier> acquire;
  if (other_family(input_before, family)) {
    acquire.push_back(buffer_barrier(s.input.view, 0, own_all, input_before.queue_family, family));
  }
  vkCmdPipelineBarrier(command_buffer, own | input_before.stages, own, 0, 1, &before,
                       uint32_t(acquire.size()), acquire.data(), 0, nullptr);
  const VkCommandBuffer work = s.secondary->command_buffer();
  vkCmdExecuteCommands(command_buffer, 1, &work);

  // After: the logits, labels and non-finite count, made visible to the application's next use
  // (or released to its queue family).
  const bool release = other_family(outputs_after, family);
  const uint32_t src_family = release ? family : VK_QUEUE_FAMILY_IGNORED;
  const uint32_t dst_family = release ? outputs_after.queue_family : VK_QUEUE_FAMILY_IGNORED;
  const VkAccessFlags dst_access = release ? 0 : outputs_after.access;
  const VkBufferMemoryBarrier outputs[] = {
      buffer_barrier(s.logits.view, own_writes, dst_access, src_family, dst_family),
      buffer_barrier(s.labels.view(), own_writes, dst_access, src_family, dst_family)};
  const VkPipelineStageFlags next = release || !outputs_after.stages
                                        ? VkPipelineStageFlags(VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT)
                                        : outputs_after.stages;
  vkCmdPipelineBarrier(command_buffer, own, next, 0, 0, nullptr, 2, outputs, 0, nullptr);
}

}  // namespace vkseg
