#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace vkseg::graph {

// An activation: its size and the steps (node indices) from its producer to its last reader.
struct Lifetime {
  std::string name;
  uint64_t bytes = 0;
  int first = 0;
  int last = 0;
};

struct MemoryPlan {
  std::vector<uint64_t> offsets;  // per lifetime, in the order given
  uint64_t arena_bytes = 0;
};

// Places activations in one arena so that tensors alive at the same step never overlap: largest
// first, each at the lowest aligned offset that is free for its whole lifetime.
MemoryPlan plan_memory(const std::vector<Lifetime>& tensors, uint64_t alignment);

}  // namespace vkseg::graph
