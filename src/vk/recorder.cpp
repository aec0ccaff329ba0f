#include "vk/recorder.hpp"

#include <fmt/format.h>

#include "vk/check.hpp"
#include "vk/context_state.hpp"

namespace vkseg::vk {

namespace {

constexpr uint32_t k_sets_per_pool = 256;
constexpr uint32_t k_descriptors_per_pool = 1024;

}  // namespace

Recorder::Recorder(Context& context, uint32_t timestamp_capacity, Level level)
    : context_(context), level_(level) {
  if (level == Level::Secondary) timestamp_capacity = 0;
  ContextState& s = vk::state(context);
  try {
    VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pool_info.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pool_info.queueFamilyIndex = s.queue_family;
    check(vkCreateCommandPool(s.device, &pool_info, nullptr, &pool_), "vkCreateCommandPool");
    VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    alloc.commandPool = pool_;
    alloc.level = level == Level::Primary ? VK_COMMAND_BUFFER_LEVEL_PRIMARY
                                          : VK_COMMAND_BUFFER_LEVEL_SECONDARY;
    alloc.commandBufferCount = 1;
    check(vkAllocateCommandBuffers(s.device, &alloc, &cmd_), "vkAllocateCommandBuffers");
    VkFenceCreateInfo fence_info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    check(vkCreateFence(s.device, &fence_info, nullptr, &fence_), "vkCreateFence");
    if (timestamp_capacity > 0 && s.info.timestamps) {
      VkQueryPoolCreateInfo info{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
      info.queryType = VK_QUERY_TYPE_TIMESTAMP;
      info.queryCount = timestamp_capacity + 1;
      check(vkCreateQueryPool(s.device, &info, nullptr, &queries_), "vkCreateQueryPool");
      timestamp_capacity_ = timestamp_capacity;
    }
  } catch (...) {
    release();
    throw;
  }
}

Recorder::~Recorder() {
  // Teardown waits for this recorder's own submission only, never for the whole device.
  if (submitted_ > completed_ && !vk::state(context_).hung) {
    try {
      wait(submitted_);
    } catch (const Error&) {
      return;  // timed out: the context is hung and release() would leave everything alone
    }
  }
  release();
}

void Recorder::release() {
  if (vk::state(context_).hung) return;  // the device may still be running these commands
  VkDevice device = vk::state(context_).device;
  if (queries_) vkDestroyQueryPool(device, queries_, nullptr);
  for (VkBufferView view : texel_views_) vkDestroyBufferView(device, view, nullptr);
  texel_views_.clear();
  for (VkDescriptorPool pool : pools_) vkDestroyDescriptorPool(device, pool, nullptr);
  if (fence_) vkDestroyFence(device, fence_, nullptr);
  if (pool_) vkDestroyCommandPool(device, pool_, nullptr);  // frees cmd_ too
  queries_ = VK_NULL_HANDLE;
  pools_.clear();
  fence_ = VK_NULL_HANDLE;
  pool_ = VK_NULL_HANDLE;
  cmd_ = VK_NULL_HANDLE;
}

void Recorder::begin() {
  ContextState& s = vk::state(context_);
  if (submitted_ > completed_) wait(submitted_);
  check(vkResetCommandBuffer(cmd_, 0), "vkResetCommandBuffer");
  for (VkDescriptorPool pool : pools_) vkResetDescriptorPool(s.device, pool, 0);
  pools_used_ = 0;
  for (VkBufferView view : texel_views_) vkDestroyBufferView(s.device, view, nullptr);
  texel_views_.clear();
  pending_writes_.clear();
  pending_reads_.clear();
  labels_.clear();
  scope_.clear();
  dispatch_count_ = barrier_count_ = 0;
  VkCommandBufferBeginInfo info{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  // Secondary commands may be pending in several of the application's primaries at once.
  VkCommandBufferInheritanceInfo inheritance{VK_STRUCTURE_TYPE_COMMAND_BUFFER_INHERITANCE_INFO};
  if (level_ == Level::Secondary) {
    info.flags = VK_COMMAND_BUFFER_USAGE_SIMULTANEOUS_USE_BIT;
    info.pInheritanceInfo = &inheritance;
  }
  check(vkBeginCommandBuffer(cmd_, &info), "vkBeginCommandBuffer");
  if (queries_) {
    vkCmdResetQueryPool(cmd_, queries_, 0, timestamp_capacity_ + 1);
    vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries_, 0);
  }
  recording_ = true;
  recorded_ = false;
}

bool Recorder::overlaps(const std::vector<Range>& ranges, const Range& r) {
  for (const Range& p : ranges) {
    if (p.buffer == r.buffer && p.begin < r.end && r.begin < p.end) return true;
  }
  return false;
}

void Recorder::track(const std::vector<std::pair<Range, bool>>& accesses) {
  bool hazard = false;
  for (const auto& [range, writes] : accesses) {
    // read-after-write, write-after-write and write-after-read need ordering.
    if (overlaps(pending_writes_, range) || (writes && overlaps(pending_reads_, range))) {
      hazard = true;
    }
  }
  if (hazard) {
    VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                            VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    const VkPipelineStageFlags stages =
        VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    vkCmdPipelineBarrier(cmd_, stages, stages, 0, 1, &barrier, 0, nullptr, 0, nullptr);
    ++barrier_count_;
    pending_writes_.clear();
    pending_reads_.clear();
  }
  for (const auto& [range, writes] : accesses) {
    (writes ? pending_writes_ : pending_reads_).push_back(range);
  }
}

VkDescriptorSet Recorder::allocate_set(VkDescriptorSetLayout layout, uint32_t binding_count) {
  ContextState& s = vk::state(context_);
  for (;;) {
    if (pools_used_ == pools_.size()) {
      const uint32_t count = std::max(k_descriptors_per_pool, binding_count);
      const VkDescriptorPoolSize sizes[] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, count},
                                            {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, count}};
      VkDescriptorPoolCreateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
      info.maxSets = k_sets_per_pool;
      info.poolSizeCount = 2;
      info.pPoolSizes = sizes;
      VkDescriptorPool pool = VK_NULL_HANDLE;
      check(vkCreateDescriptorPool(s.device, &info, nullptr, &pool), "vkCreateDescriptorPool");
      pools_.push_back(pool);
    }
    VkDescriptorSetAllocateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    info.descriptorPool = pools_[pools_used_];
    info.descriptorSetCount = 1;
    info.pSetLayouts = &layout;
    VkDescriptorSet set = VK_NULL_HANDLE;
    VkResult r = vkAllocateDescriptorSets(s.device, &info, &set);
    if (r == VK_SUCCESS) return set;
    if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL) {
      throw_vulkan_error("vkAllocateDescriptorSets", r);
    }
    ++pools_used_;  // this pool is full; move on to the next (created above if needed)
  }
}

