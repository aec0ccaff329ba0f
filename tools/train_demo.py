#!/usr/bin/python3
"""Trains vkseg's demo model: an aligned FCN-8s (VGG16 layout, narrow channels) that segments
Fashion-MNIST garments composed onto 128x128 RGB canvases.

  /usr/bin/python3 tools/train_demo.py --out weights/demo [--epochs N]
  /usr/bin/python3 tools/train_demo.py --export-test DIR

Writes to --out: demo_fcn8s.pth (state_dict for `vkseg convert --aligned`), metrics.json and
samples/. --export-test writes the test split as PNGs (DIR/images/NNNN.png, DIR/labels/NNNN.png)
without training. Both splits depend only on --seed, the canvas counts and the dataset files.
Needs Debian's python3-torch and the dataset-fashion-mnist package."""
import argparse
import gzip
import json
import math
import os
import tempfile
import time

import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

# FCN's bilinear upsampling initialisation, shared with the test fixtures.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "fixtures"))
from make_fcn_fixtures import bilinear_kernel  # noqa: E402

CLASS_NAMES = ["background", "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
               "Shirt", "Sneaker", "Bag", "Ankle boot"]
CANVAS = 128
GARMENTS = (2, 5)  # garments per canvas, inclusive
SCALES = (1.25, 2.5)  # garment size is 28 px times this
FOREGROUND = 0.1  # a garment pixel brighter than this (of 255) is labelled as the garment
NOISE_SIGMA = 12.0  # gaussian pixel noise over the whole canvas, in 0..255 units
TRAIN_CROP = 96  # training sees random crops: about half the compute of a whole canvas per step
BLOCKS = [2, 2, 3, 3, 3]  # VGG16's convolutions per block
WIDTHS = [16, 32, 64, 64, 64]
FC = 128
# value = (pixel * scale - mean) / std, RGB order: `vkseg convert --scale ... --mean ... --std ...`
PREPROCESS = {"channel_order": "RGB", "scale": 1 / 255, "mean": [0.5, 0.5, 0.5],
              "std": [0.5, 0.5, 0.5]}
TRAIN_SPLIT, TEST_SPLIT = 0, 1  # mixed into the seed so each split has its own random stream


def load_fashion_mnist(data_dir, split):
    """(images N x 28 x 28 uint8, labels N uint8) from the idx files; split is 'train' or 't10k'."""
    def read_idx(kind, dims):
        with gzip.open(os.path.join(data_dir, f"{split}-{kind}-idx{dims}-ubyte.gz")) as f:
            # Header: a magic number and one big-endian uint32 per dimension.
            return np.frombuffer(f.read(), dtype=np.uint8, offset=4 + 4 * dims)
    labels = read_idx("labels", 1)
    return read_idx("images", 3).reshape(len(labels), 28, 28), labels


def resize_bilinear(image, size):
    """Square bilinear resize with half-pixel centres, in float64 numpy so it is the same on any
    machine and library version."""
    n = image.shape[0]
    src = np.clip((np.arange(size) + 0.5) * n / size - 0.5, 0, n - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    w = src - lo
    rows = image[lo] * (1 - w)[:, None] + image[hi] * w[:, None]
    return rows[:, lo] * (1 - w) + rows[:, hi] * w


def background(rng):
    """A linear gradient between two random colours at a random angle."""
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    angle = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[:CANVAS, :CANVAS] / (CANVAS - 1)
    t = xx * math.cos(angle) + yy * math.sin(angle)
    t = (t - t.min()) / (t.max() - t.min())
    return c0 + (c1 - c0) * t[..., None]


def compose_canvas(rng, images, labels):
    """One canvas (H x W x 3 uint8) and its label map (H x W uint8, 0 = background)."""
    canvas = background(rng)
    label = np.zeros((CANVAS, CANVAS), dtype=np.uint8)
    for _ in range(rng.integers(GARMENTS[0], GARMENTS[1] + 1)):
        index = rng.integers(len(images))
        size = int(round(28 * rng.uniform(*SCALES)))
        shade = resize_bilinear(images[index].astype(np.float64) / 255, size)
        mask = shade > FOREGROUND
        y, x = rng.integers(0, CANVAS - size + 1, 2)
        tint = rng.uniform(30, 255, 3)
        # Tinted, but keeping the garment's own texture (35%..100% of the tint) to classify by.
        colour = tint * (0.35 + 0.65 * shade[..., None])
        # Later garments overwrite earlier ones, in pixels and labels alike.
        canvas[y:y + size, x:x + size][mask] = colour[mask]
        label[y:y + size, x:x + size][mask] = labels[index] + 1
    canvas += rng.normal(0, NOISE_SIGMA, canvas.shape)
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8), label


