// The `vkseg._vkseg` extension: vkseg's public C++ API for Python (numpy arrays in and out).
// Device work runs with the GIL released; every failure is raised as vkseg.Error with vkseg's
// one-line message, bad arrays included, so no input can crash the interpreter.
#include <pybind11/stl.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "vkseg/context.hpp"
#include "vkseg/error.hpp"
#include "vkseg/model.hpp"
#include "vkseg/precision.hpp"
#include "vkseg/segment.hpp"

using namespace pybind11::literals;

namespace vkseg::python {

namespace {

// Sides larger than this are refused before anything is allocated (what `vkseg run` accepts).
constexpr size_t k_max_side = 65536;
constexpr size_t k_max_batch = 4096;

py::dict device_dict(const DeviceInfo& d) {
  // The keys and values of `vkseg devices --json`.
  return py::dict("index"_a = d.index, "name"_a = d.name, "type"_a = d.type,
                  "vendor_id"_a = d.vendor_id, "device_id"_a = d.device_id,
                  "vulkan"_a = api_version_string(d.api_version), "driver"_a = d.driver_name,
                  "driver_info"_a = d.driver_info, "fp16_storage"_a = d.fp16_storage,
                  "fp16_arithmetic"_a = d.fp16_arithmetic, "int8_arithmetic"_a = d.int8_arithmetic,
                  "subgroup_size"_a = d.subgroup_size, "min_subgroup_size"_a = d.min_subgroup_size,
                  "max_subgroup_size"_a = d.max_subgroup_size,
                  "shared_memory_bytes"_a = d.max_shared_memory_bytes,
                  "max_workgroup_invocations"_a = d.max_workgroup_invocations,
                  "max_storage_buffer_range"_a = d.max_storage_buffer_range,
                  "device_local_bytes"_a = d.device_local_bytes,
                  "unified_memory"_a = d.unified_memory, "timestamps"_a = d.timestamps,
                  "timestamp_period_ns"_a = d.timestamp_period_ns,
                  "push_descriptors"_a = d.push_descriptors,
                  "cooperative_matrix"_a = d.cooperative_matrix || d.cooperative_matrix_nv);
}

std::shared_ptr<Context> make_context(std::optional<uint32_t> device, bool validation,
                                      std::optional<std::string> cache_dir, bool autotune) {
  ContextOptions options;
  options.device_index = device;
  options.validation = validation;
  // None: the cache the CLI shares (VKSEG_CACHE_DIR, then XDG); "": no disk cache.
  options.cache_dir = cache_dir ? *cache_dir : default_cache_dir();
  options.autotune = autotune;
  py::gil_scoped_release released;
  return std::make_shared<Context>(options);
}

// An image array (H x W grey, H x W x C with C = 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA; any
// strides) as packed RGB, the way vkseg's image reader widens and drops channels.
struct RgbImage {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> rgb;
};

RgbImage to_rgb(const py::handle& object) {
  const py::array array = as_array(object, "the image");
  if (!py::array_t<uint8_t>::check_(array)) {
    throw Error("the image must be a uint8 array, not " + dtype_name(array));
  }
  const py::ssize_t rank = array.ndim();
  const py::ssize_t channels = rank == 3 ? array.shape(2) : 1;
  if ((rank != 2 && rank != 3) || channels < 1 || channels > 4) {
    throw Error("the image must be H x W (grey) or H x W x 3 (RGB), also x 1, 2 or 4 (alpha "
                "dropped), not " + shape_text(array));
  }
  const size_t height = size_t(array.shape(0)), width = size_t(array.shape(1));
  if (width == 0 || height == 0 || width > k_max_side || height > k_max_side) {
    throw Error("the image is " + std::to_string(width) + "x" + std::to_string(height) +
                "; each side must be 1 to " + std::to_string(k_max_side));
  }
  const auto* base = static_cast<const uint8_t*>(array.data());
  const py::ssize_t sy = array.strides(0), sx = array.strides(1);
  const py::ssize_t sc = rank == 3 ? array.strides(2) : 0;
  RgbImage image{uint32_t(width), uint32_t(height), std::vector<uint8_t>(width * height * 3)};
  uint8_t* out = image.rgb.data();
  for (size_t y = 0; y < height; ++y) {
    for (size_t x = 0; x < width; ++x, out += 3) {
      const uint8_t* pixel = base + py::ssize_t(y) * sy + py::ssize_t(x) * sx;
      const bool colour = channels >= 3;
      for (int c = 0; c < 3; ++c) out[c] = pixel[colour ? c * sc : 0];
    }
  }
  return image;
}

template <typename T>
py::array label_array(const LabelMap& map) {
  py::array_t<T> array({py::ssize_t(map.height), py::ssize_t(map.width)});
  T* out = array.mutable_data();
  for (size_t i = 0; i < map.labels.size(); ++i) out[i] = T(map.labels[i]);
  return array;
}

// A Model, a Network on a Context and what runs it, closed explicitly or when collected. One
// call at a time (the mutex), since Segmenter and Session are single-threaded and the GIL is
// released while they run.
class PyNetwork {
 public:
  PyNetwork(std::shared_ptr<Context> context, const Model& model, const std::string& precision)
      : context_(std::move(context)), model_(model) {
    const Precision p = parse_precision(precision);
    py::gil_scoped_release released;
    network_ = std::make_unique<Network>(*context_, model_, p);
    model_ = network_->model();  // the network's copy, without the host weights
  }

