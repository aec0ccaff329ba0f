#include "ops/dispatch.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "ops/tensor.hpp"
#include "vkseg/error.hpp"

namespace vkseg::ops {

uint64_t binding_alignment(const DeviceInfo& info) {
  return std::max<uint64_t>({256, info.min_storage_buffer_offset_alignment,
                             info.min_texel_buffer_offset_alignment});
}

TexelWindow texel_window(const DeviceInfo& info, const vk::BufferView& view, uint64_t first,
                         uint64_t count, uint32_t element_bytes) {
  const uint64_t alignment = std::max<uint64_t>(1, info.min_texel_buffer_offset_alignment);
  const uint64_t begin = view.offset + first * element_bytes;
  const uint64_t aligned = begin / alignment * alignment;
  const uint64_t end = std::min(view.offset + view.size, begin + count * element_bytes);
  return {{view.buffer, aligned, end - aligned}, uint32_t((begin - aligned) / element_bytes)};
}

uint64_t units_per_texel_window(const DeviceInfo& info, uint64_t unit_elements,
                                uint32_t element_bytes) {
  // Room for the texels an aligned-down start adds.
  const uint64_t slack =
      std::max<uint64_t>(1, info.min_texel_buffer_offset_alignment) / element_bytes;
  const uint64_t room = info.max_texel_buffer_elements > slack
                            ? info.max_texel_buffer_elements - slack
                            : 0;
  return std::max<uint64_t>(1, room / std::max<uint64_t>(1, unit_elements));
}

bool has_subgroup_shuffle(const Context& context) {
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceProperties2 properties{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  properties.pNext = &subgroup;
  vkGetPhysicalDeviceProperties2(context.physical_device(), &properties);
  return context.info().min_subgroup_size >= 8 &&
         (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
         (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT);
}

std::string Shape::str() const { return fmt::format("{}x{}x{}x{}", n, c, h, w); }

const char* dtype_name(DType type) {
  switch (type) {
    case DType::F32: return "fp32";
    case DType::F16: return "fp16";
    case DType::U32: return "uint32";
  }
  return "?";
}

void require_fits(const char* op, const char* role, const Tensor& tensor, DType type) {
  if (tensor.dtype != type) {
    throw Error(fmt::format("{}: {} holds {} elements, expected {}", op, role,
                            dtype_name(tensor.dtype), dtype_name(type)));
  }
  if (tensor.view.buffer == VK_NULL_HANDLE || tensor.view.size < tensor.bytes()) {
    throw Error(fmt::format("{}: {} of shape {} needs {} bytes but its buffer range holds {}", op,
                            role, tensor.shape.str(), tensor.bytes(), tensor.view.size));
  }
  if (tensor.shape.count() > UINT32_MAX) {
    throw Error(fmt::format("{}: {} of shape {} has more than 2^32 elements", op, role,
                            tensor.shape.str()));
  }
}

void require_shape(const char* op, const char* role, const Shape& actual, const Shape& expected) {
  if (!(actual == expected)) {
    throw Error(fmt::format("{}: {} is {}, expected {}", op, role, actual.str(), expected.str()));
  }
}

void require_precision(const Context& context, const char* op, Precision precision) {
  if (precision == Precision::Fp16 && !context.info().fp16_storage) {
    if (!context.owns_device()) {
      throw Error(fmt::format("{}: fp16 needs 16-bit storage buffers (storageBuffer16BitAccess), "
                              "which the application did not say it enabled on the adopted "
                              "device (ExternalDevice::enabled_features), or {} does not offer",
                              op, context.info().name));
    }
    throw Error(fmt::format("{}: fp16 needs 16-bit storage buffers (storageBuffer16BitAccess), "
                            "which {} does not offer",
                            op, context.info().name));
  }
}

std::string shader_variant(const Context& context, const char* op, const char* shader,
                           Precision precision) {
  require_precision(context, op, precision);
  return precision == Precision::Fp16 ? std::string(shader) + "_fp16" : std::string(shader);
}

FlatGrid flat_grid(const DeviceInfo& info, uint64_t invocations, uint32_t local_size) {
  const uint64_t groups = std::max<uint64_t>(1, (invocations + local_size - 1) / local_size);
  const uint64_t max_x = std::max<uint32_t>(1, info.max_workgroup_count[0]);
  FlatGrid grid;
  grid.x = uint32_t(std::min(groups, max_x));
  grid.y = uint32_t((groups + grid.x - 1) / grid.x);
  return grid;
}

}  // namespace vkseg::ops
