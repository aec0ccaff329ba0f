#!/usr/bin/python3
"""Times segmentation networks (random weights) in vkseg and in PyTorch on the same machine, from
one run, and prints both with their ratio: FCN-8s (full VGG16 backbone, Caffe padding) by
default, the lecture's FCN-8s (full VGG16, 1x1 fc6; --model lecture_fcn8s), one of torchvision's
(--model deeplabv3_resnet50, lraspp_mobilenet_v3_large, ...), or the issue's four targets one
after another with every ratio printed at the end (--model all).

  /usr/bin/python3 bench/compare_pytorch.py [--model fcn8s|all|...] [--vkseg build/vkseg]
                                            [--size 512x512] [--iters 5]

PyTorch runs on the CPU with as many threads as cores; where CUDA is available it also runs on the
GPU in fp32 (TF32 off) and in fp16 (channels_last). vkseg's figures come from `vkseg bench --json`
(GPU time from timestamp queries, wall time including upload and download)."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "fixtures"))
from make_fcn_fixtures import FCN, FULL  # noqa: E402
from make_fcn_variant_fixtures import LectureFCN  # noqa: E402


def summary(values):
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def time_torch(model, x, warmup, iters, cuda):
    times = []
    with torch.no_grad():
        for i in range(warmup + iters):
            if cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                model(x)
                end.record()
                torch.cuda.synchronize()
                elapsed = start.elapsed_time(end)
            else:
                t0 = time.perf_counter()
                model(x)
                elapsed = (time.perf_counter() - t0) * 1000
            if i >= warmup:
                times.append(elapsed)
    return summary(times)


TORCHVISION_MODELS = ("fcn_resnet50", "fcn_resnet101", "deeplabv3_resnet50",
                      "deeplabv3_resnet101", "deeplabv3_mobilenet_v3_large",
                      "lraspp_mobilenet_v3_large")


def build_model(name):
    if name == "fcn8s":
        return FCN("fcn8s", **FULL).eval()
    if name == "lecture_fcn8s":
        return LectureFCN("fcn8s", **FULL).eval()
    import torchvision.models.segmentation as segmentation
    return getattr(segmentation, name)(weights=None, weights_backbone=None,
                                       num_classes=21).eval()


# The targets (lavapipe: FCN-8s ratio <= 1.0, torchvision's within 1.5x), in one run.
ALL_MODELS = (("lecture_fcn8s", "512x512"), ("fcn8s", "512x512"),
              ("deeplabv3_resnet50", "520x520"), ("lraspp_mobilenet_v3_large", "520x520"))


def compare(name, size, args):
    """Times one network on both sides; returns the results and prints them."""
    height, width = (int(v) for v in size.split("x"))
    threads = os.cpu_count()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build_model(name)
    x = torch.randn(1, 3, height, width)
    results = {"model": name, "size": [height, width], "threads": threads}

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = os.path.join(tmp, f"{name}.pth")
        torch.save(model.state_dict(), checkpoint)
        converted = os.path.join(tmp, f"{name}.vkseg")
        subprocess.run([args.vkseg, "convert", checkpoint, "-o", converted], check=True,
                       stdout=subprocess.DEVNULL)
        command = [args.vkseg, "bench", converted, "--size", size, "--iters",
                   str(args.iters), "--warmup", str(args.warmup), "--json"]
        if args.device is not None:
            command += ["--device", args.device]
        results["vkseg"] = json.loads(subprocess.run(command, check=True, capture_output=True,
                                                     text=True).stdout)

    results["torch_cpu_ms"] = time_torch(model, x, args.warmup, args.iters, cuda=False)
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
        gpu_model = model.cuda()
        results["torch_cuda_fp32_ms"] = time_torch(gpu_model, x.cuda(), args.warmup, args.iters,
                                                   cuda=True)
        half = gpu_model.half().to(memory_format=torch.channels_last)
        xh = x.cuda().half().to(memory_format=torch.channels_last)
        results["torch_cuda_fp16_ms"] = time_torch(half, xh, args.warmup, args.iters, cuda=True)
        results["cuda_device"] = torch.cuda.get_device_name()

    v = results["vkseg"]
    results["ratio_cpu"] = v["wall_ms"]["median"] / results["torch_cpu_ms"]["median"]
    print(f"{name} {height}x{width}, batch 1, vkseg on {v['device']}")
    print(f"  vkseg GPU time   median {v['gpu_ms']['median']:9.1f} ms  "
          f"(min {v['gpu_ms']['min']:.1f}, max {v['gpu_ms']['max']:.1f})")
    print(f"  vkseg wall time  median {v['wall_ms']['median']:9.1f} ms")
    cpu = results["torch_cpu_ms"]
    print(f"  PyTorch CPU      median {cpu['median']:9.1f} ms  ({threads} threads)")
    print(f"  ratio vkseg wall / PyTorch CPU: {results['ratio_cpu']:.2f}")
    for key in ("torch_cuda_fp32_ms", "torch_cuda_fp16_ms"):
        if key in results:
            print(f"  PyTorch {key[6:-3]:<9} median {results[key]['median']:9.2f} ms; ratio vkseg "
                  f"GPU / PyTorch: {v['gpu_ms']['median'] / results[key]['median']:.2f}")
    # The profile behind the figure: where vkseg's time goes, by shader.
    for kernel in v["kernels"][:4]:
        print(f"    {kernel['kernel']:<28} {kernel['ms']:9.1f} ms  {100 * kernel['share']:5.1f}%")
    print(json.dumps(results))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vkseg", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                        "vkseg"))
    parser.add_argument("--model", default="fcn8s",
                        choices=("all", "fcn8s", "lecture_fcn8s") + TORCHVISION_MODELS)
    parser.add_argument("--size", default=None,
                        help="HxW (default 512x512 for FCN-8s, 520x520 for torchvision's)")
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default=None, help="vkseg --device index")
    args = parser.parse_args()
    if args.model == "all":
        runs = [(name, args.size or size) for name, size in ALL_MODELS]
    else:
        default = "512x512" if args.model.endswith("fcn8s") else "520x520"
        runs = [(args.model, args.size or default)]
    summary_rows = [compare(name, size, args) for name, size in runs]
    if len(summary_rows) > 1:
        print("model                      size      vkseg ms  PyTorch CPU ms  ratio")
        for r in summary_rows:
            print(f"{r['model']:<26} {r['size'][0]}x{r['size'][1]:<5} "
                  f"{r['vkseg']['wall_ms']['median']:9.1f}  {r['torch_cpu_ms']['median']:14.1f}  "
                  f"{r['ratio_cpu']:5.2f}")


if __name__ == "__main__":
    main()
