// What reads and writes files: vkseg.convert (`vkseg convert`'s options by name), images in,
// label maps in and out (the palette PNG `vkseg segment` writes).
#include <pybind11/stl.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "vkseg/convert.hpp"
#include "vkseg/error.hpp"
#include "vkseg/image.hpp"
#include "vkseg/model.hpp"

namespace vkseg::python {

using namespace pybind11::literals;

namespace {

const char* const k_convert_options =
    "arch, num_classes, dtype, mean, std, scale, bgr, classes, layout, fc_relu, force, "
    "refuse_non_finite";

Error option_error(const std::string& name, const std::string& wanted, const py::handle& value) {
  return Error("convert: " + name + " must be " + wanted + ", not " +
               std::string(py::str(py::repr(value))).substr(0, 80));
}

std::string text_option(const std::string& name, const py::handle& value) {
  if (!py::isinstance<py::str>(value)) throw option_error(name, "a string", value);
  return value.cast<std::string>();
}

bool flag_option(const std::string& name, const py::handle& value) {
  if (!py::isinstance<py::bool_>(value)) throw option_error(name, "True or False", value);
  return value.cast<bool>();
}

// A finite Python or numpy number (not a string, which float() would parse, nor a bool).
float number_option(const std::string& name, const py::handle& value) {
  if (py::isinstance<py::str>(value) || py::isinstance<py::bool_>(value) ||
      !PyNumber_Check(value.ptr())) {
    throw option_error(name, "a number", value);
  }
  const double number = py::float_(py::reinterpret_borrow<py::object>(value));
  if (!std::isfinite(number)) throw option_error(name, "a finite number", value);
  return float(number);
}

std::array<float, 3> triple_option(const std::string& name, const py::handle& value) {
  if (py::isinstance<py::str>(value) || !py::isinstance<py::sequence>(value) ||
      py::len(value) != 3) {
    throw option_error(name, "three numbers (R, G, B)", value);
  }
  const py::sequence items = py::reinterpret_borrow<py::sequence>(value);
  return {number_option(name, items[0]), number_option(name, items[1]),
          number_option(name, items[2])};
}

std::vector<std::string> names_option(const std::string& name, const py::handle& value) {
  if (py::isinstance<py::str>(value)) {  // "a,b,c", as `vkseg convert --classes` takes them
    std::vector<std::string> names;
    const std::string list = value.cast<std::string>();
    for (size_t start = 0;;) {
      const size_t comma = list.find(',', start);
      names.push_back(list.substr(start, comma == std::string::npos ? comma : comma - start));
      if (comma == std::string::npos) return names;
      start = comma + 1;
    }
  }
  if (!py::isinstance<py::sequence>(value)) throw option_error(name, "a list of names", value);
  std::vector<std::string> names;
  for (const py::handle item : py::reinterpret_borrow<py::sequence>(value)) {
    names.push_back(text_option(name, item));
  }
  return names;
}

ConvertOptions convert_options(const py::kwargs& options) {
  ConvertOptions o;
  for (const auto& [key, value] : options) {
    const std::string name = py::str(key);
    if (name == "arch") {
      o.arch = text_option(name, value);
    } else if (name == "num_classes") {
      if (!py::isinstance<py::int_>(value) || py::isinstance<py::bool_>(value) ||
          value.cast<int64_t>() < 1 || value.cast<int64_t>() > 65536) {
        throw option_error(name, "a whole number from 1 to 65536", value);
      }
      o.num_classes = value.cast<uint32_t>();
    } else if (name == "dtype") {
      o.dtype = text_option(name, value);
      if (o.dtype != "fp32" && o.dtype != "fp16") throw option_error(name, "fp32 or fp16", value);
    } else if (name == "mean") {
      o.mean = triple_option(name, value);
    } else if (name == "std") {
      o.std = triple_option(name, value);
      for (float s : *o.std) {
        if (s == 0.0f) throw option_error(name, "non-zero numbers", value);
      }
    } else if (name == "scale") {
      o.scale = number_option(name, value);
    } else if (name == "bgr") {
      o.bgr = flag_option(name, value);
    } else if (name == "classes") {
      o.class_names = names_option(name, value);
    } else if (name == "layout") {
      const std::string layout = text_option(name, value);
      if (layout != "auto" && layout != "caffe" && layout != "aligned") {
        throw option_error(name, "auto, caffe or aligned", value);
      }
      if (layout != "auto") o.caffe_padding = layout == "caffe";
    } else if (name == "fc_relu") {
      if (!value.is_none()) o.fc_relu = flag_option(name, value);
    } else if (name == "force") {
      o.overwrite = flag_option(name, value);
    } else if (name == "refuse_non_finite") {
      o.refuse_non_finite = flag_option(name, value);
    } else {
      throw Error("convert: unknown option '" + name + "' (" + k_convert_options + ")");
    }
  }
  return o;
}

py::dict convert(const std::string& checkpoint, const std::string& output,
                 const py::kwargs& kwargs) {
  const ConvertOptions options = convert_options(kwargs);
  ConvertReport report;
  {
    py::gil_scoped_release released;
    report = vkseg::convert(checkpoint, output, options);
  }
  return py::dict("input"_a = checkpoint, "output"_a = output, "arch"_a = report.arch,
                  "format"_a = report.format, "tensors"_a = report.tensors,
                  "parameters"_a = report.parameters, "classes"_a = report.classes,
                  "dtype"_a = report.dtype, "notes"_a = report.notes,
                  "non_finite_weights"_a = report.non_finite_weights);
}

py::array_t<uint8_t> read_rgb(const std::string& path) {
  Image image;
  {
    py::gil_scoped_release released;
    image = read_image(path);
  }
  py::array_t<uint8_t> out({py::ssize_t(image.height), py::ssize_t(image.width), py::ssize_t(3)});
  std::copy(image.rgb.begin(), image.rgb.end(), out.mutable_data());
  return out;
}

py::array_t<uint8_t> read_labels(const std::string& path) {
  LabelImage labels;
  {
    py::gil_scoped_release released;
    labels = read_label_png(path);
  }
  py::array_t<uint8_t> out({py::ssize_t(labels.height), py::ssize_t(labels.width)});
  std::copy(labels.labels.begin(), labels.labels.end(), out.mutable_data());
  return out;
}

void write_mask(const std::string& path, const py::handle& object, const Model& model) {
  const size_t classes = model.classes().size();
  if (classes > 256) {
    throw Error("write_mask: " + std::to_string(classes) + " classes do not fit an 8-bit PNG");
  }
  const py::array array = as_array(object, "the labels");
  if (!py::array_t<uint8_t>::check_(array) && !py::array_t<uint16_t>::check_(array)) {
    throw Error("the labels must be a uint8 or uint16 array, not " + dtype_name(array));
  }
  if (array.ndim() != 2 || array.shape(0) < 1 || array.shape(1) < 1) {
    throw Error("the labels must be an H x W array, not " + shape_text(array));
  }
  const py::array_t<int64_t> labels = as_labels(array, "the labels");
  std::vector<uint8_t> indices(size_t(labels.size()));
  for (size_t i = 0; i < indices.size(); ++i) {
    const int64_t label = labels.data()[i];
    if (label >= int64_t(classes)) {
      throw Error("the labels hold class " + std::to_string(label) + ", but the model has " +
                  std::to_string(classes) + " classes");
    }
    indices[i] = uint8_t(label);
  }
  std::vector<std::array<uint8_t, 3>> palette;
  for (const ClassInfo& c : model.classes()) palette.push_back(c.rgb);
  py::gil_scoped_release released;
  write_indexed_png(path, uint32_t(array.shape(1)), uint32_t(array.shape(0)), indices.data(),
                    palette);
}

}  // namespace

void bind_files(py::module_& m) {
  m.def("convert", &convert, "checkpoint"_a, "output"_a,
        "Converts a PyTorch checkpoint or an ONNX model into a .vkseg file, as `vkseg convert` "
        "does; options by name (arch, num_classes, dtype, mean, std (R, G, B), scale, bgr, "
        "classes, layout (auto, caffe, aligned), fc_relu, force, refuse_non_finite). Returns "
        "a summary dict.");
  m.def("supported_archs", [] {
    py::list archs;
    for (const ArchInfo& a : supported_archs()) archs.append(py::make_tuple(a.name, a.description));
    return archs;
  }, "The networks convert() recognises: [(name, description), ...].");
  m.def("read_image", &read_rgb, "path"_a,
        "A PNG, JPEG or BMP file as uint8 H x W x 3 RGB, as the CLI reads it.");
  m.def("read_label_png", &read_labels, "path"_a,
        "A label map (8-bit grey or palette PNG) as uint8 H x W: values or palette indices.");
  m.def("write_mask", &write_mask, "path"_a, "labels"_a, "model"_a,
        "Writes H x W labels as the palette PNG `vkseg segment` writes (the model's class "
        "colours), through a temporary file.");
}

}  // namespace vkseg::python
