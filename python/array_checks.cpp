// Array checks shared by the bindings: every array is checked here before the library sees it.
#include <cstdint>
#include <string>

#include "bindings.hpp"
#include "vkseg/error.hpp"

namespace vkseg::python {

namespace {

std::string type_name(const py::handle& object) {
  return py::str(py::type::handle_of(object).attr("__name__"));
}

}  // namespace

py::array as_array(const py::handle& object, const char* what) {
  if (!py::isinstance<py::array>(object)) {
    throw Error(std::string(what) + " must be a numpy array, not " + type_name(object));
  }
  return py::reinterpret_borrow<py::array>(object);
}

std::string dtype_name(const py::array& array) { return py::str(array.dtype()); }

std::string shape_text(const py::array& array) {
  std::string text = "(";
  for (py::ssize_t i = 0; i < array.ndim(); ++i) {
    text += (i ? ", " : "") + std::to_string(array.shape(i));
  }
  return text + (array.ndim() == 1 ? ",)" : ")");
}

py::array_t<int64_t> as_labels(const py::handle& object, const char* what) {
  const py::array array = as_array(object, what);
  const char kind = array.dtype().kind();
  if (kind != 'i' && kind != 'u') {
    throw Error(std::string(what) + " must be an integer array, not " + dtype_name(array));
  }
  return py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(array);
}

}  // namespace vkseg::python
