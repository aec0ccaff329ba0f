// The C API (include/vkseg/vkseg.h): each handle holds the C++ object, and every entry point runs
// its body inside call(), which turns exceptions into a status and the thread's last error.
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "vkseg/context.hpp"
#include "vkseg/error.hpp"
#include "vkseg/image.hpp"
#include "vkseg/model.hpp"
#include "vkseg/segment.hpp"
#include "vkseg/vkseg.h"

struct vkseg_model {
  vkseg::Model model;
};
struct vkseg_context {
  std::unique_ptr<vkseg::Context> context;
};
struct vkseg_network {
  vkseg::Network network;
};
struct vkseg_session {
  vkseg::Session session;
};
struct vkseg_segmenter {
  vkseg::Segmenter segmenter;
};

namespace {

// A fixed buffer: recording an error must not allocate (it may be reporting out of memory).
thread_local char g_last_error[1024] = "";

void set_last_error(const char* message) {
  std::strncpy(g_last_error, message, sizeof(g_last_error) - 1);
  g_last_error[sizeof(g_last_error) - 1] = '\0';
}

// A caller's mistake the C layer finds itself (vkseg::Error covers what the library refuses).
class InvalidArgument : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class Body>
vkseg_status call(Body&& body) noexcept {
  try {
    body();
    g_last_error[0] = '\0';
    return VKSEG_OK;
  } catch (const InvalidArgument& e) {
    set_last_error(e.what());
    return VKSEG_ERROR_INVALID_ARGUMENT;
  } catch (const vkseg::VulkanError& e) {
    set_last_error(e.what());
    return VKSEG_ERROR_VULKAN;
  } catch (const vkseg::Error& e) {
    set_last_error(e.what());
    return VKSEG_ERROR_FAILED;
  } catch (const std::bad_alloc&) {
    set_last_error("out of memory");
    return VKSEG_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_last_error(e.what());
    return VKSEG_ERROR_INTERNAL;
  } catch (...) {
    set_last_error("an unknown exception reached the C API");
    return VKSEG_ERROR_INTERNAL;
  }
}

// Returns `p`; throws InvalidArgument naming the parameter when it is NULL.
template <class T>
T* need(T* p, const char* what) {
  if (!p) throw InvalidArgument(fmt::format("{} is NULL", what));
  return p;
}

void need_count(size_t given, uint64_t expected, const char* what) {
  if (given != expected) {
    throw InvalidArgument(
        fmt::format("{} holds {} elements; the session's shape needs {}", what, given, expected));
  }
}

uint64_t element_count(const vkseg::Shape4& s) { return uint64_t(s[0]) * s[1] * s[2] * s[3]; }

const vkseg::ClassInfo& class_at(const vkseg_model* model, uint32_t index) {
  const auto& classes = need(model, "model")->model.classes();
  if (index >= classes.size()) {
    throw InvalidArgument(
        fmt::format("class index {} is out of range (the model has {})", index, classes.size()));
  }
  return classes[index];
}

vkseg::ContextOptions context_options(const vkseg_context_options* options) {
  vkseg_context_options defaults;
  vkseg_context_options_init(&defaults);
  const vkseg_context_options& o = options ? *options : defaults;
  vkseg::ContextOptions result;
  if (o.device_index >= 0) result.device_index = uint32_t(o.device_index);
  result.validation = o.validation != 0;
  result.autotune = o.autotune != 0;
  if (o.cache_dir) result.cache_dir = o.cache_dir;
  return result;
}

void write_range(const vkseg::DeviceRange& from, vkseg_buffer_range* to) {
  *need(to, "range") = {from.buffer, from.offset, from.size};
}

vkseg::BufferUse buffer_use(const vkseg_buffer_use* use, vkseg::BufferUse fallback) {
  return use ? vkseg::BufferUse{use->stages, use->access, use->queue_family} : fallback;
}

}  // namespace

