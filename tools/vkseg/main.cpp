// vkseg command-line tool: dispatches to one function per command.
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "commands.hpp"
#include "vkseg/error.hpp"

namespace {

constexpr const char* k_usage =
    "usage: vkseg <command> [options]\n"
    "\n"
    "commands:\n"
    "  devices [--json]   list Vulkan devices and the features vkseg uses\n"
    "  convert CHECKPOINT|MODEL.onnx -o MODEL [--arch auto|list|NAME]\n"
    "          [--layout auto|caffe|aligned] [--fc-relu|--no-fc-relu] [--num-classes N]\n"
    "          [--dtype fp32|fp16] [--mean R,G,B] [--std R,G,B] [--scale S] [--bgr|--rgb]\n"
    "          [--classes NAME,NAME,...] [--refuse-non-finite] [--force]\n"
    "                     convert a PyTorch checkpoint (torch.save zip or legacy: a state dict,\n"
    "                     a whole model or a training checkpoint; safetensors) or an ONNX\n"
    "                     model (opsets 7 to 17) to a .vkseg model\n"
    "  run MODEL --input IN.npy --output OUT.npy [--device N] [--force]\n"
    "                     run the network on an N x C x H x W float32 array; write its logits\n"
    "  segment MODEL IMAGE... [-o DIR] [--overlay] [--alpha A] [--precision fp32|fp16] [--json]\n"
    "          [--crf] [--device N] [--force]\n"
    "                     label maps (palette PNG), overlays and class shares for images\n"
    "  eval MODEL --images DIR --labels DIR [--ignore 255] [--precision fp32|fp16] [--crf]\n"
    "          [--json] [--device N]\n"
    "                     pixel accuracy, mean accuracy, mean IoU, frequency-weighted IoU\n"
    "  info MODEL [--size HxW] [--batch N] [--device N]\n"
    "                     layers, output shapes, parameters, FLOPs, planned memory, classes\n"
    "  bench MODEL [--size HxW] [--batch N] [--iters N] [--warmup N] [--precision fp32|fp16]\n"
    "          [--json] [--device N]\n"
    "                     GPU and wall time (min/median/max), per-layer times, peak memory\n"
    "  ops                the ops a model graph may hold, with their attributes\n"
    "  tune MODEL [--precision fp32|fp16] [--json] [--device N]\n"
    "                     time every convolution shape's shaders again; show the choices\n"
    "\n"
    "Environment: VKSEG_DEVICE=N picks a device, VKSEG_VALIDATION=1 enables the Khronos\n"
    "validation layer, VKSEG_MAX_IMAGE_PIXELS caps decoded image sizes (default 64 Mi pixels),\n"
    "VKSEG_CACHE_DIR sets the pipeline and tuning cache. run, segment, eval, info and bench take\n"
    "--no-autotune: the built-in rules choose each convolution's shader, nothing is timed.\n"
    "\n"
    "--crf refines segment's and eval's labels with a dense CRF on the device (DeepLab v2's VOC\n"
    "settings unless given): --crf-iterations N (10), --crf-appearance-weight W (4),\n"
    "--crf-appearance-xy-std S (67), --crf-appearance-rgb-std S (3), --crf-smoothness-weight W\n"
    "(3), --crf-smoothness-xy-std S (1).\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::fputs(k_usage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "devices") return vkseg::cli::cmd_devices(args);
    if (command == "convert") return vkseg::cli::cmd_convert(args);
    if (command == "run") return vkseg::cli::cmd_run(args);
    if (command == "segment") return vkseg::cli::cmd_segment(args);
    if (command == "eval") return vkseg::cli::cmd_eval(args);
    if (command == "info") return vkseg::cli::cmd_info(args);
    if (command == "bench") return vkseg::cli::cmd_bench(args);
    if (command == "ops") return vkseg::cli::cmd_ops(args);
    if (command == "tune") return vkseg::cli::cmd_tune(args);
    fmt::print(stderr, "vkseg: unknown command '{}'\n{}", command, k_usage);
    return 2;
  } catch (const std::exception& e) {  // vkseg::Error and the standard library's alike
    fmt::print(stderr, "vkseg: error: {}\n", e.what());
    return 1;
  }
}