  const Model& model() const { return model_; }
  std::shared_ptr<Context> context() const { return context_; }
  std::string precision() {
    const auto lock = lock_network();
    return precision_name(open_network().precision());
  }
  bool closed() {
    const auto lock = lock_network();
    return !network_;
  }

  py::array_t<float> run(const py::handle& object) {
    const py::array checked = as_array(object, "the input");
    if (!py::array_t<float>::check_(checked)) {
      throw Error("the input must be a float32 array, not " + dtype_name(checked));
    }
    const uint32_t channels = model_.input_channels(), multiple = model_.input_multiple();
    const bool sized = checked.ndim() == 4 && checked.shape(1) == py::ssize_t(channels) &&
                       checked.shape(0) >= 1 && size_t(checked.shape(0)) <= k_max_batch &&
                       checked.shape(2) >= 1 && size_t(checked.shape(2)) <= k_max_side &&
                       checked.shape(3) >= 1 && size_t(checked.shape(3)) <= k_max_side;
    if (!sized) {
      throw Error("the input must be an N x " + std::to_string(channels) +
                  " x H x W float32 array (N 1 to 4096, sides 1 to 65536), not " +
                  shape_text(checked));
    }
    const uint32_t n = uint32_t(checked.shape(0)), h = uint32_t(checked.shape(2)),
                   w = uint32_t(checked.shape(3));
    if (h % multiple || w % multiple || h < model_.min_input() || w < model_.min_input()) {
      throw Error("the input is " + std::to_string(h) + "x" + std::to_string(w) +
                  "; the network takes sides that are multiples of " + std::to_string(multiple) +
                  " and at least " + std::to_string(model_.min_input()));
    }
    // Non-contiguous arrays are copied (C order) rather than refused.
    const auto input = py::array_t<float, py::array::c_style>::ensure(checked);
    if (!input) throw py::error_already_set();
    const auto lock = lock_network();
    Network& network = open_network();
    {
      py::gil_scoped_release released;
      if (!session_ || session_->input_shape() != Shape4{n, channels, h, w}) {
        session_.reset();  // one planned input size at a time: its activations are freed first
        session_.emplace(network, n, h, w);
      }
    }
    const Shape4 out = session_->output_shape();
    py::array_t<float> logits({py::ssize_t(out[0]), py::ssize_t(out[1]), py::ssize_t(out[2]),
                               py::ssize_t(out[3])});
    float* logits_data = logits.mutable_data();
    const float* input_data = input.data();
    {
      py::gil_scoped_release released;
      session_->run(input_data, logits_data);
    }
    return logits;
  }

  py::array segment(const py::handle& object) {
    const RgbImage image = to_rgb(object);
    const auto lock = lock_network();
    Network& network = open_network();
    LabelMap map;
    {
      py::gil_scoped_release released;
      if (!segmenter_) segmenter_ = std::make_unique<Segmenter>(network);
      map = segmenter_->segment(image.rgb.data(), image.width, image.height);
    }
    if (map.non_finite_pixels) {
      throw Error("the network scored " + std::to_string(map.non_finite_pixels) +
                  " pixels NaN or infinite; no labels (" +
                  (network.precision() == Precision::Fp16
                       ? "fp16 holds values up to 65504: try precision fp32)"
                       : "check the model's weights with `vkseg info`)"));
    }
    return model_.classes().size() <= 256 ? label_array<uint8_t>(map) : label_array<uint16_t>(map);
  }

  // Frees the device objects now; later calls raise Error.
  void close() {
    const auto lock = lock_network();
    py::gil_scoped_release released;
    segmenter_.reset();
    session_.reset();
    network_.reset();
  }

 private:
  // Waits for another thread's call without holding the GIL (that thread may need it to finish).
  std::unique_lock<std::mutex> lock_network() {
    py::gil_scoped_release released;
    return std::unique_lock(mutex_);
  }

  Network& open_network() {
    if (!network_) throw Error("the network is closed");
    return *network_;
  }

