// vkseg.ConfusionMatrix: vkseg::ConfusionMatrix filled from numpy label arrays, with the metrics
// `vkseg eval` reports, addition (summing workers' matrices) and pickling (sending them).
#include <pybind11/stl.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "vkseg/error.hpp"
#include "vkseg/segment.hpp"

namespace vkseg::python {

using namespace pybind11::literals;

namespace {

void add_labels(ConfusionMatrix& matrix, const py::handle& truth_object,
                const py::handle& predicted_object, std::optional<int64_t> ignore) {
  const py::array_t<int64_t> truth = as_labels(truth_object, "truth");
  const py::array_t<int64_t> predicted = as_labels(predicted_object, "predicted");
  const std::vector<py::ssize_t> truth_shape(truth.shape(), truth.shape() + truth.ndim());
  const std::vector<py::ssize_t> predicted_shape(predicted.shape(),
                                                 predicted.shape() + predicted.ndim());
  if (truth_shape != predicted_shape) {
    throw Error("truth is " + shape_text(truth) + " but predicted is " + shape_text(predicted));
  }
  const int64_t classes = matrix.classes();
  const int64_t* t = truth.data();
  const int64_t* p = predicted.data();
  std::vector<uint64_t> counts(size_t(classes) * size_t(classes), 0);
  {
    py::gil_scoped_release released;
    for (py::ssize_t i = 0; i < truth.size(); ++i) {
      if (p[i] < 0 || p[i] >= classes) {
        throw Error("predicted holds label " + std::to_string(p[i]) + ", but the matrix has " +
                    std::to_string(classes) + " classes");
      }
      if (ignore && t[i] == *ignore) continue;
      if (t[i] < 0 || t[i] >= classes) {
        throw Error("truth holds label " + std::to_string(t[i]) + ", but the matrix has " +
                    std::to_string(classes) + " classes (and ignore is " +
                    (ignore ? std::to_string(*ignore) : "None") + ")");
      }
      ++counts[size_t(t[i]) * size_t(classes) + size_t(p[i])];
    }
  }
  matrix.add(counts);  // only once every pixel is known good, so an error adds nothing
}

ConfusionMatrix matrix_from_counts(const py::handle& object) {
  const py::array_t<int64_t> counts = as_labels(object, "counts");
  const py::ssize_t classes = counts.ndim() == 2 ? counts.shape(0) : 0;
  if (classes < 1 || counts.shape(1) != classes || classes > 65536) {
    throw Error("counts must be a classes x classes array, not " + shape_text(counts));
  }
  std::vector<uint64_t> values(size_t(counts.size()));
  for (size_t i = 0; i < values.size(); ++i) {
    if (counts.data()[i] < 0) throw Error("counts must not be negative");
    values[i] = uint64_t(counts.data()[i]);
  }
  ConfusionMatrix matrix{uint32_t(classes)};
  matrix.add(values);
  return matrix;
}

void merge(ConfusionMatrix& into, const ConfusionMatrix& other) {
  if (other.classes() != into.classes()) {
    throw Error("cannot merge a " + std::to_string(other.classes()) + "-class matrix into a " +
                std::to_string(into.classes()) + "-class one");
  }
  into.add(other.counts());
}

py::array_t<uint64_t> counts_array(const ConfusionMatrix& m) {
  py::array_t<uint64_t> out({py::ssize_t(m.classes()), py::ssize_t(m.classes())});
  std::memcpy(out.mutable_data(), m.counts().data(), m.counts().size() * sizeof(uint64_t));
  return out;
}

}  // namespace

void bind_confusion_matrix(py::module_& m) {
  py::class_<ConfusionMatrix>(m, "ConfusionMatrix",
                              "Pixel counts of (truth, predicted) label pairs and the FCN paper's "
                              "metrics over them, as `vkseg eval` computes them (fractions, not "
                              "percent; classes absent from truth and prediction are skipped).")
      .def(py::init([](int64_t classes) {
             if (classes < 1 || classes > 65536) {
               throw Error("a confusion matrix needs 1 to 65536 classes, not " +
                           std::to_string(classes));
             }
             return ConfusionMatrix(uint32_t(classes));
           }),
           "classes"_a)
      .def_static("from_counts", &matrix_from_counts, "counts"_a,
                  "A matrix holding counts (classes x classes, [truth, predicted]).")
      .def("add", &add_labels, "truth"_a, "predicted"_a, "ignore"_a = 255,
           "Counts each pixel of two integer label arrays of one shape; truth pixels equal to "
           "`ignore` (None: none) are skipped.")
      .def("merge", [](ConfusionMatrix& self, const ConfusionMatrix& other) -> ConfusionMatrix& {
             merge(self, other);
             return self;
           }, "other"_a, py::return_value_policy::reference_internal,
           "Adds another matrix's counts into this one (for summing workers' results).")
      .def("__add__", [](const ConfusionMatrix& a, const ConfusionMatrix& b) {
             ConfusionMatrix sum = a;
             merge(sum, b);
             return sum;
           })
      .def_property_readonly("classes", &ConfusionMatrix::classes)
      .def_property_readonly("counts", &counts_array, "classes x classes uint64, [truth, predicted]")
      .def_property_readonly("total", &ConfusionMatrix::total)
      .def_property_readonly("pixel_accuracy", &ConfusionMatrix::pixel_accuracy)
      .def_property_readonly("mean_accuracy", &ConfusionMatrix::mean_accuracy)
      .def_property_readonly("mean_iou", &ConfusionMatrix::mean_iou)
      .def_property_readonly("frequency_weighted_iou", &ConfusionMatrix::frequency_weighted_iou)
      .def_property_readonly("class_iou", &ConfusionMatrix::class_iou,
                             "per class; NaN where a class is in neither truth nor prediction")
      .def("eval_report", &ConfusionMatrix::report, "class_names"_a, "images"_a, "json"_a = false,
           "What `vkseg eval` (with json: `vkseg eval --json`) prints for these counts over "
           "`images` images.")
      .def(py::pickle([](const ConfusionMatrix& self) -> py::array { return counts_array(self); },
                      [](const py::array& counts) { return matrix_from_counts(counts); }))
      .def("__repr__", [](const ConfusionMatrix& self) {
        return "<vkseg.ConfusionMatrix " + std::to_string(self.classes()) + " classes, " +
               std::to_string(self.total()) + " pixels>";
      });
}

}  // namespace vkseg::python
