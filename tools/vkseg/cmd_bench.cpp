// `vkseg bench`: GPU time (timestamp queries) and wall time (upload, run, download) of a model,
// per layer too, with the device memory it took.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>

#include "args.hpp"
#include "commands.hpp"
#include "vkseg/crf.hpp"
#include "vkseg/error.hpp"
#include "vkseg/image.hpp"
#include "vkseg/model.hpp"
#include "vkseg/segment.hpp"
#include "vkseg/text.hpp"

namespace vkseg::cli {

namespace {

struct Stats {
  double min = 0, median = 0, max = 0;
};

Stats stats(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  const double median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  return {v.front(), median, v.back()};
}

nlohmann::ordered_json stats_json(const Stats& s) {
  return {{"min", s.min}, {"median", s.median}, {"max", s.max}};
}

}  // namespace

int cmd_bench(const std::vector<std::string>& arguments) {
  const Args args("bench", arguments,
                  with_crf_options({"--size", "--batch", "--iters", "--warmup", "--precision",
                                    "--device", "--image"}),
                  {"--json", "--no-autotune", "--crf"});
  if (args.positional().size() != 1) {
    throw Error("bench: usage: vkseg bench MODEL [--size HxW | --crf --image IMAGE] [--batch N] "
                "[--iters N] [--warmup N] [--precision fp32|fp16] [--json] [--device N]");
  }
  const Precision precision = parse_precision(args.value_or("--precision", "fp32"));
  const std::optional<CrfOptions> crf = crf_options("bench", args);
  if (crf && (!args.value("--image") || args.value("--size"))) {
    throw Error("bench: --crf times the CRF on a real image: give --image IMAGE (its size sets "
                "the network's) instead of --size");
  }
  if (!crf && args.value("--image")) throw Error("bench: --image is for --crf");
  // The CRF's cost depends on the image's colours (its lattice's size), so it is timed on one.
  const std::optional<Image> image =
      crf ? std::optional<Image>(read_image(*args.value("--image"))) : std::nullopt;
  const uint32_t batch = args.uint_value("--batch", 1, 4096).value_or(1);
  const uint32_t iters = args.uint_value("--iters", 1, 100000).value_or(10);
  const uint32_t warmup = args.uint_value("--warmup", 0, 100000).value_or(3);

  Model model = Model::load(args.positional()[0]);
  Context context(context_options(args));
  context.reset_peak_memory();
  Network network(context, model, precision);
  model = network.model();  // drops the host copy of the weights
  // Only for the CRF's image: a Segmenter takes RGB models only.
  std::optional<Segmenter> segmenter;
  if (image) segmenter.emplace(network);
  const auto [height, width] = [&] {
    if (!image) return parse_size(args.value_or("--size", "512x512"));
    const auto [w, h] = segmenter->network_size(image->width, image->height);
    return std::pair<uint32_t, uint32_t>(h, w);
  }();
  // With --crf at batch 1 the segmenter's own session is the one timed, so the peak memory counts
  // one set of activations, as `segment --crf` holds.
  std::optional<Session> own_session;
  if (!segmenter || batch != 1) own_session.emplace(network, batch, height, width);
  Session& session = own_session ? *own_session : segmenter->session(height, width);
  const Shape4 in = session.input_shape(), out = session.output_shape();
  std::vector<float> input(static_cast<size_t>(in[0]) * in[1] * in[2] * in[3]);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  for (float& v : input) v = normal(rng);
  std::vector<float> logits(static_cast<size_t>(out[0]) * out[1] * out[2] * out[3]);

  for (uint32_t i = 0; i < warmup; ++i) session.run(input.data(), logits.data());
  std::vector<double> wall, gpu;
  std::map<std::string, std::vector<double>> per_layer, per_kernel;
  for (uint32_t i = 0; i < iters; ++i) {
    const auto start = std::chrono::steady_clock::now();
    session.run(input.data(), logits.data());
    wall.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    double total = 0;
    for (const Session::LayerTime& t : session.last_run_times()) {
      per_layer[t.name].push_back(t.milliseconds);
      total += t.milliseconds;
    }
    if (!per_layer.empty()) gpu.push_back(total);
    std::map<std::string, double> kernels;
    for (const Session::KernelTime& t : session.last_kernel_times()) {
      kernels[t.kernel] += t.milliseconds;
    }
    for (const auto& [kernel, ms] : kernels) per_kernel[kernel].push_back(ms);
  }
  std::vector<double> crf_wall;
  uint64_t crf_bytes = 0;
  if (crf) {
    Session& logits = segmenter->run(image->rgb.data(), image->width, image->height);
    DenseCrf refiner(context, *crf);
    auto refine = [&] {
      refiner.refine(logits.logits_range(), out[1], width, height, image->rgb.data(),
                     image->width, image->height);
    };
    for (uint32_t i = 0; i < warmup; ++i) refine();
    for (uint32_t i = 0; i < iters; ++i) {
      const auto start = std::chrono::steady_clock::now();
      refine();
      crf_wall.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    crf_bytes = refiner.device_bytes();
  }
  // Shaders by median total time, the largest first: where the time goes.
  std::vector<std::pair<std::string, double>> kernel_rows;
  for (const auto& [kernel, times] : per_kernel) kernel_rows.push_back({kernel, stats(times).median});
  std::sort(kernel_rows.begin(), kernel_rows.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  const Stats gpu_ms = stats(gpu), wall_ms = stats(wall);
  uint64_t total_flops = 0;
  for (const Session::Layer& l : session.layers()) total_flops += l.flops;
  const DeviceInfo& device = context.info();

  struct Row {
    std::string name, op, fused_into;
    double ms, gflops;
  };
  std::vector<Row> rows;
  size_t timed = 0;
  for (const Session::Layer& l : session.layers()) {
    const auto it = per_layer.find(l.name);
    const double ms = it == per_layer.end() ? 0.0 : stats(it->second).median;
    timed += it != per_layer.end() || !l.fused_into.empty();
    rows.push_back({l.name, l.op, l.fused_into, ms, ms > 0 ? double(l.flops) / (ms * 1e6) : 0.0});
  }
  const double layer_sum = std::max(1e-9, [&] {
    double t = 0;
    for (const Row& r : rows) t += r.ms;
    return t;
  }());

  if (args.has("--json")) {
    nlohmann::ordered_json j;
    j["model"] = model.arch();
    j["device"] = device.name;
    j["driver"] = device.driver_name + " " + device.driver_info;
    j["size"] = {height, width};
    j["batch"] = batch;
    j["precision"] = precision_name(precision);
    j["iters"] = iters;
    j["warmup"] = warmup;
    j["gpu_ms"] = stats_json(gpu_ms);
    j["wall_ms"] = stats_json(wall_ms);
    j["gflop"] = double(total_flops) * 1e-9;
    j["gflops_per_second"] = gpu_ms.median > 0 ? double(total_flops) / (gpu_ms.median * 1e6) : 0.0;
    j["peak_device_bytes"] = context.peak_device_bytes();
    j["weight_bytes"] = network.weight_bytes();
    j["activation_bytes"] = session.activation_bytes();
    j["workspace_bytes"] = session.workspace_bytes();
    j["layers_timed_on_device"] = timed;
    if (crf) {
      j["crf"] = {{"image_size", {image->height, image->width}}, {"iterations", crf->iterations},
                  {"wall_ms", stats_json(stats(crf_wall))}, {"device_bytes", crf_bytes}};
    }
    j["layers"] = nlohmann::ordered_json::array();
    for (const Row& r : rows) {
      j["layers"].push_back({{"name", r.name}, {"op", r.op}, {"ms", r.ms},
                             {"share", r.ms / layer_sum}, {"gflops", r.gflops},
                             {"fused_into", r.fused_into}});
    }
    j["kernels"] = nlohmann::ordered_json::array();
    for (const auto& [kernel, ms] : kernel_rows) {
      j["kernels"].push_back({{"kernel", kernel}, {"ms", ms}, {"share", ms / layer_sum}});
    }
    print_json_line(j);
    return 0;
  }
  fmt::print("{} on {} ({} {}), {}x{} batch {}, {}\n", printable(model.arch()), device.name,
             device.driver_name, device.driver_info, height, width, batch,
             precision_name(precision));
  fmt::print("{} warm-up + {} timed runs\n", warmup, iters);
  if (gpu.empty()) {
    fmt::print("GPU time     (this device writes no timestamps)\n");
  } else {
    fmt::print("GPU time     min {:.2f}  median {:.2f}  max {:.2f} ms  ({:.1f} GFLOP/s)\n",
               gpu_ms.min, gpu_ms.median, gpu_ms.max,
               double(total_flops) / (gpu_ms.median * 1e6));
  }
  fmt::print("wall time    min {:.2f}  median {:.2f}  max {:.2f} ms  (upload, run, download)\n",
             wall_ms.min, wall_ms.median, wall_ms.max);
  fmt::print("peak memory  {:.1f} MiB (weights {:.1f}, activations {:.1f}, workspace {:.1f})\n",
             double(context.peak_device_bytes()) / (1 << 20),
             double(network.weight_bytes()) / (1 << 20),
             double(session.activation_bytes()) / (1 << 20),
             double(session.workspace_bytes()) / (1 << 20));
  if (crf) {
    const Stats c = stats(crf_wall);
    fmt::print("dense CRF    min {:.2f}  median {:.2f}  max {:.2f} ms wall on {}x{} ({} iterations, "
               "lattice included), {:.1f} MiB\n",
               c.min, c.median, c.max, image->width, image->height, crf->iterations,
               double(crf_bytes) / (1 << 20));
  }
  fmt::print("\n  {:<16} {:<17} {:>10} {:>7} {:>10}\n", "layer", "op", "ms", "share", "GFLOP/s");
  for (const Row& r : rows) {
    if (!r.fused_into.empty()) {
      fmt::print("  {:<16} {:<17} {:>10} (computed by {})\n", printable(r.name), r.op, "-",
                 printable(r.fused_into));
      continue;
    }
    fmt::print("  {:<16} {:<17} {:>10.3f} {:>6.1f}% {:>10.1f}\n", printable(r.name), r.op, r.ms,
               100 * r.ms / layer_sum, r.gflops);
  }
  fmt::print("{} of {} layers timed on the device\n", timed, rows.size());
  if (!kernel_rows.empty()) {
    fmt::print("\n  {:<34} {:>10} {:>7}\n", "shader", "ms", "share");
    for (const auto& [kernel, ms] : kernel_rows) {
      fmt::print("  {:<34} {:>10.3f} {:>6.1f}%\n", kernel, ms, 100 * ms / layer_sum);
    }
  }
  return 0;
}

}  // namespace vkseg::cli
