#!/usr/bin/env python3
"""The README's dense CRF figure: a demo canvas, its true labels, the demo model's labels, and
the same after `vkseg segment --crf` (DeepLab v2's VOC settings), side by side at 2x.

Usage: /usr/bin/python3 tools/make_crf_figure.py VKSEG IMAGE LABEL OUT.png
"""
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image


def main():
    vkseg, image, label, out = sys.argv[1:5]
    model = Path(__file__).resolve().parent.parent / "weights/demo/demo_fcn8s.vkseg"
    with tempfile.TemporaryDirectory() as work:
        masks = {}
        for name, extra in (("plain", []), ("crf", ["--crf"])):
            subprocess.run([vkseg, "segment", str(model), image, "-o", f"{work}/{name}", *extra],
                           check=True, stdout=subprocess.DEVNULL)
            masks[name] = Image.open(f"{work}/{name}/{Path(image).stem}_mask.png")
        truth = Image.open(label).convert("P")
        truth.putpalette(masks["plain"].getpalette())
        panels = [Image.open(image).convert("RGB"), truth.convert("RGB"),
                  masks["plain"].convert("RGB"), masks["crf"].convert("RGB")]
        w, h = panels[0].size
        figure = Image.new("RGB", (4 * 2 * w + 3 * 4, 2 * h), "white")
        for i, panel in enumerate(panels):
            figure.paste(panel.resize((2 * w, 2 * h), Image.NEAREST), (i * (2 * w + 4), 0))
        figure.save(out)


if __name__ == "__main__":
    main()
