#!/usr/bin/python3
"""Times a segmentation network (random weights) in vkseg and in PyTorch on the same machine, from
one run, and prints both with their ratio: FCN-8s (full VGG16 backbone, Caffe padding) by
default, or one of torchvision's (--model deeplabv3_resnet50, lraspp_mobilenet_v3_large, ...).

  /usr/bin/python3 bench/compare_pytorch.py [--model fcn8s] [--vkseg build/vkseg]
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
    import torchvision.models.segmentation as segmentation
    return getattr(segmentation, name)(weights=None, weights_backbone=None,
                                       num_classes=21).eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vkseg", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                        "vkseg"))
    parser.add_argument("--model", default="fcn8s", choices=("fcn8s",) + TORCHVISION_MODELS)
    parser.add_argument("--size", default=None,
                        help="HxW (default 512x512 for FCN-8s, 520x520 for torchvision's)")
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default=None, help="vkseg --device index")
    args = parser.parse_args()
    if args.size is None:
        args.size = "512x512" if args.model == "fcn8s" else "520x520"
    height, width = (int(v) for v in args.size.split("x"))
    threads = os.cpu_count()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build_model(args.model)
    x = torch.randn(1, 3, height, width)
    results = {"size": [height, width], "threads": threads}

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = os.path.join(tmp, f"{args.model}.pth")
        torch.save(model.state_dict(), checkpoint)
        converted = os.path.join(tmp, f"{args.model}.vkseg")
        subprocess.run([args.vkseg, "convert", checkpoint, "-o", converted], check=True,
                       stdout=subprocess.DEVNULL)
        command = [args.vkseg, "bench", converted, "--size", args.size, "--iters",
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
    results["model"] = args.model
    print(f"{args.model} {height}x{width}, batch 1, vkseg on {v['device']}")
    print(f"  vkseg GPU time   median {v['gpu_ms']['median']:9.1f} ms  "
          f"(min {v['gpu_ms']['min']:.1f}, max {v['gpu_ms']['max']:.1f})")
    print(f"  vkseg wall time  median {v['wall_ms']['median']:9.1f} ms")
    cpu = results["torch_cpu_ms"]
    print(f"  PyTorch CPU      median {cpu['median']:9.1f} ms  ({threads} threads)")
    print(f"  ratio vkseg wall / PyTorch CPU: {v['wall_ms']['median'] / cpu['median']:.2f}")
    for key in ("torch_cuda_fp32_ms", "torch_cuda_fp16_ms"):
        if key in results:
            print(f"  PyTorch {key[6:-3]:<9} median {results[key]['median']:9.2f} ms; ratio vkseg "
                  f"GPU / PyTorch: {v['gpu_ms']['median'] / results[key]['median']:.2f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
