"""Segments a folder of images on a Dask cluster (python3-distributed):

    python3 -m vkseg.dask segment MODEL IMAGE_DIR -o OUT_DIR [--labels LABEL_DIR] [--workers N]
        [--scheduler ADDRESS] [--device-per-worker] [--json] [--force]

Without --scheduler a LocalCluster of N worker processes (one thread each) runs on this machine;
with it, the workers of that scheduler do the work, reading and writing the same paths (a shared
file system). Each worker loads the network once and keeps it for every chunk of images it is
given. Masks are written as `vkseg segment` writes them (OUT_DIR/<stem>_mask.png); with --labels
the workers' confusion matrices are summed and the metrics printed as `vkseg eval` prints them.
"""
import argparse
import contextlib
import functools
import json
import os
import sys
import time

import dask
from distributed import Client, LocalCluster, as_completed, get_worker

import vkseg

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")  # what `vkseg eval` reads from a folder

# This process's networks when it is a Dask worker: loading a model and creating its pipelines
# costs far more than one image, so each worker does it once per (model, device, precision).
# Workers of a long-running cluster outlive runs: a model file rewritten since is loaded again.
_networks = {}


def _network(model_path, device, precision):
    stat = os.stat(model_path)
    stamp = (stat.st_mtime_ns, stat.st_size)
    key = (model_path, device, precision)
    if key not in _networks or _networks[key][0] != stamp:
        if key in _networks:
            _networks.pop(key)[1].close()
        model = vkseg.Model.load(model_path)
        _networks[key] = stamp, vkseg.Network(vkseg.Context(device=device), model, precision)
    return _networks[key][1]


@functools.lru_cache(maxsize=None)
def _device_count():
    return len(vkseg.list_devices())


def _message(image, error):
    """One line naming the image (vkseg's file errors already start with the path)."""
    text = str(error) if isinstance(error, vkseg.Error) else f"{type(error).__name__}: {error}"
    return text if text.startswith(image) else f"{image}: {text}"


def segment_chunk(jobs, model_path, precision, devices, ignore):
    """Runs on a worker: segments (image, mask, label-or-None) jobs, writing each mask. Returns
    the failures as (image, message) and, where jobs have labels, the chunk's ConfusionMatrix."""
    device = None
    if devices is not None:
        index = devices.get(get_worker().address)
        device = None if index is None else index % _device_count()
    network = _network(model_path, device, precision)
    model = network.model
    matrix = None
    failures = []
    for image_path, mask_path, label_path in jobs:
        try:
            image = vkseg.read_image(image_path)
            labels = network.segment(image)
            if label_path is not None:
                truth = vkseg.read_label_png(label_path)
                if truth.shape != labels.shape:
                    raise vkseg.Error(f"{label_path} is {truth.shape[1]}x{truth.shape[0]} but its "
                                      f"image is {labels.shape[1]}x{labels.shape[0]}")
                image_matrix = vkseg.ConfusionMatrix(len(model.classes))
                image_matrix.add(truth, labels, ignore)
                matrix = image_matrix if matrix is None else matrix.merge(image_matrix)
            vkseg.write_mask(mask_path, labels, model)
        except Exception as error:  # one bad image must not stop the others
            failures.append((image_path, _message(image_path, error)))
    return failures, matrix


def plan_jobs(args):
    """(image, mask, label) paths for every image, every output checked before any work."""
    if not os.path.isdir(args.image_dir):
        raise vkseg.Error(f"segment: {args.image_dir} is not a directory")
    if args.labels is not None and not os.path.isdir(args.labels):
        raise vkseg.Error(f"segment: {args.labels} is not a directory")
    images = sorted(os.path.join(args.image_dir, name) for name in os.listdir(args.image_dir)
                    if name.lower().endswith(IMAGE_EXTENSIONS))
    if not images:
        raise vkseg.Error(f"segment: no images in {args.image_dir}")
    inputs = {(s.st_dev, s.st_ino) for s in map(os.stat, images)}
    jobs, writers = [], {}
    for image in images:
        stem = os.path.splitext(os.path.basename(image))[0]
        mask = os.path.join(args.output_dir, stem + "_mask.png")
        if mask in writers:
            raise vkseg.Error(f"segment: {writers[mask]} and {image} would both write {mask}; "
                              "rename one")
        writers[mask] = image
        if os.path.exists(mask):
            stat = os.stat(mask)
            if (stat.st_dev, stat.st_ino) in inputs:
                raise vkseg.Error(f"segment: the output {mask} is one of the inputs; it would be "
                                  "replaced")
            if not args.force:
                raise vkseg.Error(f"segment: {mask} exists; pass --force to overwrite it")
        label = None
        if args.labels is not None:
            label = os.path.join(args.labels, stem + ".png")
            if not os.path.exists(label):
                raise vkseg.Error(f"segment: {image} has no label map {label}")
        # Absolute, so workers started in other directories find the same files.
        jobs.append(tuple(None if p is None else os.path.abspath(p) for p in (image, mask, label)))
    return jobs


@contextlib.contextmanager
def cluster_client(args):
    """A Client of the scheduler at --scheduler, or of a LocalCluster of --workers processes."""
    settings = {}
    if args.local_directory:
        settings["temporary-directory"] = args.local_directory
    with dask.config.set(settings):
        if args.scheduler:
            with Client(args.scheduler) as client:
                client.wait_for_workers(1, timeout=args.worker_timeout)
                yield client
            return
        workers = args.workers or max(1, _device_count())
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address=None,
                          local_directory=args.local_directory) as cluster, \
                Client(cluster) as client:
            yield client


