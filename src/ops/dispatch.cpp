#include "ops/dispatch.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "ops/tensor.hpp"
#include "vkseg/error.hpp"

namespace vkseg::ops {

std::string Shape::str() const { return fmt::format("{}x{}x{}x{}", n, c, h, w); }

void require_fits(const char* op, const char* role, const Tensor& tensor) {
  if (tensor.view.buffer == VK_NULL_HANDLE || tensor.view.size < tensor.shape.bytes()) {
    throw Error(fmt::format("{}: {} of shape {} needs {} bytes but its buffer range holds {}", op,
                            role, tensor.shape.str(), tensor.shape.bytes(), tensor.view.size));
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

FlatGrid flat_grid(const DeviceInfo& info, uint64_t invocations, uint32_t local_size) {
  const uint64_t groups = std::max<uint64_t>(1, (invocations + local_size - 1) / local_size);
  const uint64_t max_x = std::max<uint32_t>(1, info.max_workgroup_count[0]);
  FlatGrid grid;
  grid.x = uint32_t(std::min(groups, max_x));
  grid.y = uint32_t((groups + grid.x - 1) / grid.x);
  return grid;
}

}  // namespace vkseg::ops
