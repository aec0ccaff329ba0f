#!/usr/bin/python3
"""`python3 -m vkseg.dask segment` over 40 canvases of the demo test split, on a LocalCluster
of 2 workers and on a dask-scheduler with a dask-worker of 2: every mask bytewise equal to `vkseg
segment`'s, the output exactly `vkseg eval`'s (JSON and text), existing masks refused before any
work, a broken image reported while the rest are segmented."""
import filecmp
import json
import os
import subprocess
import sys
import time
import unittest

import common

CANVASES = 40
SPLIT = common.work_path("split")
IMAGES, LABELS = os.path.join(SPLIT, "images"), os.path.join(SPLIT, "labels")
# Dask's configuration and temporary files stay in the test's directory too.
os.environ["DASK_CONFIG"] = common.work_path("dask-config")
os.environ["DASK_TEMPORARY_DIRECTORY"] = common.work_path("dask-tmp")


def setUpModule():
    global NAMES, CLI_JSON, CLI_TEXT
    subprocess.run([sys.executable, os.path.join(common.SOURCE_DIR, "tools", "train_demo.py"),
                    "--export-test", SPLIT, "--test-canvases", str(CANVASES)], check=True,
                   stdout=subprocess.DEVNULL)
    NAMES = sorted(os.listdir(IMAGES))
    common.run_cli("segment", common.DEMO_MODEL, *(os.path.join(IMAGES, n) for n in NAMES),
                   "-o", common.work_path("cli_masks"))
    eval_args = ("eval", common.DEMO_MODEL, "--images", IMAGES, "--labels", LABELS)
    CLI_JSON = common.run_cli(*eval_args, "--json").stdout
    CLI_TEXT = common.run_cli(*eval_args).stdout


def run_dask(image_dir, out_dir, *options, labels=LABELS):
    return subprocess.run(
        [sys.executable, "-m", "vkseg.dask", "segment", common.DEMO_MODEL, image_dir, "-o",
         out_dir, "--labels", labels, "--chunk-size", "8", *options],
        capture_output=True, text=True, timeout=120)


class Cluster:
    """A scheduler and a worker process with 2 workers, started as README.md says to start them
    on a real cluster (dask-scheduler, dask-worker) but with Debian's interpreter for sure and on
    this machine; their output is kept in a log."""

    def __init__(self):
        self.scheduler_file = common.work_path("scheduler.json")
        self.log = open(common.work_path("cluster.log"), "w+")
        self.processes = [subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", self.scheduler_file], stdout=self.log, stderr=self.log)]
        self.processes.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", self.scheduler_file, "--nworkers", "2",
             "--nthreads", "1", "--no-dashboard", "--local-directory",
             common.work_path("dask-cluster")], stdout=self.log, stderr=self.log))

    def address(self):
        for _ in range(300):
            try:
                with open(self.scheduler_file) as f:
                    return json.load(f)["address"]
            except (FileNotFoundError, json.JSONDecodeError):  # not yet, or not all written
                time.sleep(0.1)
        raise AssertionError("dask-scheduler wrote no scheduler file in 30 s")

    def stop(self):
        """Stops the processes; returns what they printed."""
        for process in reversed(self.processes):
            process.terminate()
            process.wait(timeout=30)
        self.log.seek(0)
        output = self.log.read()
        self.log.close()
        return output


class DaskSegmentTest(unittest.TestCase):
    def assertMasksEqualTheCli(self, out_dir):
        for name in NAMES:
            mask = name[:-4] + "_mask.png"
            self.assertTrue(filecmp.cmp(os.path.join(out_dir, mask),
                                        common.work_path("cli_masks", mask), shallow=False), mask)

    def assertNoValidationMessages(self, result):
        self.assertNotIn("validation", result.stderr)

    def test_masks_and_metrics_equal_the_cli(self):
        out = common.work_path("dask_masks")
        local_cluster = ("--workers", "2", "--local-directory", common.work_path("dask-local"))
        result = run_dask(IMAGES, out, "--json", *local_cluster)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNoValidationMessages(result)
        self.assertEqual(result.stdout, CLI_JSON)
        self.assertEqual(sorted(os.listdir(out)), sorted(n[:-4] + "_mask.png" for n in NAMES))
        self.assertMasksEqualTheCli(out)

        # A second run refuses to overwrite before any work (no cluster is started).
        before = os.stat(os.path.join(out, NAMES[0][:-4] + "_mask.png")).st_mtime_ns
        again = run_dask(IMAGES, out, "--json", *local_cluster)
        self.assertEqual(again.returncode, 1)
        self.assertIn("exists; pass --force to overwrite it", again.stderr)
        self.assertEqual(again.stdout, "")
        self.assertEqual(os.stat(os.path.join(out, NAMES[0][:-4] + "_mask.png")).st_mtime_ns,
                         before)

    def test_a_broken_image_is_reported_and_the_rest_segmented(self):
        images, labels = common.work_path("with_broken"), common.work_path("with_broken_labels")
        for directory, source in ((images, IMAGES), (labels, LABELS)):
            os.makedirs(directory)
            for name in NAMES:
                os.symlink(os.path.join(source, name), os.path.join(directory, name))
        broken = os.path.join(images, "broken.png")
        with open(broken, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
        os.symlink(os.path.join(LABELS, NAMES[0]), os.path.join(labels, "broken.png"))
        out = common.work_path("dask_text")
        cluster = Cluster()
        try:
            result = run_dask(images, out, "--scheduler", cluster.address(), "--device-per-worker",
                              labels=labels)
        finally:
            cluster_output = cluster.stop()
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertNoValidationMessages(result)
        self.assertNotIn("vkseg: validation", cluster_output)
        self.assertIn(f"vkseg: error: segment: {os.path.abspath(broken)}", result.stderr)
        self.assertEqual(result.stdout, CLI_TEXT)  # the metrics of the 40 good images
        self.assertFalse(os.path.exists(os.path.join(out, "broken_mask.png")))
        self.assertMasksEqualTheCli(out)


if __name__ == "__main__":
    common.main()
