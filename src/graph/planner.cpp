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
  int first_step = 0, last_step = 0;
  for (const Lifetime& t : tensors) {
    first_step = std::min(first_step, t.first);
    last_step = std::max(last_step, t.last);
  }

  MemoryPlan plan;
  plan.offsets.assign(tensors.size(), 0);
  // The tensors placed so far that are alive at each step: a tensor's neighbours are found from
  // the steps of its own lifetime, so planning is linear in the graph size for networks whose
  // activations live a few steps (rather than comparing every pair).
  std::vector<std::vector<size_t>> alive(size_t(last_step - first_step + 1));
  std::vector<size_t> seen(tensors.size(), SIZE_MAX);
  std::vector<std::pair<uint64_t, uint64_t>> busy;
  for (size_t i : order) {
    const Lifetime& t = tensors[i];
    busy.clear();
    for (int step = t.first; step <= t.last; ++step) {
      for (size_t j : alive[size_t(step - first_step)]) {
        if (seen[j] == i) continue;
        seen[j] = i;
        busy.push_back({plan.offsets[j], plan.offsets[j] + align(tensors[j].bytes)});
      }
    }
    // The lowest aligned offset free for the whole lifetime.
    std::sort(busy.begin(), busy.end());
    uint64_t offset = 0;
    for (const auto& [begin, end] : busy) {
      if (offset + align(t.bytes) <= begin) break;
      offset = std::max(offset, end);
    }
    plan.offsets[i] = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + align(t.bytes));
    for (int step = t.first; step <= t.last; ++step) alive[size_t(step - first_step)].push_back(i);
  }
  return plan;
}

}  // namespace vkseg::graph
