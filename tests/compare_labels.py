"""Compares two label images (palette or grey PNG, PGM) pixel by pixel: exit 0 when they hold
the same size and the same values, 1 with the first difference otherwise."""
import sys

from PIL import Image


def labels(path):
    image = Image.open(path)
    if image.mode not in ("P", "L"):
        sys.exit(f"{path}: a {image.mode} image, not a palette or grey label map")
    return image.size, image.tobytes()


(size_a, a), (size_b, b) = labels(sys.argv[1]), labels(sys.argv[2])
if size_a != size_b:
    sys.exit(f"sizes differ: {size_a} vs {size_b}")
if a != b:
    i = next(i for i in range(len(a)) if a[i] != b[i])
    sys.exit(f"{sum(x != y for x, y in zip(a, b))} of {len(a)} labels differ; first at "
             f"x={i % size_a[0]}, y={i // size_a[0]}: {a[i]} vs {b[i]}")