uint32_t texel_bytes(VkFormat format) {
  switch (format) {
    case VK_FORMAT_R16_SFLOAT: return 2;
    case VK_FORMAT_R32_SFLOAT: return 4;
    case VK_FORMAT_R16G16B16A16_SFLOAT: return 8;
    case VK_FORMAT_R32G32B32A32_SFLOAT: return 16;
    default: throw Error("internal error: unsupported texel buffer format");
  }
}

VkBufferView Recorder::texel_view(const Pipeline& pipeline, const Binding& binding) {
  const DeviceInfo& info = context_.info();
  const uint64_t texels = binding.view.size / texel_bytes(binding.texel_format);
  if (texels > info.max_texel_buffer_elements) {
    throw VulkanError(fmt::format("'{}' reads {} texels; the device reads at most {} "
                                  "(try a smaller input size or batch)",
                                  pipeline.name, texels, info.max_texel_buffer_elements),
                      int(VK_ERROR_OUT_OF_DEVICE_MEMORY));
  }
  if (binding.view.offset % std::max<uint64_t>(1, info.min_texel_buffer_offset_alignment) != 0) {
    throw Error(fmt::format("internal error: '{}' reads texels at offset {}, not a multiple of "
                            "{}", pipeline.name, binding.view.offset,
                            info.min_texel_buffer_offset_alignment));
  }
  VkBufferViewCreateInfo view_info{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
  view_info.buffer = binding.view.buffer;
  view_info.format = binding.texel_format;
  view_info.offset = binding.view.offset;
  view_info.range = texels * texel_bytes(binding.texel_format);
  VkBufferView view = VK_NULL_HANDLE;
  check(vkCreateBufferView(vk::state(context_).device, &view_info, nullptr, &view),
        "vkCreateBufferView");
  texel_views_.push_back(view);
  return view;
}

void Recorder::dispatch(const Pipeline& pipeline, std::initializer_list<Binding> bindings,
                        const void* push, uint32_t push_bytes, uint32_t groups_x,
                        uint32_t groups_y, uint32_t groups_z, std::string label) {
  if (!recording_) throw Error("internal error: dispatch outside begin()/end()");
  if (bindings.size() != pipeline.binding_count || push_bytes != pipeline.push_bytes) {
    throw Error(fmt::format("internal error: pipeline '{}' takes {} bindings and {} push bytes",
                            pipeline.name, pipeline.binding_count, pipeline.push_bytes));
  }
  if (groups_x == 0 || groups_y == 0 || groups_z == 0) return;
  const DeviceInfo& info = context_.info();
  if (groups_x > info.max_workgroup_count[0] || groups_y > info.max_workgroup_count[1] ||
      groups_z > info.max_workgroup_count[2]) {
    throw Error(fmt::format("'{}' needs {}x{}x{} workgroups; the device allows {}x{}x{} "
                            "(try a smaller input size)",
                            pipeline.name, groups_x, groups_y, groups_z,
                            info.max_workgroup_count[0], info.max_workgroup_count[1],
                            info.max_workgroup_count[2]));
  }

  std::vector<std::pair<Range, bool>> accesses;
  std::vector<VkDescriptorBufferInfo> buffer_infos;
  std::vector<VkBufferView> views;
  uint32_t binding_index = 0;
  for (const Binding& b : bindings) {
    const bool texel = pipeline.texel_bindings >> binding_index++ & 1;
    if (texel != (b.texel_format != VK_FORMAT_UNDEFINED)) {
      throw Error(fmt::format("internal error: '{}' binding {} is {}a texel buffer", pipeline.name,
                              binding_index - 1, texel ? "" : "not "));
    }
    if (texel) {
      views.push_back(texel_view(pipeline, b));
      buffer_infos.push_back({});
      accesses.push_back({{b.view.buffer, b.view.offset, b.view.offset + b.view.size}, false});
      continue;
    }
    if (b.view.size > info.max_storage_buffer_range) {
      throw VulkanError(fmt::format("'{}' binds {} bytes; the device binds at most {} "
                                    "(try a smaller input size or batch)",
                                    pipeline.name, b.view.size, info.max_storage_buffer_range),
                        int(VK_ERROR_OUT_OF_DEVICE_MEMORY));
    }
    if (b.view.offset % info.min_storage_buffer_offset_alignment != 0) {
      throw Error(fmt::format("internal error: '{}' binds offset {}, not a multiple of the "
                              "device's storage alignment {}",
                              pipeline.name, b.view.offset, info.min_storage_buffer_offset_alignment));
    }
    const Range range{b.view.buffer, b.view.offset, b.view.offset + b.view.size};
    if (b.access != Access::Write) accesses.push_back({range, false});
    if (b.access != Access::Read) accesses.push_back({range, true});
    buffer_infos.push_back({b.view.buffer, b.view.offset, b.view.size});
  }
  track(accesses);

  std::vector<VkWriteDescriptorSet> writes(buffer_infos.size());
  for (uint32_t i = 0, view = 0; i < writes.size(); ++i) {
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstBinding = i;
    writes[i].descriptorCount = 1;
    if (pipeline.texel_bindings >> i & 1) {
      writes[i].descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
      writes[i].pTexelBufferView = &views[view++];
    } else {
      writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      writes[i].pBufferInfo = &buffer_infos[i];
    }
  }
  ContextState& s = vk::state(context_);
  vkCmdBindPipeline(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.pipeline);
  if (s.push_descriptor_fn) {
    s.push_descriptor_fn(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.layout, 0,
                         uint32_t(writes.size()), writes.data());
  } else {
    VkDescriptorSet set = allocate_set(pipeline.set_layout, pipeline.binding_count);
    for (auto& w : writes) w.dstSet = set;
    vkUpdateDescriptorSets(s.device, uint32_t(writes.size()), writes.data(), 0, nullptr);
    vkCmdBindDescriptorSets(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.layout, 0, 1, &set, 0,
                            nullptr);
  }
  if (push_bytes > 0) {
    vkCmdPushConstants(cmd_, pipeline.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
  }
  vkCmdDispatch(cmd_, groups_x, groups_y, groups_z);
  ++dispatch_count_;
  if (queries_ && labels_.size() < timestamp_capacity_) {
    labels_.push_back({scope_, label.empty() ? pipeline.name : std::move(label)});
    vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_,
                        uint32_t(labels_.size()));
  }
}

void Recorder::copy(BufferView src, BufferView dst) {
  if (!recording_) throw Error("internal error: copy outside begin()/end()");
  if (src.size != dst.size) throw Error("internal error: copy between ranges of different sizes");
  track({{{src.buffer, src.offset, src.offset + src.size}, false},
         {{dst.buffer, dst.offset, dst.offset + dst.size}, true}});
  VkBufferCopy region{src.offset, dst.offset, src.size};
  vkCmdCopyBuffer(cmd_, src.buffer, dst.buffer, 1, &region);
}

void Recorder::fill(BufferView dst, uint32_t value) {
  if (!recording_) throw Error("internal error: fill outside begin()/end()");
  if (dst.offset % 4 || dst.size % 4) throw Error("internal error: fill of an unaligned range");
  track({{{dst.buffer, dst.offset, dst.offset + dst.size}, true}});
  vkCmdFillBuffer(cmd_, dst.buffer, dst.offset, dst.size, value);
}

void Recorder::end() {
  if (!recording_) throw Error("internal error: end() without begin()");
  if (level_ == Level::Primary) {
    // Results become visible to the host (mapped reads) and to later submissions.
    VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    barrier.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(cmd_,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &barrier, 0, nullptr, 0, nullptr);
  }
  check(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
  recording_ = false;
  recorded_ = true;
}

void Recorder::submit() { wait(submit_async({}, {})); }

uint64_t Recorder::submit_async(const std::vector<SemaphoreOp>& waits,
                                const std::vector<SemaphoreOp>& signals) {
  if (!recorded_) throw Error("internal error: submit() before end()");
  if (level_ != Level::Primary) throw Error("internal error: a secondary recorder is submitted");
  ContextState& s = vk::state(context_);
  if (submitted_ > completed_) wait(submitted_);
  std::vector<VkSemaphore> wait_semaphores, signal_semaphores;
  std::vector<VkPipelineStageFlags> wait_stages;
  std::vector<uint64_t> wait_values, signal_values;
  bool timeline = false;
  for (const SemaphoreOp& w : waits) {
    wait_semaphores.push_back(w.semaphore);
    wait_stages.push_back(w.stages ? w.stages : VkPipelineStageFlags(VK_PIPELINE_STAGE_ALL_COMMANDS_BIT));
    wait_values.push_back(w.value);
    timeline = timeline || w.value != 0;
  }
  for (const SemaphoreOp& g : signals) {
    signal_semaphores.push_back(g.semaphore);
    signal_values.push_back(g.value);
    timeline = timeline || g.value != 0;
  }
  if (timeline && !s.timeline_semaphores) {
    throw Error("a timeline semaphore value was given, but timeline semaphores are not enabled "
                "on this device (an adopted device: list VkPhysicalDeviceVulkan12Features or "
                "...TimelineSemaphoreFeatures in ExternalDevice::enabled_features)");
  }
  VkTimelineSemaphoreSubmitInfo values{VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO};
  values.waitSemaphoreValueCount = uint32_t(wait_values.size());
  values.pWaitSemaphoreValues = wait_values.data();
  values.signalSemaphoreValueCount = uint32_t(signal_values.size());
  values.pSignalSemaphoreValues = signal_values.data();
  VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  if (timeline) submit.pNext = &values;
  submit.waitSemaphoreCount = uint32_t(wait_semaphores.size());
  submit.pWaitSemaphores = wait_semaphores.data();
  submit.pWaitDstStageMask = wait_stages.data();
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &cmd_;
  submit.signalSemaphoreCount = uint32_t(signal_semaphores.size());
  submit.pSignalSemaphores = signal_semaphores.data();
  s.require_not_hung();
  check(vkResetFences(s.device, 1, &fence_), "vkResetFences");
  check(s.injected(true), "vkQueueSubmit");
  {
    std::lock_guard lock(*s.queue_mutex);
    check(vkQueueSubmit(s.queue, 1, &submit, fence_), "vkQueueSubmit");
  }
  return ++submitted_;
}

bool Recorder::finished(uint64_t serial) {
  if (serial <= completed_) return true;
  const VkResult r = vkGetFenceStatus(vk::state(context_).device, fence_);
  if (r == VK_NOT_READY) return false;
  check(r, "vkGetFenceStatus");
  completed_ = submitted_;
  return true;
}

void Recorder::wait(uint64_t serial) {
  if (serial <= completed_) return;
  vk::state(context_).wait(fence_);
  completed_ = submitted_;
}

std::vector<DispatchTime> Recorder::timings() const {
  std::vector<DispatchTime> result;
  if (!queries_ || labels_.empty()) return result;
  std::vector<uint64_t> stamps(labels_.size() + 1);
  check(vkGetQueryPoolResults(context_.device(), queries_, 0, uint32_t(stamps.size()),
                              stamps.size() * sizeof(uint64_t), stamps.data(), sizeof(uint64_t),
                              VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
        "vkGetQueryPoolResults");
  const double ns = context_.info().timestamp_period_ns;
  for (size_t i = 0; i < labels_.size(); ++i) {
    const uint64_t delta = stamps[i + 1] >= stamps[i] ? stamps[i + 1] - stamps[i] : 0;
    result.push_back({labels_[i].first, labels_[i].second, double(delta) * ns * 1e-6});
  }
  return result;
}

}  // namespace vkseg::vk