  // Declared first so it is destroyed last: the network lives on its device.
  std::shared_ptr<Context> context_;
  Model model_;
  std::mutex mutex_;
  std::unique_ptr<Network> network_;
  std::unique_ptr<Segmenter> segmenter_;
  std::optional<Session> session_;  // run()'s, for the last input shape
};

py::list class_list(const Model& model) {
  py::list classes;
  for (const ClassInfo& c : model.classes()) {
    classes.append(py::make_tuple(c.name, py::make_tuple(c.rgb[0], c.rgb[1], c.rgb[2])));
  }
  return classes;
}

py::dict preprocess_dict(const Model& model) {
  const Preprocess& p = model.preprocess();
  return py::dict("bgr"_a = p.bgr, "scale"_a = p.scale,
                  "mean"_a = py::make_tuple(p.mean[0], p.mean[1], p.mean[2]),
                  "std"_a = py::make_tuple(p.std[0], p.std[1], p.std[2]));
}

void bind_model(py::module_& m) {
  py::class_<Model>(m, "Model", "A converted .vkseg model file (immutable).")
      .def_static("load", [](const std::string& path) {
                    py::gil_scoped_release released;
                    return Model::load(path);
                  }, "path"_a)
      .def_property_readonly("arch", &Model::arch)
      .def_property_readonly("classes", &class_list, "[(name, (r, g, b)), ...]")
      .def_property_readonly("preprocess", &preprocess_dict,
                             "value = (pixel * scale - mean) / std; mean and std in the model's "
                             "channel order (B, G, R when bgr)")
      .def_property_readonly("input_channels", &Model::input_channels)
      .def_property_readonly("input_multiple", &Model::input_multiple)
      .def_property_readonly("min_input", &Model::min_input)
      .def_property_readonly("parameter_count", &Model::parameter_count)
      .def_property_readonly("weight_dtype", &Model::weight_dtype)
      .def_property_readonly("notes", &Model::notes)
      .def("__repr__", [](const Model& self) {
        return "<vkseg.Model " + self.arch() + ", " + std::to_string(self.classes().size()) +
               " classes>";
      });
}

void bind_context_and_network(py::module_& m) {
  py::class_<Context, std::shared_ptr<Context>>(
      m, "Context",
      "A Vulkan device. device: its index (None: VKSEG_DEVICE, else the first GPU, else the "
      "CPU); cache_dir: the pipeline and tuning cache (None: the CLI's, \"\": none); autotune: "
      "choose convolution shaders by timing, as the CLI does.")
      .def(py::init(&make_context), "device"_a = py::none(), "validation"_a = false,
           "cache_dir"_a = py::none(), "autotune"_a = true)
      .def_property_readonly("device", [](const Context& c) { return device_dict(c.info()); })
      .def_property_readonly("validation_messages", &Context::validation_message_count,
                             "validation warnings and errors seen so far");

  py::class_<PyNetwork>(m, "Network",
                        "A model on a context's device; precision \"fp32\" or \"fp16\".")
      // A holder argument would take None as a null context: refused like any other non-Context.
      .def(py::init<std::shared_ptr<Context>, const Model&, const std::string&>(),
           py::arg("context").none(false), "model"_a, "precision"_a = "fp32")
      .def_property_readonly("model", &PyNetwork::model)
      .def_property_readonly("context", &PyNetwork::context)
      .def_property_readonly("precision", &PyNetwork::precision)
      .def_property_readonly("closed", &PyNetwork::closed)
      .def("run", &PyNetwork::run, "x"_a,
           "float32 N x C x H x W in (sides multiples of model.input_multiple), float32 logits "
           "N x classes x H' x W' out.")
      .def("segment", &PyNetwork::segment, "image"_a,
           "uint8 H x W x 3 RGB (or H x W grey, or x 4 with alpha dropped) in, H x W labels out "
           "(uint8 up to 256 classes, else uint16), as `vkseg segment` labels it.")
      .def("close", &PyNetwork::close)
      .def("__enter__", [](PyNetwork& self) -> PyNetwork& { return self; },
           py::return_value_policy::reference_internal)
      .def("__exit__", [](PyNetwork& self, const py::args&) { self.close(); });
}

}  // namespace

}  // namespace vkseg::python

PYBIND11_MODULE(_vkseg, m) {
  using namespace vkseg::python;
  m.doc() = "vkseg: semantic segmentation on Vulkan compute (the compiled part of the package)";
  m.attr("__version__") = VKSEG_VERSION;
  static py::exception<vkseg::Error> error(m, "Error");
  static py::exception<vkseg::VulkanError> vulkan_error(m, "VulkanError", error.ptr());
  // vkseg::Error and VulkanError (caught first: it is an Error) become their Python classes.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const vkseg::VulkanError& e) {
      vulkan_error(e.what());
    } catch (const vkseg::Error& e) {
      error(e.what());
    }
  });
  m.def("list_devices", [] {
    py::list devices;
    for (const vkseg::DeviceInfo& d : vkseg::list_devices()) devices.append(device_dict(d));
    return devices;
  }, "Every Vulkan device, as dicts of what `vkseg devices --json` prints.");
  bind_model(m);
  bind_context_and_network(m);
  bind_confusion_matrix(m);
  bind_files(m);
}
