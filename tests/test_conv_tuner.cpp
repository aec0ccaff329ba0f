// Convolution autotuning: the choice is a variant that runs the layer, it is kept on disk and
// read back by a later context, and a corrupt cache file is replaced.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "ops/conv2d.hpp"
#include "ops/conv2d_tuner.hpp"
#include "vk/context_state.hpp"

using namespace vkseg;

namespace {

ContextOptions tuning_options(const std::filesystem::path& dir, std::vector<std::string>& messages) {
  ContextOptions options;
  options.validation = true;
  options.cache_dir = dir.string();
  options.autotune = true;
  options.on_validation_message = [&](const std::string& m) { messages.push_back(m); };
  return options;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

}  // namespace

TEST(ConvTuner, ChoosesARunnableVariantAndKeepsItOnDisk) {
  const std::filesystem::path dir = test::temp_dir() / "vkseg-tuning";
  std::vector<std::string> messages;
  const ops::Conv2dParams layer{.in_channels = 64, .out_channels = 72, .kernel_h = 3,
                                .kernel_w = 3, .pad_h = 1, .pad_w = 1, .activation = {ops::ActivationKind::Relu}};
  std::string file;
  {
    Context first(tuning_options(dir, messages));
    const ops::Conv2dVariant chosen = ops::tuned_variant(first, layer);
    EXPECT_NE(chosen, ops::Conv2dVariant::Auto);
    EXPECT_TRUE(ops::Conv2d::supports(first, layer, chosen));
    file = vk::state(first).tuning_file;
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    EXPECT_EQ(read_json(file).at(ops::tuning_key(layer)).at("variant"), ops::variant_name(chosen));
  }
  // A later context takes the choice from the file without timing again: one planted there
  // (Direct, which runs every layer and is never the fastest here) is what it returns.
  {
    nlohmann::json j = read_json(file);
    j[ops::tuning_key(layer)] = "direct";
    std::ofstream(file) << j.dump();
  }
  {
    Context second(tuning_options(dir, messages));
    EXPECT_EQ(ops::tuned_variant(second, layer), ops::Conv2dVariant::Direct);
  }
  // A corrupt file, or a choice that cannot run the layer, is tuned again and rewritten.
  { std::ofstream(file) << "{ not json"; }
  {
    Context third(tuning_options(dir, messages));
    const ops::Conv2dVariant chosen = ops::tuned_variant(third, layer);
    EXPECT_TRUE(ops::Conv2d::supports(third, layer, chosen));
    EXPECT_EQ(read_json(file).at(ops::tuning_key(layer)).at("variant"), ops::variant_name(chosen));
  }
  {
    std::ofstream(file) << nlohmann::json{{ops::tuning_key(layer), "pointwise"}}.dump();
    Context fourth(tuning_options(dir, messages));
    EXPECT_NE(ops::tuned_variant(fourth, layer), ops::Conv2dVariant::Pointwise);  // 3x3: cannot
  }
  EXPECT_TRUE(messages.empty()) << messages.front();
}

// Depthwise and thin layers repay no pipeline builds: the rules choose, and nothing is timed or
// stored for them.
TEST(ConvTuner, LeavesDepthwiseAndThinLayersToTheRules) {
  const std::filesystem::path dir = test::temp_dir() / "vkseg-tuning";
  std::vector<std::string> messages;
  Context context(tuning_options(dir, messages));
  const ops::Conv2dParams depthwise{.in_channels = 480, .out_channels = 480, .kernel_h = 5,
                                    .kernel_w = 5, .pad_h = 2, .pad_w = 2, .groups = 480};
  const ops::Conv2dParams thin{.in_channels = 40, .out_channels = 120, .kernel_h = 1,
                               .kernel_w = 1};
  EXPECT_EQ(ops::tuned_variant(context, depthwise), ops::Conv2dVariant::Auto);
  EXPECT_EQ(ops::tuned_variant(context, thin), ops::Conv2dVariant::Auto);
  EXPECT_FALSE(std::filesystem::exists(vk::state(context).tuning_file));
  EXPECT_TRUE(messages.empty()) << messages.front();
}

// Each choice says how it was measured, in the context and in the file; a later context reports
// the cached choice as such, retune times it again, and a file of an earlier version (bare
// variant names) still reads.
TEST(ConvTuner, RecordsHowItMeasuredAndRetunesOnRequest) {
  const std::filesystem::path dir = test::temp_dir() / "vkseg-tuning";
  std::vector<std::string> messages;
  const ops::Conv2dParams layer{.in_channels = 64, .out_channels = 64, .kernel_h = 3,
                                .kernel_w = 3, .pad_h = 1, .pad_w = 1};
  const std::string key = ops::tuning_key(layer);
  std::string file;
  {
    Context first(tuning_options(dir, messages));
    const ops::Conv2dVariant chosen = ops::tuned_variant(first, layer);
    ops::tuned_variant(first, layer);  // the same shape again: recorded once
    const auto records = first.tuning_records();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].layer, key);
    EXPECT_EQ(records[0].variant, ops::variant_name(chosen));
    EXPECT_FALSE(records[0].from_cache);
    EXPECT_FALSE(records[0].proxy.empty());
    ASSERT_GE(records[0].milliseconds.size(), 2u);
    double chosen_ms = -1, fastest = std::numeric_limits<double>::infinity();
    for (const auto& [name, ms] : records[0].milliseconds) {
      if (name == records[0].variant) chosen_ms = ms;
      fastest = std::min(fastest, ms);
    }
    // The fastest, or the rules' choice where nothing beats it by the margin.
    if (chosen != ops::Conv2d::rule_variant(first, layer)) {
      EXPECT_EQ(chosen_ms, fastest);
    } else {
      EXPECT_LE(chosen_ms, fastest * tuning_rule_margin);
    }
    file = vk::state(first).tuning_file;
    // Named by device, driver and the embedded shaders, so another vkseg's shaders retune.
    EXPECT_TRUE(std::regex_match(std::filesystem::path(file).filename().string(),
                                 std::regex("conv2d-tuning-.*-[0-9a-f]{16}\\.json")))
        << file;
    const auto entry = read_json(file).at(key);
    EXPECT_EQ(entry.at("variant"), ops::variant_name(chosen));
    EXPECT_TRUE(entry.at("ms").contains(ops::variant_name(chosen)));
  }
  {
    Context second(tuning_options(dir, messages));
    ops::tuned_variant(second, layer);
    const auto records = second.tuning_records();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_TRUE(records[0].from_cache);
    EXPECT_FALSE(records[0].milliseconds.empty());
  }
  {
    std::ofstream(file) << nlohmann::json{{key, "direct"}}.dump();
    ContextOptions options = tuning_options(dir, messages);
    options.retune = true;
    Context third(options);
    ops::tuned_variant(third, layer);
    const auto records = third.tuning_records();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_FALSE(records[0].from_cache);
    EXPECT_TRUE(read_json(file).at(key).is_object());
  }
  {
    std::ofstream(file) << nlohmann::json{{key, "direct"}}.dump();
    Context fourth(tuning_options(dir, messages));
    EXPECT_EQ(ops::tuned_variant(fourth, layer), ops::Conv2dVariant::Direct);
  }
  // A choice measured on another proxy (an earlier version's) no longer fits: timed again.
  {
    const nlohmann::json stale{{"variant", "direct"}, {"proxy", "1x64x9x9"}, {"ms", {{"direct", 1.0}}}};
    std::ofstream(file) << nlohmann::json{{key, stale}}.dump();
    Context fifth(tuning_options(dir, messages));
    ops::tuned_variant(fifth, layer);
    const auto records = fifth.tuning_records();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_FALSE(records[0].from_cache);
    EXPECT_NE(records[0].proxy, "1x64x9x9");
    EXPECT_EQ(read_json(file).at(key).at("proxy"), records[0].proxy);
  }
  EXPECT_TRUE(messages.empty()) << messages.front();
}