def compose_split(data_dir, split, count, seed):
    """count canvases from Fashion-MNIST's train or test images: (N x H x W x 3, N x H x W)."""
    images, labels = load_fashion_mnist(data_dir, "train" if split == TRAIN_SPLIT else "t10k")
    rng = np.random.default_rng([seed, split])
    pairs = [compose_canvas(rng, images, labels) for _ in range(count)]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def export_split(canvases, label_maps, out_dir):
    for sub in ("images", "labels"):
        os.makedirs(os.path.join(out_dir, sub), exist_ok=True)
    for i, (canvas, label) in enumerate(zip(canvases, label_maps)):
        Image.fromarray(canvas, "RGB").save(os.path.join(out_dir, "images", f"{i:04d}.png"))
        Image.fromarray(label, "L").save(os.path.join(out_dir, "labels", f"{i:04d}.png"))


def read_exported(out_dir, count):
    read = lambda sub, i: np.asarray(Image.open(os.path.join(out_dir, sub, f"{i:04d}.png")))
    return (np.stack([read("images", i) for i in range(count)]),
            np.stack([read("labels", i) for i in range(count)]))


class FCN8s(nn.Module):
    """Aligned FCN-8s: conv1_1 pad 1, ceil-mode pools, fc6 padded, upsampling padded by stride/2,
    crops at offset 0. Layer names and order are pytorch-fcn's, which `vkseg convert --aligned`
    reads (same as tests/fixtures/make_fcn_fixtures.py's FCN with aligned=True)."""

    def __init__(self, widths, fc, classes):
        super().__init__()
        self.relu_layers = []  # the convolutions a ReLU follows, in order
        cin = 3
        for b, (n, w) in enumerate(zip(BLOCKS, widths)):
            for j in range(n):
                self.relu_layers.append(f"conv{b + 1}_{j + 1}")
                setattr(self, self.relu_layers[-1], nn.Conv2d(cin, w, 3, padding=1))
                cin = w
        self.relu_layers += ["fc6", "fc7"]
        self.fc6 = nn.Conv2d(widths[4], fc, 7, padding=3)
        self.fc7 = nn.Conv2d(fc, fc, 1)
        self.score_fr = nn.Conv2d(fc, classes, 1)
        self.score_pool3 = nn.Conv2d(widths[2], classes, 1)
        self.score_pool4 = nn.Conv2d(widths[3], classes, 1)
        self.upscore2 = nn.ConvTranspose2d(classes, classes, 4, 2, 1, bias=False)
        self.upscore8 = nn.ConvTranspose2d(classes, classes, 16, 8, 4, bias=False)
        self.upscore_pool4 = nn.ConvTranspose2d(classes, classes, 4, 2, 1, bias=False)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.ConvTranspose2d):
                m.weight.data.copy_(bilinear_kernel(classes, m.kernel_size[0]))
        # Scores start at zero (uniform prediction); the skips start silent as in the FCN paper.
        for score in (self.score_fr, self.score_pool3, self.score_pool4):
            nn.init.zeros_(score.weight)

    def forward(self, x, norms=None):
        """norms: batch norms by layer name, between each convolution and its ReLU (training
        only; fold_norms() merges them into the convolutions)."""
        def conv_relu(name, h):
            h = getattr(self, name)(h)
            return F.relu(h if norms is None else norms[name](h))

        h, pools, layers = x, [], iter(self.relu_layers)
        for n in BLOCKS:
            for _ in range(n):
                h = conv_relu(next(layers), h)
            h = F.max_pool2d(h, 2, 2, ceil_mode=True)
            pools.append(h)
        h = self.score_fr(conv_relu("fc7", conv_relu("fc6", h)))
        up2 = self.upscore2(h)
        h = up2 + self.score_pool4(pools[3])[:, :, :up2.size(2), :up2.size(3)]
        up4 = self.upscore_pool4(h)
        h = up4 + self.score_pool3(pools[2])[:, :, :up4.size(2), :up4.size(3)]
        return self.upscore8(h)[:, :, :x.size(2), :x.size(3)].contiguous()


