#!/usr/bin/python3
"""Bad input raises vkseg.Error with one line, never crashes: wrong dtypes, shapes and ranks,
closed networks, missing files, bad devices and precisions, mismatched label arrays."""
import os

import numpy as np

import common
from common import vkseg


class ErrorTest(common.ValidatedTest):
    def assertError(self, fragment, call, *args, **kwargs):
        with self.assertRaises(vkseg.Error) as caught:
            call(*args, **kwargs)
        message = str(caught.exception)
        self.assertNotIn("\n", message)
        self.assertIn(fragment, message)

    def test_error_is_an_exception_class(self):
        self.assertTrue(issubclass(vkseg.Error, Exception))
        self.assertTrue(issubclass(vkseg.VulkanError, vkseg.Error))

    def test_missing_and_bad_files(self):
        missing = common.work_path("missing.vkseg")
        self.assertError("missing.vkseg", vkseg.Model.load, missing)
        not_a_model = common.work_path("not_a_model.vkseg")
        with open(not_a_model, "wb") as f:
            f.write(b"\x00" * 100)
        self.assertError("not_a_model.vkseg", vkseg.Model.load, not_a_model)
        self.assertError("missing.png", vkseg.read_image, common.work_path("missing.png"))
        self.assertError("not_a_model.vkseg", vkseg.read_image, not_a_model)
        self.assertError("missing.png", vkseg.read_label_png, common.work_path("missing.png"))

    def test_bad_context_and_network_options(self):
        self.assertError("device", vkseg.Context, device=999, cache_dir="")
        self.assertError("precision", vkseg.Network, self.context, self.model, "fp64")
        # Objects of the wrong type are TypeErrors, as Python's own functions raise.
        self.assertRaises(TypeError, vkseg.Network, None, self.model)
        self.assertRaises(TypeError, vkseg.Network, self.context, None)
        self.assertRaises(TypeError, vkseg.ConfusionMatrix(2).merge, None)

    def test_run_inputs(self):
        network = vkseg.Network(self.context, self.model)
        good = np.zeros((1, 3, 32, 32), np.float32)
        self.assertError("float32", network.run, good.astype(np.float64))
        self.assertError("float32", network.run, good.astype(">f4"))
        self.assertError("numpy array", network.run, good.tolist())
        self.assertError("N x 3 x H x W", network.run, good[0])  # rank 3
        self.assertError("N x 3 x H x W", network.run, np.zeros((1, 4, 32, 32), np.float32))
        self.assertError("N x 3 x H x W", network.run, np.zeros((0, 3, 32, 32), np.float32))
        self.assertError("N x 3 x H x W", network.run, np.zeros((1, 3, 0, 32), np.float32))
        self.assertError("N x 3 x H x W", network.run, np.zeros((1, 3, 70000, 1), np.float32))
        multiple = self.model.input_multiple
        if multiple > 1:
            self.assertError("multiples", network.run, np.zeros((1, 3, multiple + 1, 32),
                                                                np.float32))
        # Non-contiguous input is copied, not refused: the same logits as its copy.
        wide = np.zeros((1, 3, 32, 64), np.float32)
        wide[..., ::2] = np.random.default_rng(1).standard_normal((1, 3, 32, 32))
        np.testing.assert_array_equal(network.run(wide[..., ::2]),
                                      network.run(np.ascontiguousarray(wide[..., ::2])))

    def test_segment_inputs(self):
        network = vkseg.Network(self.context, self.model)
        rgb = np.zeros((16, 16, 3), np.uint8)
        self.assertError("uint8", network.segment, rgb.astype(np.float32))
        self.assertError("uint8", network.segment, rgb.astype(np.uint16))
        self.assertError("numpy array", network.segment, "image.png")
        self.assertError("H x W", network.segment, np.zeros((16,), np.uint8))
        self.assertError("H x W", network.segment, np.zeros((1, 16, 16, 3), np.uint8))
        self.assertError("H x W", network.segment, np.zeros((16, 16, 5), np.uint8))
        self.assertError("H x W", network.segment, np.zeros((16, 16, 0), np.uint8))
        self.assertError("each side", network.segment, np.zeros((0, 16, 3), np.uint8))

    def test_closed_network(self):
        with vkseg.Network(self.context, self.model) as network:
            network.segment(np.zeros((8, 8, 3), np.uint8))
        self.assertTrue(network.closed)
        self.assertError("closed", network.segment, np.zeros((8, 8, 3), np.uint8))
        self.assertError("closed", network.run, np.zeros((1, 3, 32, 32), np.float32))
        network.close()  # closing twice is harmless

    def test_write_mask(self):
        labels = np.zeros((4, 4), np.uint8)
        path = common.work_path("mask.png")
        self.assertError("uint8", vkseg.write_mask, path, labels.astype(np.float32), self.model)
        self.assertError("H x W", vkseg.write_mask, path, np.zeros((4, 4, 1), np.uint8),
                         self.model)
        self.assertError("11 classes", vkseg.write_mask, path, labels + 11, self.model)
        self.assertError("directory", vkseg.write_mask,
                         common.work_path("no", "such", "mask.png"), labels, self.model)
        self.assertFalse(os.path.exists(path))

    def test_confusion_matrix_inputs(self):
        m = vkseg.ConfusionMatrix(3)
        a = np.zeros((4, 4), np.uint8)
        self.assertError("classes", vkseg.ConfusionMatrix, 0)
        self.assertError("but predicted is (4, 5)", m.add, a, np.zeros((4, 5), np.uint8))
        self.assertError("integer", m.add, a.astype(np.float32), a)
        self.assertError("truth holds label 7", m.add, a + 7, a)
        self.assertError("predicted holds label 3", m.add, a, a + 3)
        self.assertError("predicted holds label -1", m.add, a, a.astype(np.int8) - 1)
        self.assertEqual(m.total, 0)  # a refused add counts nothing
        self.assertError("merge", m.merge, vkseg.ConfusionMatrix(4))
        self.assertError("merge", lambda: m + vkseg.ConfusionMatrix(2))
        self.assertError("classes x classes", vkseg.ConfusionMatrix.from_counts, np.zeros(3, int))


if __name__ == "__main__":
    common.main()