def device_indices(client):
    """Worker address -> its position among the workers on its machine (sorted by address), which
    becomes its Vulkan device index (modulo that machine's device count)."""
    by_host = {}
    for address, info in client.scheduler_info()["workers"].items():
        by_host.setdefault(info["host"], []).append(address)
    return {address: index for addresses in by_host.values()
            for index, address in enumerate(sorted(addresses))}


class Progress:
    """`vkseg segment`'s progress bar, on stderr when it is a terminal."""

    WIDTH = 30

    def __init__(self, total):
        self.total, self.done = total, 0
        self.enabled = total > 1 and sys.stderr.isatty()
        self.start = time.monotonic()

    def step(self, count, item):
        self.done += count
        if self.enabled:
            filled = self.WIDTH * self.done // self.total
            sys.stderr.write(f"\r\033[Ksegment [{'=' * filled}{' ' * (self.WIDTH - filled)}] "
                             f"{self.done}/{self.total} {time.monotonic() - self.start:.1f}s "
                             f"{os.path.basename(item)}")
            sys.stderr.flush()

    def finish(self):
        if self.enabled:
            sys.stderr.write("\r\033[K")


def run_segment(args):
    model_path = os.path.abspath(args.model)
    model = vkseg.Model.load(model_path)  # a bad model fails here, before any worker starts
    if len(model.classes) > 256:
        raise vkseg.Error(f"segment: {len(model.classes)} classes do not fit an 8-bit PNG")
    jobs = plan_jobs(args)
    os.makedirs(args.output_dir, exist_ok=True)
    chunks = [jobs[i:i + args.chunk_size] for i in range(0, len(jobs), args.chunk_size)]
    failures, matrix = [], None
    with cluster_client(args) as client:
        devices = device_indices(client) if args.device_per_worker else None
        futures = {client.submit(segment_chunk, chunk, model_path, args.precision, devices,
                                 args.ignore, pure=False): chunk for chunk in chunks}
        progress = Progress(len(jobs))
        for future in as_completed(futures):
            chunk = futures[future]
            try:
                chunk_failures, chunk_matrix = future.result()
            except Exception as error:  # the worker died or could not load the network
                chunk_failures = [(image, _message(image, error)) for image, _, _ in chunk]
                chunk_matrix = None
            failures += chunk_failures
            if chunk_matrix is not None:
                matrix = chunk_matrix if matrix is None else matrix.merge(chunk_matrix)
            progress.step(len(chunk), chunk[-1][0])
        progress.finish()

    for image, message in sorted(failures):
        print(f"vkseg: error: segment: {message}", file=sys.stderr)
    segmented = len(jobs) - len(failures)
    if args.labels is not None:
        matrix = matrix or vkseg.ConfusionMatrix(len(model.classes))
        names = [name for name, _ in model.classes]
        sys.stdout.write(matrix.eval_report(names, segmented, json=args.json))
    elif args.json:
        print(json.dumps({"images": len(jobs), "masks": segmented, "failed": len(failures),
                          "output_dir": args.output_dir}, separators=(",", ":")))
    else:
        print(f"{segmented} of {len(jobs)} images segmented -> {args.output_dir}")
    return 1 if failures else 0


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python3 -m vkseg.dask",
                                     description="vkseg on a Dask cluster.")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("segment", help="segment every image of a folder",
                            description="Writes OUT_DIR/<stem>_mask.png for every image of "
                                        "IMAGE_DIR (.png, .jpg, .jpeg, .bmp), as `vkseg segment`.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("image_dir", metavar="IMAGE_DIR")
    p.add_argument("-o", "--output-dir", required=True, metavar="OUT_DIR")
    p.add_argument("--labels", metavar="LABEL_DIR",
                   help="label maps (<stem>.png): print `vkseg eval`'s metrics over them")
    p.add_argument("--ignore", type=int, default=255, help="label value not scored (255)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="local worker processes (default: one per Vulkan device)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="join this scheduler (tcp://host:8786) instead of starting workers")
    p.add_argument("--device-per-worker", action="store_true",
                   help="worker i of a machine uses its Vulkan device i (modulo their count)")
    p.add_argument("--precision", default="fp32", choices=("fp32", "fp16"))
    p.add_argument("--chunk-size", type=int, default=16, metavar="K",
                   help="images per task (16)")
    p.add_argument("--local-directory", metavar="DIR",
                   help="where Dask keeps its temporary files (default: Dask's configuration)")
    p.add_argument("--worker-timeout", type=float, default=60, metavar="SECONDS",
                   help="with --scheduler: how long to wait for a first worker (60)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--force", action="store_true", help="overwrite existing masks")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be at least 1, not {args.workers}")
    if args.workers is not None and args.scheduler:
        parser.error("--workers starts a local cluster; --scheduler joins one: give one of them")
    if args.chunk_size < 1:
        parser.error(f"--chunk-size must be at least 1, not {args.chunk_size}")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run_segment(args)
    except vkseg.Error as error:
        print(f"vkseg: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    # Run as vkseg.dask, not __main__, so workers unpickle segment_chunk (and share its network
    # cache) by importing this module.
    from vkseg.dask import main as package_main
    sys.exit(package_main())
