#include "graph/planner.hpp"

#include <algorithm>
#include <numeric>

namespace vkseg::graph {

MemoryPlan plan_memory(const std::vector<Lifetime>& tensors, uint64_t alignment) {
  alignment = std::max<uint64_t>(alignment, 1);
  auto align = [&](uint64_t v) { return (v + alignment - 1) / alignment * alignment; };
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return tensors[a].bytes > tensors[b].bytes; });

  MemoryPlan plan;
  plan.offsets.assign(tensors.size(), 0);
  std::vector<size_t> placed;
  for (size_t i : order) {
    const Lifetime& t = tensors[i];
    // Ranges already taken by tensors whose lifetimes meet this one, by start offset.
    std::vector<std::pair<uint64_t, uint64_t>> busy;
    for (size_t j : placed) {
      const Lifetime& o = tensors[j];
      if (o.first <= t.last && t.first <= o.last) {
        busy.push_back({plan.offsets[j], plan.offsets[j] + align(o.bytes)});
      }
    }
    std::sort(busy.begin(), busy.end());
    uint64_t offset = 0;
    for (const auto& [begin, end] : busy) {
      if (offset + align(t.bytes) <= begin) break;
      offset = std::max(offset, end);
    }
    plan.offsets[i] = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + align(t.bytes));
    placed.push_back(i);
  }
  return plan;
}

}  // namespace vkseg::graph
