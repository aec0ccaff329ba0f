#pragma once
// What the parts of the `vkseg._vkseg` extension share: array checks that raise vkseg.Error
// (so no input reaches the library unchecked) and each part's binding function.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

namespace vkseg::python {

namespace py = pybind11;

// `object` as a numpy array, or Error naming what it is instead ("the image must be ...").
py::array as_array(const py::handle& object, const char* what);
std::string dtype_name(const py::array& array);
std::string shape_text(const py::array& array);  // "(4, 5)"
// Integer label arrays (any integer dtype) as int64 in C order, copied where needed.
py::array_t<int64_t> as_labels(const py::handle& object, const char* what);

void bind_confusion_matrix(py::module_& m);
void bind_files(py::module_& m);  // convert, images and label maps

}  // namespace vkseg::python
