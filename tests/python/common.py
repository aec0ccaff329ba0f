"""What the Python tests share: a temporary directory per test module (also the pipeline cache,
via VKSEG_CACHE_DIR, never the user's), the CLI to compare against, and the demo model.

The tests run from ctest, which sets PYTHONPATH to <build>/python, VKSEG_CLI to the vkseg binary,
VKSEG_SOURCE_DIR and VKSEG_VALIDATION=1 (every context, the workers' too, validates)."""
import os
import shutil
import subprocess
import tempfile
import unittest

WORK = tempfile.mkdtemp(prefix="vkseg-python-test-")
os.environ["VKSEG_CACHE_DIR"] = os.path.join(WORK, "cache")

import vkseg  # noqa: E402 (after VKSEG_CACHE_DIR is set)

CLI = os.environ["VKSEG_CLI"]
SOURCE_DIR = os.environ["VKSEG_SOURCE_DIR"]
DEMO_MODEL = os.path.join(SOURCE_DIR, "weights", "demo", "demo_fcn8s.vkseg")
SAMPLES = os.path.join(SOURCE_DIR, "weights", "demo", "samples")


def work_path(*parts):
    return os.path.join(WORK, *parts)


def run_cli(*args, check=True):
    """Runs the vkseg CLI; returns the CompletedProcess (text)."""
    result = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"vkseg {' '.join(map(str, args))} failed: {result.stderr}")
    return result


def sample_images():
    return sorted(os.path.join(SAMPLES, name) for name in os.listdir(SAMPLES)
                  if name.startswith("sample_") and name.endswith(".png")
                  and "label" not in name and "mask" not in name)


def new_context():
    return vkseg.Context(validation=True, cache_dir=os.environ["VKSEG_CACHE_DIR"])


class ValidatedTest(unittest.TestCase):
    """Fails a test whose Vulkan calls caused validation messages on the shared context."""

    @classmethod
    def setUpClass(cls):
        cls.context = new_context()
        cls.model = vkseg.Model.load(DEMO_MODEL)

    def tearDown(self):
        self.assertEqual(self.context.validation_messages, 0, "Vulkan validation messages")


def main():
    try:
        unittest.main(verbosity=2)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
