// The activation planner: tensors alive at the same step never share bytes, and a chain reuses
// memory down to the two largest neighbours.
#include <chrono>
#include <random>

#include "graph/planner.hpp"
#include "harness.hpp"

namespace vkseg::test {
namespace {

using graph::Lifetime;

void expect_no_live_overlap(const std::vector<Lifetime>& t, const graph::MemoryPlan& plan,
                            uint64_t alignment) {
  for (size_t i = 0; i < t.size(); ++i) {
    EXPECT_EQ(plan.offsets[i] % alignment, 0u);
    EXPECT_LE(plan.offsets[i] + t[i].bytes, plan.arena_bytes);
    for (size_t j = i + 1; j < t.size(); ++j) {
      const bool live_together = t[i].first <= t[j].last && t[j].first <= t[i].last;
      const bool share_bytes = plan.offsets[i] < plan.offsets[j] + t[j].bytes &&
                               plan.offsets[j] < plan.offsets[i] + t[i].bytes;
      EXPECT_FALSE(live_together && share_bytes) << t[i].name << " and " << t[j].name;
    }
  }
}

TEST(Planner, RandomLifetimesNeverCollide) {
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<Lifetime> tensors;
    uint64_t total = 0;
    const int count = int(random_int(1, 40));
    for (int i = 0; i < count; ++i) {
      const int first = int(random_int(0, 30));
      tensors.push_back({"t" + std::to_string(i), random_int(1, 100000), first,
                         first + int(random_int(0, 8))});
      total += tensors.back().bytes + 256;
    }
    const graph::MemoryPlan plan = graph::plan_memory(tensors, 256);
    expect_no_live_overlap(tensors, plan, 256);
    EXPECT_LE(plan.arena_bytes, total);
  }
}

TEST(Planner, ChainNeedsOnlyTwoNeighbours) {
  // A chain a0 -> a1 -> ... where each tensor is read by the next step only.
  std::vector<Lifetime> chain;
  uint64_t largest_pair = 0;
  for (int i = 0; i < 12; ++i) {
    chain.push_back({"a" + std::to_string(i), uint64_t(1024) * random_int(1, 64), i, i + 1});
    if (i > 0) largest_pair = std::max(largest_pair, chain[i].bytes + chain[i - 1].bytes);
  }
  const graph::MemoryPlan plan = graph::plan_memory(chain, 256);
  expect_no_live_overlap(chain, plan, 256);
  EXPECT_LE(plan.arena_bytes, uint64_t(1.25 * double(largest_pair)));
}

// Super-linear work on large graphs (issue 11, class 2): a graph of the largest size the loader
// takes plans in well under a second, where comparing every pair took minutes.
TEST(HostileInput, LargeGraphsPlanInNearLinearTime) {
  std::vector<Lifetime> chain;
  for (int i = 0; i < 200000; ++i) chain.push_back({"", uint64_t(256) * (1 + i % 7), i, i + 1});
  chain.push_back({"long", 1 << 20, 0, 200000});  // alive throughout, as a skip connection
  const auto start = std::chrono::steady_clock::now();
  const graph::MemoryPlan plan = graph::plan_memory(chain, 256);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 5.0);
  EXPECT_LE(plan.arena_bytes, uint64_t(1 << 20) + 2 * 7 * 256);
}

}  // namespace
}  // namespace vkseg::test
