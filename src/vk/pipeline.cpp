#include "vk/pipeline.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "vk/check.hpp"
#include "vk/context_state.hpp"
#include "vk/shader_registry.hpp"

namespace vkseg::vk {

namespace {

const EmbeddedShader& find_shader(const std::string& name) {
  for (const EmbeddedShader& shader : embedded_shaders()) {
    if (name == shader.name) return shader;
  }
  throw Error(fmt::format("internal error: no embedded shader named '{}'", name));
}

}  // namespace

Pipeline create_pipeline(ContextState& state, const PipelineKey& key) {
  if (key.specialization.size() < 3) {
    throw Error(fmt::format("internal error: pipeline '{}' lacks its workgroup size", key.shader));
  }
  if (key.push_bytes > state.info.max_push_constant_bytes) {
    throw Error(fmt::format("pipeline '{}' needs {} bytes of push constants; the device allows {}",
                            key.shader, key.push_bytes, state.info.max_push_constant_bytes));
  }
  const EmbeddedShader& shader = find_shader(key.shader);
  VkDevice device = state.device;
  Pipeline result;
  result.name = key.shader;
  result.binding_count = key.binding_count;
  result.texel_bindings = key.texel_bindings;
  result.push_bytes = key.push_bytes;
  std::copy_n(key.specialization.begin(), 3, result.local_size);

  std::vector<VkDescriptorSetLayoutBinding> bindings(key.binding_count);
  for (uint32_t i = 0; i < key.binding_count; ++i) {
    const VkDescriptorType type = key.texel_bindings >> i & 1 ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
                                                              : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    bindings[i] = {i, type, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  }
  VkDescriptorSetLayoutCreateInfo set_info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  if (state.push_descriptor_fn) {
    set_info.flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR;
  }
  set_info.bindingCount = key.binding_count;
  set_info.pBindings = bindings.data();
  check(vkCreateDescriptorSetLayout(device, &set_info, nullptr, &result.set_layout),
        "vkCreateDescriptorSetLayout");

  VkPushConstantRange push_range{VK_SHADER_STAGE_COMPUTE_BIT, 0, key.push_bytes};
  VkPipelineLayoutCreateInfo layout_info{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  layout_info.setLayoutCount = 1;
  layout_info.pSetLayouts = &result.set_layout;
  layout_info.pushConstantRangeCount = key.push_bytes > 0 ? 1 : 0;
  layout_info.pPushConstantRanges = &push_range;
  VkResult r = vkCreatePipelineLayout(device, &layout_info, nullptr, &result.layout);
  if (r != VK_SUCCESS) {
    destroy_pipeline(device, result);
    throw_vulkan_error("vkCreatePipelineLayout", r);
  }

  VkShaderModuleCreateInfo module_info{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  module_info.codeSize = shader.word_count * sizeof(uint32_t);
  module_info.pCode = shader.words;
  VkShaderModule module = VK_NULL_HANDLE;
  r = vkCreateShaderModule(device, &module_info, nullptr, &module);
  if (r != VK_SUCCESS) {
    destroy_pipeline(device, result);
    throw_vulkan_error("vkCreateShaderModule", r);
  }

  std::vector<VkSpecializationMapEntry> entries(key.specialization.size());
  for (uint32_t i = 0; i < entries.size(); ++i) {
    entries[i] = {i, i * uint32_t(sizeof(uint32_t)), sizeof(uint32_t)};
  }
  VkSpecializationInfo spec{uint32_t(entries.size()), entries.data(),
                            key.specialization.size() * sizeof(uint32_t),
                            key.specialization.data()};
  VkComputePipelineCreateInfo info{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  info.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  info.stage.module = module;
  info.stage.pName = "main";
  info.stage.pSpecializationInfo = &spec;
  info.layout = result.layout;
  r = vkCreateComputePipelines(device, state.pipeline_cache, 1, &info, nullptr, &result.pipeline);
  vkDestroyShaderModule(device, module, nullptr);
  if (r != VK_SUCCESS) {
    destroy_pipeline(device, result);
    throw_vulkan_error(fmt::format("creating the '{}' pipeline", key.shader), r);
  }
  return result;
}

void destroy_pipeline(VkDevice device, Pipeline& pipeline) {
  if (pipeline.pipeline) vkDestroyPipeline(device, pipeline.pipeline, nullptr);
  if (pipeline.layout) vkDestroyPipelineLayout(device, pipeline.layout, nullptr);
  if (pipeline.set_layout) vkDestroyDescriptorSetLayout(device, pipeline.set_layout, nullptr);
  pipeline = Pipeline{};
}

}  // namespace vkseg::vk
