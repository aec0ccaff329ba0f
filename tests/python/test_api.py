#!/usr/bin/python3
"""The Python API against the CLI on the bundled demo model: devices, labels identical to
`vkseg segment`'s masks, logits within 1e-5 of `vkseg run`'s, confusion matrices as `vkseg eval`
scores them."""
import json
import os
import pickle
import threading

import numpy as np

import common
from common import vkseg


class DevicesTest(common.ValidatedTest):
    def test_list_devices_matches_the_cli(self):
        cli = [json.loads(line) for line in
               common.run_cli("devices", "--json").stdout.splitlines()]
        self.assertEqual(vkseg.list_devices(), cli)
        self.assertIn(self.context.device, cli)

    def test_version(self):
        self.assertRegex(vkseg.__version__, r"^\d+\.\d+\.\d+$")


class ModelTest(common.ValidatedTest):
    def test_properties(self):
        m = self.model
        self.assertEqual(m.arch, "fcn8s")
        self.assertEqual(len(m.classes), 11)
        self.assertEqual(m.classes[0][0], "background")
        name, rgb = m.classes[1]
        self.assertEqual((name, len(rgb)), ("T-shirt/top", 3))
        self.assertEqual(m.preprocess["bgr"], False)
        self.assertAlmostEqual(m.preprocess["scale"], 1 / 255)
        self.assertEqual(m.preprocess["mean"], (0.5, 0.5, 0.5))
        self.assertGreaterEqual(m.input_multiple, 1)
        self.assertEqual(m.input_channels, 3)


class SegmentTest(common.ValidatedTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.network = vkseg.Network(cls.context, cls.model)
        cls.images = common.sample_images()
        out = common.work_path("segment")
        common.run_cli("segment", common.DEMO_MODEL, *cls.images, "-o", out)
        cls.masks = [os.path.join(out, os.path.basename(i)[:-4] + "_mask.png") for i in cls.images]

    def test_labels_equal_the_cli_masks(self):
        for image, mask in zip(self.images, self.masks):
            labels = self.network.segment(vkseg.read_image(image))
            self.assertEqual(labels.dtype, np.uint8)
            np.testing.assert_array_equal(labels, vkseg.read_label_png(mask), err_msg=image)

    def test_masks_written_from_python_equal_the_cli_masks(self):
        for image, mask in zip(self.images, self.masks):
            labels = self.network.segment(vkseg.read_image(image))
            written = common.work_path(os.path.basename(mask))
            vkseg.write_mask(written, labels, self.model)
            with open(written, "rb") as a, open(mask, "rb") as b:
                self.assertEqual(a.read(), b.read(), image)

    def test_grey_rgba_and_non_contiguous_images(self):
        rgb = vkseg.read_image(self.images[0])
        grey = rgb[:, :, 1].copy()
        expected_grey = self.network.segment(np.repeat(grey[:, :, None], 3, axis=2))
        np.testing.assert_array_equal(self.network.segment(grey), expected_grey)
        np.testing.assert_array_equal(self.network.segment(grey[:, :, None]), expected_grey)
        rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 7, np.uint8)], axis=2)
        expected = self.network.segment(rgb)
        np.testing.assert_array_equal(self.network.segment(rgba), expected)
        # Non-contiguous arrays are accepted (copied): a flipped view, every other column.
        flipped = rgb[:, ::-1]
        np.testing.assert_array_equal(self.network.segment(flipped),
                                      self.network.segment(np.ascontiguousarray(flipped)))
        strided = rgb[:, ::2]
        self.assertEqual(self.network.segment(strided).shape, strided.shape[:2])

    def test_threads_share_a_network(self):
        rgb = vkseg.read_image(self.images[1])
        expected = self.network.segment(rgb)
        results = []
        threads = [threading.Thread(target=lambda: results.append(self.network.segment(rgb)))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(results), 4)
        for labels in results:
            np.testing.assert_array_equal(labels, expected)


class RunTest(common.ValidatedTest):
    def test_logits_match_vkseg_run(self):
        rng = np.random.default_rng(0)
        x = rng.standard_normal((2, 3, 64, 96), dtype=np.float32)
        path_in, path_out = common.work_path("in.npy"), common.work_path("out.npy")
        np.save(path_in, x)
        common.run_cli("run", common.DEMO_MODEL, "--input", path_in, "--output", path_out)
        with vkseg.Network(self.context, self.model) as network:
            logits = network.run(x)
            self.assertEqual(logits.dtype, np.float32)
            expected = np.load(path_out)
            self.assertEqual(logits.shape, expected.shape)
            self.assertLessEqual(float(np.abs(logits - expected).max()), 1e-5)
            # Another shape, then the first again (the session is planned anew each time).
            self.assertEqual(network.run(x[:1, :, :32, :32]).shape, (1, 11, 32, 32))
            np.testing.assert_array_equal(network.run(x), logits)


class ConfusionMatrixTest(common.ValidatedTest):
    def test_metrics_equal_vkseg_eval(self):
        images, labels = common.work_path("eval", "images"), common.work_path("eval", "labels")
        os.makedirs(images)
        os.makedirs(labels)
        for image in common.sample_images():
            name = os.path.basename(image)
            os.symlink(image, os.path.join(images, name))
            os.symlink(image[:-4] + "_label.png", os.path.join(labels, name))
        expected = json.loads(common.run_cli("eval", common.DEMO_MODEL, "--images", images,
                                             "--labels", labels, "--json").stdout)
        network = vkseg.Network(self.context, self.model)
        halves = [vkseg.ConfusionMatrix(11), vkseg.ConfusionMatrix(11)]
        for i, image in enumerate(common.sample_images()):
            truth = vkseg.read_label_png(image[:-4] + "_label.png")
            halves[i % 2].add(truth, network.segment(vkseg.read_image(image)))
        matrix = halves[0] + halves[1]
        self.assertEqual(matrix.total, expected["pixels"])
        for key in ("pixel_accuracy", "mean_accuracy", "mean_iou", "frequency_weighted_iou"):
            self.assertEqual(100.0 * getattr(matrix, key), expected[key], key)
        for iou, entry in zip(matrix.class_iou, expected["class_iou"]):
            self.assertEqual(None if np.isnan(iou) else 100.0 * iou, entry["iou"])
        halves[0].merge(halves[1])
        np.testing.assert_array_equal(halves[0].counts, matrix.counts)

    def test_counting(self):
        m = vkseg.ConfusionMatrix(3)
        truth = np.array([[0, 1, 2], [255, 1, 1]], np.uint8)
        predicted = np.array([[0, 1, 1], [2, 1, 0]], np.int32)
        m.add(truth, predicted)
        np.testing.assert_array_equal(m.counts, [[1, 0, 0], [1, 2, 0], [0, 1, 0]])
        self.assertEqual(m.total, 5)
        self.assertAlmostEqual(m.pixel_accuracy, 3 / 5)
        self.assertEqual(m.class_iou[2], 0.0)  # in truth, never predicted right
        self.assertEqual((m + vkseg.ConfusionMatrix(3)).mean_iou, m.mean_iou)
        absent = vkseg.ConfusionMatrix(4)
        absent.add(truth, predicted)
        self.assertTrue(np.isnan(absent.class_iou[3]))
        self.assertEqual(absent.mean_iou, m.mean_iou)  # absent classes are skipped
        copy = pickle.loads(pickle.dumps(m))
        np.testing.assert_array_equal(copy.counts, m.counts)
        np.testing.assert_array_equal(vkseg.ConfusionMatrix.from_counts(m.counts).counts, m.counts)


if __name__ == "__main__":
    common.main()
