#!/usr/bin/python3
"""vkseg.convert writes the same model file as `vkseg convert` with the same options (a randomly
initialised demo FCN-8s checkpoint from Debian's PyTorch), and refuses bad options with
vkseg.Error."""
import os
import sys

import common
from common import vkseg

sys.path.insert(0, os.path.join(common.SOURCE_DIR, "tools"))
import torch  # noqa: E402
import train_demo  # noqa: E402 (the demo model's definition)

CLASSES = train_demo.CLASS_NAMES
CLI_OPTIONS = ["--layout", "aligned", "--rgb", "--scale", "0.00392156862745098",
               "--mean", "0.5,0.5,0.5", "--std", "0.25,0.5,0.75", "--classes", ",".join(CLASSES)]
PY_OPTIONS = dict(layout="aligned", bgr=False, scale=0.00392156862745098, mean=(0.5, 0.5, 0.5),
                  std=[0.25, 0.5, 0.75], classes=CLASSES)


def setUpModule():
    global CHECKPOINT
    torch.manual_seed(0)
    model = train_demo.FCN8s(train_demo.WIDTHS, train_demo.FC, len(CLASSES))
    CHECKPOINT = common.work_path("demo_random.pth")
    torch.save(model.state_dict(), CHECKPOINT)


def read(path):
    with open(path, "rb") as f:
        return f.read()


class ConvertTest(common.ValidatedTest):
    def assertError(self, fragment, call, *args, **kwargs):
        with self.assertRaises(vkseg.Error) as caught:
            call(*args, **kwargs)
        self.assertNotIn("\n", str(caught.exception))
        self.assertIn(fragment, str(caught.exception))

    def test_same_file_as_the_cli(self):
        for dtype in ("fp32", "fp16"):
            cli, py = common.work_path(f"cli_{dtype}.vkseg"), common.work_path(f"py_{dtype}.vkseg")
            common.run_cli("convert", CHECKPOINT, "-o", cli, "--dtype", dtype, *CLI_OPTIONS)
            summary = vkseg.convert(CHECKPOINT, py, dtype=dtype, **PY_OPTIONS)
            self.assertEqual(read(py), read(cli), dtype)
            self.assertEqual(summary["arch"], "fcn8s")
            self.assertEqual(summary["classes"], len(CLASSES))
            self.assertEqual(summary["dtype"], dtype)
            self.assertEqual(summary["parameters"], vkseg.Model.load(py).parameter_count)
            self.assertEqual(summary["non_finite_weights"], [])
        model = vkseg.Model.load(py)
        self.assertEqual([name for name, _ in model.classes], CLASSES)
        self.assertEqual(model.preprocess["std"], (0.25, 0.5, 0.75))

    def test_existing_output_needs_force(self):
        out = common.work_path("twice.vkseg")
        vkseg.convert(CHECKPOINT, out, layout="aligned")
        self.assertError("force", vkseg.convert, CHECKPOINT, out, layout="aligned")
        vkseg.convert(CHECKPOINT, out, layout="aligned", force=True)

    def test_bad_options(self):
        out = common.work_path("bad.vkseg")
        bad = [("unknown option", dict(colour=True)),
               ("dtype", dict(dtype="fp64")),
               ("layout", dict(layout="sideways")),
               ("mean", dict(mean=(0.5, 0.5))),
               ("mean", dict(mean="0.5")),
               ("std", dict(std=(1, 0, 1))),
               ("scale", dict(scale="big")),
               ("bgr", dict(bgr="yes")),
               ("num_classes", dict(num_classes=0)),
               ("classes", dict(classes=["a", "b"])),
               ("classes", dict(classes=[1, 2])),
               ("arch", dict(arch="resnet9000"))]
        for fragment, options in bad:
            with self.subTest(options=options):
                self.assertError(fragment, vkseg.convert, CHECKPOINT, out, **options)
        self.assertError("missing.pth", vkseg.convert, common.work_path("missing.pth"), out)
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    common.main()