extern "C" {

const char* vkseg_version(void) { return "vkseg " VKSEG_VERSION_STRING; }

const char* vkseg_last_error(void) { return g_last_error; }

const char* vkseg_status_name(vkseg_status status) {
  switch (status) {
    case VKSEG_OK: return "VKSEG_OK";
    case VKSEG_ERROR_INVALID_ARGUMENT: return "VKSEG_ERROR_INVALID_ARGUMENT";
    case VKSEG_ERROR_FAILED: return "VKSEG_ERROR_FAILED";
    case VKSEG_ERROR_VULKAN: return "VKSEG_ERROR_VULKAN";
    case VKSEG_ERROR_OUT_OF_MEMORY: return "VKSEG_ERROR_OUT_OF_MEMORY";
    case VKSEG_ERROR_INTERNAL: return "VKSEG_ERROR_INTERNAL";
  }
  return "unknown vkseg_status";
}

vkseg_status vkseg_model_load(const char* path, vkseg_model** model) {
  return call([&] {
    need(model, "model");
    *model = new vkseg_model{vkseg::Model::load(need(path, "path"))};
  });
}

void vkseg_model_destroy(vkseg_model* model) { delete model; }

vkseg_status vkseg_model_class_count(const vkseg_model* model, uint32_t* count) {
  return call(
      [&] { *need(count, "count") = uint32_t(need(model, "model")->model.classes().size()); });
}

vkseg_status vkseg_model_class_name(const vkseg_model* model, uint32_t index, const char** name) {
  return call([&] {
    need(name, "name");
    *name = class_at(model, index).name.c_str();
  });
}

vkseg_status vkseg_model_class_color(const vkseg_model* model, uint32_t index, uint8_t rgb[3]) {
  return call([&] {
    need(rgb, "rgb");
    const auto& color = class_at(model, index).rgb;
    std::memcpy(rgb, color.data(), 3);
  });
}

vkseg_status vkseg_model_input_channels(const vkseg_model* model, uint32_t* channels) {
  return call([&] { *need(channels, "channels") = need(model, "model")->model.input_channels(); });
}

vkseg_status vkseg_model_input_multiple(const vkseg_model* model, uint32_t* multiple) {
  return call([&] { *need(multiple, "multiple") = need(model, "model")->model.input_multiple(); });
}

vkseg_status vkseg_model_min_input(const vkseg_model* model, uint32_t* min_input) {
  return call([&] { *need(min_input, "min_input") = need(model, "model")->model.min_input(); });
}

void vkseg_context_options_init(vkseg_context_options* options) {
  if (options) *options = {-1, 0, 0, nullptr};
}

vkseg_status vkseg_context_create(const vkseg_context_options* options, vkseg_context** context) {
  return call([&] {
    need(context, "context");
    *context = new vkseg_context{std::make_unique<vkseg::Context>(context_options(options))};
  });
}

vkseg_status vkseg_context_adopt(const vkseg_external_device* device,
                                 const vkseg_context_options* options, vkseg_context** context) {
  return call([&] {
    const vkseg_external_device& d = *need(device, "device");
    need(context, "context");
    vkseg::ExternalDevice external;
    external.instance = d.instance;
    external.physical_device = d.physical_device;
    external.device = d.device;
    external.queue = d.queue;
    external.queue_family_index = d.queue_family_index;
    external.enabled_features = d.enabled_features;
    if (d.enabled_extension_count && !d.enabled_extensions) {
      throw InvalidArgument("enabled_extensions is NULL but enabled_extension_count is not 0");
    }
    for (uint32_t i = 0; i < d.enabled_extension_count; ++i) {
      external.enabled_device_extensions.push_back(
          need(d.enabled_extensions[i], "an extension name"));
    }
    *context = new vkseg_context{vkseg::Context::adopt(external, context_options(options))};
  });
}

void vkseg_context_destroy(vkseg_context* context) { delete context; }

vkseg_status vkseg_context_validation_message_count(const vkseg_context* context, uint64_t* count) {
  return call([&] {
    *need(count, "count") = need(context, "context")->context->validation_message_count();
  });
}

vkseg_status vkseg_network_create(vkseg_context* context, const vkseg_model* model,
                                  vkseg_precision precision, vkseg_network** network) {
  return call([&] {
    need(network, "network");
    if (precision != VKSEG_PRECISION_FP32 && precision != VKSEG_PRECISION_FP16) {
      throw InvalidArgument(
          fmt::format("precision {} is neither VKSEG_PRECISION_FP32 nor "
                      "VKSEG_PRECISION_FP16",
                      int(precision)));
    }
    *network = new vkseg_network{vkseg::Network(
        *need(context, "context")->context, need(model, "model")->model,
        precision == VKSEG_PRECISION_FP16 ? vkseg::Precision::Fp16 : vkseg::Precision::Fp32)};
  });
}

void vkseg_network_destroy(vkseg_network* network) { delete network; }

vkseg_status vkseg_session_create(vkseg_network* network, uint32_t batch, uint32_t height,
                                  uint32_t width, vkseg_session** session) {
  return call([&] {
    need(session, "session");
    *session =
        new vkseg_session{vkseg::Session(need(network, "network")->network, batch, height, width)};
  });
}

void vkseg_session_destroy(vkseg_session* session) { delete session; }

vkseg_status vkseg_session_input_shape(const vkseg_session* session, uint32_t shape[4]) {
  return call([&] {
    const vkseg::Shape4 s = need(session, "session")->session.input_shape();
    std::memcpy(need(shape, "shape"), s.data(), sizeof(s));
  });
}

vkseg_status vkseg_session_output_shape(const vkseg_session* session, uint32_t shape[4]) {
  return call([&] {
    const vkseg::Shape4 s = need(session, "session")->session.output_shape();
    std::memcpy(need(shape, "shape"), s.data(), sizeof(s));
  });
}

vkseg_status vkseg_session_run(vkseg_session* session, const float* input, size_t input_count,
                               float* logits, size_t logits_count) {
  return call([&] {
    vkseg::Session& s = need(session, "session")->session;
    need_count(input_count, element_count(s.input_shape()), "input");
    need_count(logits_count, element_count(s.output_shape()), "logits");
    s.run(need(input, "input"), need(logits, "logits"));
  });
}

vkseg_status vkseg_session_run_labels(vkseg_session* session, const float* input,
                                      size_t input_count, uint32_t* labels, size_t label_count) {
  return call([&] {
    vkseg::Session& s = need(session, "session")->session;
    const vkseg::Shape4 out = s.output_shape();
    need_count(input_count, element_count(s.input_shape()), "input");
    need_count(label_count, uint64_t(out[0]) * out[2] * out[3], "labels");
    s.run_labels(need(input, "input"), need(labels, "labels"));
  });
}

vkseg_status vkseg_session_non_finite_pixels(const vkseg_session* session, uint64_t* count) {
  return call(
      [&] { *need(count, "count") = need(session, "session")->session.non_finite_pixels(); });
}

vkseg_status vkseg_session_input_range(const vkseg_session* session, vkseg_buffer_range* range) {
  return call([&] { write_range(need(session, "session")->session.input_range(), range); });
}

vkseg_status vkseg_session_logits_range(const vkseg_session* session, vkseg_buffer_range* range) {
  return call([&] { write_range(need(session, "session")->session.logits_range(), range); });
}

vkseg_status vkseg_session_labels_range(const vkseg_session* session, vkseg_buffer_range* range) {
  return call([&] { write_range(need(session, "session")->session.labels_range(), range); });
}

vkseg_status vkseg_session_record(vkseg_session* session, VkCommandBuffer command_buffer,
                                  const vkseg_buffer_use* input_before,
                                  const vkseg_buffer_use* outputs_after) {
  return call([&] {
    need(session, "session")
        ->session.record(command_buffer, buffer_use(input_before, vkseg::BufferUse::any_write()),
                         buffer_use(outputs_after, vkseg::BufferUse::any_read()));
  });
}

vkseg_status vkseg_segmenter_create(vkseg_network* network, vkseg_segmenter** segmenter) {
  return call([&] {
    need(segmenter, "segmenter");
    *segmenter = new vkseg_segmenter{vkseg::Segmenter(need(network, "network")->network)};
  });
}

void vkseg_segmenter_destroy(vkseg_segmenter* segmenter) { delete segmenter; }

vkseg_status vkseg_segmenter_segment(vkseg_segmenter* segmenter, const uint8_t* rgb, uint32_t width,
                                     uint32_t height, uint32_t* labels, size_t label_count,
                                     uint64_t* non_finite_pixels) {
  return call([&] {
    vkseg::Segmenter& s = need(segmenter, "segmenter")->segmenter;
    need(rgb, "rgb");
    need(labels, "labels");
    if (width == 0 || height == 0) {
      throw InvalidArgument(
          fmt::format("the image is {}x{}; both sides must be at least 1", width, height));
    }
    if (label_count != uint64_t(width) * height) {
      throw InvalidArgument(fmt::format("labels holds {} elements; a {}x{} image needs {}",
                                        label_count, width, height, uint64_t(width) * height));
    }
    const vkseg::LabelMap map = s.segment(rgb, width, height);
    std::memcpy(labels, map.labels.data(), map.labels.size() * sizeof(uint32_t));
    if (non_finite_pixels) *non_finite_pixels = map.non_finite_pixels;
  });
}

vkseg_status vkseg_image_load(const char* path, uint8_t** rgb, uint32_t* width, uint32_t* height) {
  return call([&] {
    need(rgb, "rgb");
    need(width, "width");
    need(height, "height");
    const vkseg::Image image = vkseg::read_image(need(path, "path"));
    // malloc, so C callers may also release it with free().
    auto* pixels = static_cast<uint8_t*>(std::malloc(image.rgb.size()));
    if (!pixels) throw std::bad_alloc();
    std::memcpy(pixels, image.rgb.data(), image.rgb.size());
    *rgb = pixels;
    *width = image.width;
    *height = image.height;
  });
}

void vkseg_image_free(uint8_t* rgb) { std::free(rgb); }

}  // extern "C"