def make_norms(model):
    """Batch norms for training only: without them this plain 15-layer net learns far more
    slowly from scratch, and CPU time is short."""
    return nn.ModuleDict({name: nn.BatchNorm2d(getattr(model, name).out_channels)
                          for name in model.relu_layers})


@torch.no_grad()
def fold_norms(model, norms):
    """Merges each batch norm (its running statistics) into the convolution before it, leaving
    exactly the plain FCN-8s that vkseg runs."""
    for name, norm in norms.items():
        conv = getattr(model, name)
        gain = norm.weight / torch.sqrt(norm.running_var + norm.eps)
        conv.weight.mul_(gain.view(-1, 1, 1, 1))
        conv.bias.copy_((conv.bias - norm.running_mean) * gain + norm.bias)


def to_input(canvases):
    """uint8 N x H x W x 3 -> normalised float N x 3 x H x W, as PREPROCESS says."""
    x = torch.from_numpy(canvases).permute(0, 3, 1, 2).float() * PREPROCESS["scale"]
    mean = torch.tensor(PREPROCESS["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(PREPROCESS["std"]).view(1, 3, 1, 1)
    return (x - mean) / std


@torch.no_grad()
def confusion(model, canvases, label_maps, batch_size=50):
    """One hist[true][pred] over the whole split."""
    model.eval()
    n = len(CLASS_NAMES)
    hist = np.zeros((n, n), dtype=np.int64)
    for i in range(0, len(canvases), batch_size):
        pred = model(to_input(canvases[i:i + batch_size])).argmax(1).numpy()
        true = label_maps[i:i + batch_size].astype(np.int64)
        hist += np.bincount(n * true.ravel() + pred.ravel(), minlength=n * n).reshape(n, n)
    return hist


def scores(hist):
    """The FCN paper's metrics (fcn.berkeleyvision.org score.py), in percent; classes absent from
    both truth and prediction give NaN and are skipped by the means."""
    with np.errstate(divide="ignore", invalid="ignore"):
        diag = np.diag(hist).astype(np.float64)
        iou = diag / (hist.sum(1) + hist.sum(0) - diag)
        freq = hist.sum(1) / hist.sum()
        return {"pixel_accuracy": 100 * diag.sum() / hist.sum(),
                "mean_accuracy": 100 * np.nanmean(diag / hist.sum(1)),
                "mean_iou": 100 * np.nanmean(iou),
                "frequency_weighted_iou": 100 * (freq[freq > 0] * iou[freq > 0]).sum(),
                "per_class_iou": {name: None if math.isnan(v) else round(100 * v, 4)
                                  for name, v in zip(CLASS_NAMES, iou)}}


def print_scores(title, s):
    print(f"{title}: pixel acc {s['pixel_accuracy']:.2f}  mean acc {s['mean_accuracy']:.2f}  "
          f"mIoU {s['mean_iou']:.2f}  fwIoU {s['frequency_weighted_iou']:.2f}")
    for name, v in s["per_class_iou"].items():
        print(f"  {name:12s} {'n/a' if v is None else f'{v:6.2f}'}")


def train(model, canvases, label_maps, args):
    """Adam with a short warm-up then cosine decay; random crops and horizontal flips. Trains
    with batch norms, then folds them into the model."""
    norms = make_norms(model)
    generator = torch.Generator().manual_seed(args.seed)
    steps_per_epoch = len(canvases) // args.batch_size
    total = steps_per_epoch * args.epochs
    warmup = max(1, min(200, total // 10))
    optimizer = torch.optim.Adam([*model.parameters(), *norms.parameters()], lr=args.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(
        (step + 1) / warmup, 0.5 * (1 + math.cos(math.pi * step / total))))
    labels_all = torch.from_numpy(label_maps).long()
    start = time.perf_counter()
    for epoch in range(args.epochs):
        norms.train()
        order = torch.randperm(len(canvases), generator=generator)
        loss_sum = 0.0
        for step in range(steps_per_epoch):
            batch = order[step * args.batch_size:(step + 1) * args.batch_size].numpy()
            oy, ox = torch.randint(CANVAS - TRAIN_CROP + 1, (2,), generator=generator).tolist()
            rows, cols = slice(oy, oy + TRAIN_CROP), slice(ox, ox + TRAIN_CROP)
            x, y = to_input(canvases[batch][:, rows, cols]), labels_all[batch][:, rows, cols]
            if torch.rand(1, generator=generator).item() < 0.5:
                x, y = x.flip(3), y.flip(2)
            loss = F.cross_entropy(model(x, norms), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            loss_sum += loss.item()
        print(f"epoch {epoch + 1}/{args.epochs}: loss {loss_sum / steps_per_epoch:.4f}, "
              f"{time.perf_counter() - start:.0f} s", flush=True)
    fold_norms(model, norms.eval())
    return time.perf_counter() - start


def save_samples(canvases, label_maps, out_dir, count=4):
    os.makedirs(out_dir, exist_ok=True)
    for i in range(count):
        Image.fromarray(canvases[i], "RGB").save(os.path.join(out_dir, f"sample_{i}.png"))
        Image.fromarray(label_maps[i], "L").save(os.path.join(out_dir, f"sample_{i}_label.png"))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help="directory for demo_fcn8s.pth, metrics.json and samples/")
    p.add_argument("--export-test", metavar="DIR",
                   help="only write the test split as DIR/images/NNNN.png and DIR/labels/NNNN.png "
                        "(8-bit grey, value = class index); no training")
    p.add_argument("--epochs", type=int, default=4, help="passes over the train split (4)")
    p.add_argument("--train-canvases", type=int, default=8000,
                   help="canvases composed from Fashion-MNIST's train images (8000)")
    p.add_argument("--test-canvases", type=int, default=500,
                   help="canvases composed from Fashion-MNIST's test images (500)")
    p.add_argument("--seed", type=int, default=0, help="seeds composition and training (0)")
    p.add_argument("--batch-size", type=int, default=8, help="canvases per step (8)")
    p.add_argument("--lr", type=float, default=2e-3, help="Adam's peak learning rate (2e-3)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (2)")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist",
                   help="Fashion-MNIST idx .gz files (default: where dataset-fashion-mnist puts them)")
    args = p.parse_args()
    if not args.out and not args.export_test:
        p.error("give --out to train, or --export-test DIR to write the test split")
    return args


def main():
    args = parse_args()
    test_canvases, test_labels = compose_split(args.data_dir, TEST_SPLIT, args.test_canvases,
                                               args.seed)
    if args.export_test:
        export_split(test_canvases, test_labels, args.export_test)
        print(f"wrote {len(test_canvases)} test canvases to {args.export_test}")
        return

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_canvases, train_labels = compose_split(args.data_dir, TRAIN_SPLIT, args.train_canvases,
                                                 args.seed)
    model = FCN8s(WIDTHS, FC, len(CLASS_NAMES))
    parameters = sum(p.numel() for p in model.parameters())
    print(f"FCN-8s widths {WIDTHS} fc {FC}: {parameters} parameters; "
          f"{len(train_canvases)} train / {len(test_canvases)} test canvases", flush=True)
    seconds = train(model, train_canvases, train_labels, args)

    result = scores(confusion(model, test_canvases, test_labels))
    print_scores("test split", result)
    # vkseg reads the exported PNGs, so score exactly what they hold.
    with tempfile.TemporaryDirectory() as tmp:
        export_split(test_canvases, test_labels, tmp)
        png_canvases, png_labels = read_exported(tmp, len(test_canvases))
    png_result = scores(confusion(model, png_canvases, png_labels))
    print(f"test split read back from PNG: mIoU {png_result['mean_iou']:.2f}")

    os.makedirs(args.out, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(args.out, "demo_fcn8s.pth"))
    save_samples(test_canvases, test_labels, os.path.join(args.out, "samples"))
    metrics = {
        **{k: round(v, 4) for k, v in result.items() if k != "per_class_iou"},
        "per_class_iou": result["per_class_iou"],
        "mean_iou_from_png": round(png_result["mean_iou"], 4),
        "class_names": CLASS_NAMES,
        "preprocessing": PREPROCESS,
        "model": {"arch": "fcn8s", "aligned": True, "widths": WIDTHS, "fc": FC,
                  "parameters": parameters},
        "seed": args.seed,
        "train_canvases": len(train_canvases),
        "test_canvases": len(test_canvases),
        "canvas_size": CANVAS,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "training": f"Adam, cross-entropy, warm-up + cosine decay, random {TRAIN_CROP}x"
                    f"{TRAIN_CROP} crops and horizontal flips, batch norms folded into the "
                    "convolutions after training",
        "training_seconds": round(seconds, 1),
        "torch_version": torch.__version__,
    }
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
