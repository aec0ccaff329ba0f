#include "ops/conv2d_tuner.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <vector>

#include "io/file_io.hpp"
#include "io/json.hpp"
#include "ops/conv2d.hpp"
#include "ops/dispatch.hpp"
#include "vk/context_state.hpp"

namespace vkseg::ops {

namespace {

constexpr Conv2dVariant k_candidates[] = {Conv2dVariant::Direct,    Conv2dVariant::Gemm,
                                          Conv2dVariant::Pointwise, Conv2dVariant::Tiled,
                                          Conv2dVariant::Im2col,    Conv2dVariant::Winograd,
                                          Conv2dVariant::Depthwise};
constexpr double k_proxy_flops = 1e9;
constexpr uint64_t k_proxy_weights = uint64_t(4) << 20;

std::optional<Conv2dVariant> variant_named(const std::string& name) {
  for (Conv2dVariant v : k_candidates) {
    if (name == variant_name(v)) return v;
  }
  return std::nullopt;
}

// The layer with its weights capped at k_proxy_weights by dropping output channels (never below
// 64, and not for grouped layers) and an input whose output is about k_proxy_flops of work,
// between 32x32 and 128x128: large enough for the variants to show how they scale, small enough
// to time every layer of a network in seconds. A network's variants are chosen once for every
// input size, so the proxy stands for the sizes where it spends its time: the deepest stages of a
// 512x512 input are 16 to 64 pixels wide, and there Winograd beats im2col by up to 4x while at
// 8x8 it loses (VGG's 512 -> 512, lavapipe).
struct Proxy {
  Conv2dParams params;
  Shape input;
};

// The output channels a proxy keeps: as many as fit k_proxy_weights, at least 64.
uint32_t proxy_channels(const Conv2dParams& p) {
  if (p.groups != 1) return p.out_channels;
  const uint64_t per_channel = uint64_t(p.in_channels) * p.kernel_h * p.kernel_w;
  const uint64_t cap = std::max<uint64_t>(64, k_proxy_weights / per_channel / 16 * 16);
  return uint32_t(std::min<uint64_t>(p.out_channels, cap));
}

Proxy proxy_of(const Conv2dParams& p) {
  Proxy proxy{p, {}};
  proxy.params.out_channels = proxy_channels(p);
  const double per_pixel = 2.0 * proxy.params.out_channels * (p.in_channels / p.groups) *
                           p.kernel_h * p.kernel_w;
  uint32_t side = uint32_t(std::clamp(std::sqrt(k_proxy_flops / per_pixel), 32.0, 128.0));
  // A dilated layer's choice depends on how many points its sub-grids (outputs `dilation` apart)
  // hold: Winograd pads them to tiles of 4. ASPP's rates are about half the map they were
  // trained for, so the proxy's map spans at least 3 points a sub-grid, with output channels cut
  // to keep its work.
  const uint32_t dilation = std::max(p.dilation_h, p.dilation_w);
  if (const uint32_t wide = std::min<uint32_t>(128, 2 * dilation + 1);
      p.groups == 1 && wide > side) {
    const uint32_t oc = proxy.params.out_channels;
    const double shrink = double(side) * side / (double(wide) * wide);
    proxy.params.out_channels =
        std::max(std::min(oc, 64u), uint32_t(oc * shrink) / 16 * 16);
    side = wide;
  }
  auto input_extent = [&](uint32_t k, uint32_t s, uint32_t pad0, uint32_t pad1, uint32_t d) {
    const int64_t in = int64_t(side - 1) * s + int64_t(d) * (k - 1) + 1 - pad0 - int64_t(pad1);
    return uint32_t(std::max<int64_t>(in, 1));
  };
  proxy.input = {1, p.in_channels,
                 input_extent(p.kernel_h, p.stride_h, p.pad_h, p.bottom(), p.dilation_h),
                 input_extent(p.kernel_w, p.stride_w, p.pad_w, p.right(), p.dilation_w)};
  return proxy;
}

// Best of up to three runs (after a warm-up) of the layer as `variant` on the proxy, in
// milliseconds (GPU time where the device has timestamps); stops early once a run is over
// `give_up_ms`. Throws if the variant cannot run it.
double time_variant(Context& context, const Proxy& proxy, Conv2dVariant variant,
                    double give_up_ms) {
  Conv2dParams p = proxy.params;
  p.variant = variant;
  const Conv2d conv(context, p);
  const Shape out = conv.output_shape(proxy.input);
  const DType type = storage_type(p.precision);
  const Shape weight_shape = conv.prepared_weight_shape();
  const uint64_t workspace_bytes = conv.workspace_bytes(proxy.input);
  auto aligned = [&](uint64_t v) { return align_to_binding(context.info(), v); };
  // One zero-filled buffer: input, weights, bias, output, workspace.
  const uint64_t input_at = 0;
  const uint64_t weight_at = aligned(proxy.input.bytes(type));
  const uint64_t bias_at = aligned(weight_at + weight_shape.bytes(conv.prepared_weight_type()));
  const uint64_t output_at = aligned(bias_at + uint64_t(p.out_channels) * 4);
  const uint64_t workspace_at = aligned(output_at + out.bytes(type));
  vk::Buffer buffer(context, workspace_at + std::max<uint64_t>(workspace_bytes, 16));
  const Tensor input{proxy.input, buffer.view(input_at, proxy.input.bytes(type)), type};
  const Tensor weight{weight_shape,
                      buffer.view(weight_at, weight_shape.bytes(conv.prepared_weight_type())),
                      conv.prepared_weight_type()};
  const Tensor bias{{1, p.out_channels, 1, 1}, buffer.view(bias_at, uint64_t(p.out_channels) * 4)};
  const Tensor output{out, buffer.view(output_at, out.bytes(type)), type};
  const Tensor workspace{{1, 1, 1, 1}, buffer.view(workspace_at, std::max<uint64_t>(workspace_bytes, 16))};

  vk::Recorder recorder(context, 4096);
  recorder.begin();
  conv.record(recorder, input, weight, p.bias ? &bias : nullptr, output,
              workspace_bytes ? &workspace : nullptr);
  recorder.end();
  double best = std::numeric_limits<double>::infinity();
  for (int run = 0; run < 4; ++run) {
    const auto start = std::chrono::steady_clock::now();
    recorder.submit();
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count();
    if (const auto times = recorder.timings(); !times.empty()) {
      ms = 0;
      for (const vk::DispatchTime& t : times) ms += t.milliseconds;
    }
    if (run > 0) best = std::min(best, ms);  // the first run warms caches up
    if (ms > give_up_ms) break;
  }
  return best;
}

// Timing a layer costs a pipeline build per variant (a fraction of a second each on a CPU device),
// which only a layer with much work per output pixel repays: grouped and depthwise layers, and
// thin ones like MobileNet's expansions or a ResNet bottleneck's 1x1 reductions, are left to the
// rules.
//
// Nor is a layer whose proxy keeps under a quarter of its weights: the proxy's stay in the CPU's
// caches where the layer's stream from memory, which changes the ranking (a Caffe FCN's fc6,
// 7x7 512 -> 4096, 411 MB, on a Xeon's lavapipe: conv2d_gemm 1.65x ahead of im2col on its
// 160-channel proxy, 1.15x behind on the layer at 512x512, 1926 against 1680 ms).
bool worth_timing(const Conv2dParams& p) {
  constexpr uint64_t k_min_macs_per_pixel = 32768;  // VGG's 64 -> 64 3x3 is 36864
  const uint64_t macs = uint64_t(p.in_channels) * p.out_channels * p.kernel_h * p.kernel_w;
  return p.groups == 1 && macs >= k_min_macs_per_pixel &&
         uint64_t(proxy_channels(p)) * 4 >= p.out_channels;
}

// The file maps each layer key to {"variant", "proxy", "ms": {variant: best ms}}; a bare variant
// name (what earlier versions wrote) is read too.
void load_tuning(vk::ContextState& s) {
  if (s.tuning_loaded) return;
  s.tuning_loaded = true;
  if (s.tuning_file.empty()) return;
  try {
    const std::vector<uint8_t> bytes = io::read_file(s.tuning_file);
    const auto j = io::parse_json(
        std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), "tuning cache");
    for (const auto& [key, value] : j.items()) {
      if (value.is_string()) {
        s.tuned[key] = value.get<std::string>();
      } else if (value.is_object() && value.contains("variant") && value["variant"].is_string()) {
        s.tuned[key] = value["variant"].get<std::string>();
        s.tuned_detail[key] = value;
      }
    }
  } catch (const std::exception&) {
    s.tuned.clear();  // missing or corrupt: tune again and rewrite it
    s.tuned_detail.clear();
  }
}

void save_tuning(const vk::ContextState& s) {
  if (s.tuning_file.empty()) return;
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [key, variant] : s.tuned) {
    const auto detail = s.tuned_detail.find(key);
    j[key] = detail != s.tuned_detail.end() ? nlohmann::ordered_json(detail->second)
                                            : nlohmann::ordered_json(variant);
  }
  const std::string text = j.dump(1);
  try {
    std::error_code error;
    std::filesystem::create_directories(std::filesystem::path(s.tuning_file).parent_path(), error);
    io::write_file_atomically(s.tuning_file,
                              {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  } catch (const Error&) {
    // The file only saves time later; tuning results stay in memory for this context.
  }
}

bool recorded(const vk::ContextState& s, const std::string& key) {
  return std::any_of(s.tuning_records.begin(), s.tuning_records.end(),
                     [&](const TuningRecord& r) { return r.layer == key; });
}

}  // namespace

std::string tuning_key(const Conv2dParams& p) {
  // Asymmetric padding adds the bottom and right, so symmetric layers keep their keys.
  const std::string pads =
      p.bottom() == p.pad_h && p.right() == p.pad_w
          ? fmt::format("{}x{}", p.pad_h, p.pad_w)
          : fmt::format("{}x{}x{}x{}", p.pad_h, p.pad_w, p.bottom(), p.right());
  return fmt::format("c{}-o{}-k{}x{}-s{}x{}-p{}-d{}x{}-g{}-{}", p.in_channels, p.out_channels,
                     p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, pads, p.dilation_h,
                     p.dilation_w, p.groups, precision_name(p.precision));
}

Conv2dVariant tuned_variant(Context& context, const Conv2dParams& params) {
  vk::ContextState& s = vk::state(context);
  std::lock_guard lock(s.tuning_mutex);
  load_tuning(s);
  const std::string key = tuning_key(params);
  // With retune, a cached choice counts only once this context has timed it itself; one measured
  // on another proxy than this version takes (an earlier rule) is timed again.
  const Proxy proxy = proxy_of(params);
  const auto detail = s.tuned_detail.find(key);
  const bool other_proxy = detail != s.tuned_detail.end() && detail->second.contains("proxy") &&
                           detail->second["proxy"] != proxy.input.str();
  if (const auto it = s.tuned.find(key);
      it != s.tuned.end() && !other_proxy && (!s.retune || recorded(s, key))) {
    const auto variant = variant_named(it->second);
    if (variant && Conv2d::supports(context, params, *variant)) {
      if (!recorded(s, key)) {
        TuningRecord r{key, it->second, true, {}, {}};
        if (detail != s.tuned_detail.end()) {
          if (detail->second.contains("proxy") && detail->second["proxy"].is_string()) {
            r.proxy = detail->second["proxy"].get<std::string>();
          }
          if (detail->second.contains("ms") && detail->second["ms"].is_object()) {
            for (const auto& [name, ms] : detail->second["ms"].items()) {
              if (ms.is_number()) r.milliseconds.push_back({name, ms.get<double>()});
            }
          }
        }
        s.tuning_records.push_back(std::move(r));
      }
      return *variant;
    }
  }
  if (!worth_timing(params)) return Conv2dVariant::Auto;
  // The rules' choice first: its time lets a far slower variant give up after one run.
  const Conv2dVariant rule = Conv2d::rule_variant(context, params);
  std::vector<Conv2dVariant> order{rule};
  for (Conv2dVariant variant : k_candidates) {
    if (variant != rule && Conv2d::supports(context, params, variant)) order.push_back(variant);
  }
  if (order.size() < 2) return Conv2dVariant::Auto;
  Conv2dVariant best = Conv2dVariant::Auto;
  double best_ms = std::numeric_limits<double>::infinity();
  TuningRecord record{key, "", false, proxy.input.str(), {}, variant_name(rule)};
  for (Conv2dVariant variant : order) {
    try {
      const double ms = time_variant(context, proxy, variant, 3 * best_ms);
      record.milliseconds.push_back({variant_name(variant), ms});
      // Another variant displaces the rules' choice only by tuning_rule_margin (FCN's 7x7 fc6:
      // conv2d_gemm 7% ahead of im2col on the proxy, 3x behind it on the layer).
      const double needed =
          variant == rule || best != rule ? best_ms : best_ms / tuning_rule_margin;
      if (ms < needed) best = variant, best_ms = ms;
    } catch (const VulkanError& e) {
      // Out of memory: not a candidate. A lost or hung device: nothing else will run either.
      if (e.result() != VK_ERROR_OUT_OF_DEVICE_MEMORY &&
          e.result() != VK_ERROR_OUT_OF_HOST_MEMORY) {
        throw;
      }
    } catch (const Error&) {
      // This variant cannot run the layer here (a device limit): not a candidate.
    }
  }
  if (best == Conv2dVariant::Auto) return best;  // nothing measured: the rules decide
  record.variant = variant_name(best);
  nlohmann::json entry{{"variant", record.variant}, {"proxy", record.proxy}};
  entry["ms"] = nlohmann::json::object();
  for (const auto& [name, ms] : record.milliseconds) {
    entry["ms"][name] = std::isfinite(ms) ? nlohmann::json(ms) : nlohmann::json(nullptr);
  }
  s.tuned[key] = record.variant;
  s.tuned_detail[key] = std::move(entry);
  s.tuning_records.push_back(std::move(record));
  save_tuning(s);
  return best;
}

}  // namespace vkseg::ops
