/* vkseg's C API: the C++ API (vkseg/model.hpp, vkseg/segment.hpp) behind opaque handles, for C
 * programs and other languages' foreign function interfaces. Pure C99, usable from C++.
 *
 * Every function that can fail returns a vkseg_status; on failure vkseg_last_error() gives the
 * calling thread's one-line message, and a handle's output pointer is left as it was. No C++
 * exception crosses this boundary. Destroy functions accept NULL.
 *
 * Lifetimes follow the C++ API: a network uses its context, and sessions and segmenters use
 * their network, so destroy them before what they use. A model may be destroyed once its
 * networks exist (they keep what they need). Threading: as in C++, one thread at a time per
 * session and per segmenter; contexts and networks may serve several threads. */
#ifndef VKSEG_VKSEG_H
#define VKSEG_VKSEG_H

#include <stddef.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vkseg_status {
  VKSEG_OK = 0,
  /* A NULL handle or pointer, a buffer of the wrong size, a value out of range. */
  VKSEG_ERROR_INVALID_ARGUMENT = 1,
  /* vkseg refused the request: unreadable or invalid model file, unsupported input size, no
   * suitable device, ... (the message says which). */
  VKSEG_ERROR_FAILED = 2,
  /* A Vulkan call failed (out of device memory, device lost, timeout). */
  VKSEG_ERROR_VULKAN = 3,
  VKSEG_ERROR_OUT_OF_MEMORY = 4,
  /* A bug in vkseg: please report the message. */
  VKSEG_ERROR_INTERNAL = 5
} vkseg_status;

/* "vkseg 0.1.0". */
const char* vkseg_version(void);
/* The message of the calling thread's last call, "" when it succeeded; valid until the thread's
 * next vkseg call. */
const char* vkseg_last_error(void);
/* "VKSEG_OK", "VKSEG_ERROR_INVALID_ARGUMENT", ... */
const char* vkseg_status_name(vkseg_status status);

typedef struct vkseg_model vkseg_model;
typedef struct vkseg_context vkseg_context;
typedef struct vkseg_network vkseg_network;
typedef struct vkseg_session vkseg_session;
typedef struct vkseg_segmenter vkseg_segmenter;

/* ---- Models: converted .vkseg files ---- */
vkseg_status vkseg_model_load(const char* path, vkseg_model** model);
void vkseg_model_destroy(vkseg_model* model);
vkseg_status vkseg_model_class_count(const vkseg_model* model, uint32_t* count);
/* The name is valid while the model lives. */
vkseg_status vkseg_model_class_name(const vkseg_model* model, uint32_t index, const char** name);
vkseg_status vkseg_model_class_color(const vkseg_model* model, uint32_t index, uint8_t rgb[3]);
vkseg_status vkseg_model_input_channels(const vkseg_model* model, uint32_t* channels);
/* Accepted input sizes: multiples of the input multiple, at least the minimum (per side). */
vkseg_status vkseg_model_input_multiple(const vkseg_model* model, uint32_t* multiple);
vkseg_status vkseg_model_min_input(const vkseg_model* model, uint32_t* min_input);

/* ---- Contexts: a Vulkan device, owned or adopted ---- */
typedef struct vkseg_context_options {
  /* Index into the Vulkan enumeration order; negative: VKSEG_DEVICE, else the first discrete,
   * integrated, virtual, then CPU device. */
  int32_t device_index;
  /* Non-zero: the Khronos validation layer (also VKSEG_VALIDATION=1); its messages go to stderr
   * and are counted (vkseg_context_validation_message_count). Owned devices only. */
  int32_t validation;
  /* Non-zero: choose each convolution's shader by timing (kept in cache_dir when set). */
  int32_t autotune;
  /* Directory of the pipeline and tuning cache; NULL or "": no disk cache. */
  const char* cache_dir;
} vkseg_context_options;

/* Fills the defaults: device chosen by vkseg, no validation, no autotuning, no disk cache. */
void vkseg_context_options_init(vkseg_context_options* options);

/* `options` may be NULL (the defaults). */
vkseg_status vkseg_context_create(const vkseg_context_options* options, vkseg_context** context);

/* Handles of a device the application owns; vkseg uses them and never destroys them. The
 * application must not use `queue` while a vkseg call that submits is running (see README). */
typedef struct vkseg_external_device {
  VkInstance instance;
  VkPhysicalDevice physical_device;
  VkDevice device;
  VkQueue queue; /* must support compute */
  uint32_t queue_family_index;
  /* The chain passed as VkDeviceCreateInfo::pNext (read during adoption only); NULL: none. */
  const void* enabled_features;
  /* The device extensions the application enabled. */
  const char* const* enabled_extensions;
  uint32_t enabled_extension_count;
} vkseg_external_device;

/* `options` may be NULL; its device_index and validation do not apply to an adopted device. */
vkseg_status vkseg_context_adopt(const vkseg_external_device* device,
                                 const vkseg_context_options* options, vkseg_context** context);
void vkseg_context_destroy(vkseg_context* context);
/* Validation warnings and errors seen so far (0 without validation). */
vkseg_status vkseg_context_validation_message_count(const vkseg_context* context, uint64_t* count);

/* ---- Networks: a model's weights and pipelines on a device ---- */
/* The last value makes the type hold any int, so that a wrong value is refused, not undefined
   behaviour in C++ (as Vulkan's *_MAX_ENUM values do). */
typedef enum vkseg_precision {
  VKSEG_PRECISION_FP32 = 0,
  VKSEG_PRECISION_FP16 = 1,
  VKSEG_PRECISION_MAX_ENUM = 0x7fffffff
} vkseg_precision;

/* The network keeps no host copy of the model's weights: destroying the model once its networks
   are created frees them. */
vkseg_status vkseg_network_create(vkseg_context* context, const vkseg_model* model,
                                  vkseg_precision precision, vkseg_network** network);
void vkseg_network_destroy(vkseg_network* network);

/* ---- Sessions: one batch and input size, recorded once ---- */
vkseg_status vkseg_session_create(vkseg_network* network, uint32_t batch, uint32_t height,
                                  uint32_t width, vkseg_session** session);
void vkseg_session_destroy(vkseg_session* session);
/* N, C, H, W of the input and of the logits. */
vkseg_status vkseg_session_input_shape(const vkseg_session* session, uint32_t shape[4]);
vkseg_status vkseg_session_output_shape(const vkseg_session* session, uint32_t shape[4]);

/* NCHW float input (input_count: the input shape's element count) to NCHW float logits
 * (logits_count: the output shape's), or to N x H x W labels (label_count: N * H * W of the
 * output). Waits for the device. */
vkseg_status vkseg_session_run(vkseg_session* session, const float* input, size_t input_count,
                               float* logits, size_t logits_count);
vkseg_status vkseg_session_run_labels(vkseg_session* session, const float* input,
                                      size_t input_count, uint32_t* labels, size_t label_count);
/* Pixels of the last run whose logits held a NaN or an infinity (their labels mean nothing). */
vkseg_status vkseg_session_non_finite_pixels(const vkseg_session* session, uint64_t* count);

/* A range of one of the session's device buffers. */
typedef struct vkseg_buffer_range {
  VkBuffer buffer;
  VkDeviceSize offset;
  VkDeviceSize size;
} vkseg_buffer_range;

/* The float NCHW input, the float logits and the uint32 labels on the device. */
vkseg_status vkseg_session_input_range(const vkseg_session* session, vkseg_buffer_range* range);
vkseg_status vkseg_session_logits_range(const vkseg_session* session, vkseg_buffer_range* range);
vkseg_status vkseg_session_labels_range(const vkseg_session* session, vkseg_buffer_range* range);

/* How the application uses a session's buffers around vkseg's work: the stages and accesses
 * vkseg's barriers order against, and the queue family (VK_QUEUE_FAMILY_IGNORED: the context's;
 * another: vkseg records that half of an ownership transfer). */
typedef struct vkseg_buffer_use {
  VkPipelineStageFlags stages;
  VkAccessFlags access;
  uint32_t queue_family;
} vkseg_buffer_use;

/* Records the session's work, with its barriers, into the application's primary command buffer
 * (of the context's queue family, recording, outside a render pass): Session::record.
 * input_before: how earlier commands wrote the input range; outputs_after: how later commands
 * read the logits and labels. NULL: written (read) by a copy, a compute shader or the host. */
vkseg_status vkseg_session_record(vkseg_session* session, VkCommandBuffer command_buffer,
                                  const vkseg_buffer_use* input_before,
                                  const vkseg_buffer_use* outputs_after);

/* ---- Segmenters: 8-bit RGB images of any size to labels ---- */
/* The model must take 3 input channels. Applies its preprocessing, pads to an accepted size,
 * runs and crops back; keeps one session per padded size. */
vkseg_status vkseg_segmenter_create(vkseg_network* network, vkseg_segmenter** segmenter);
void vkseg_segmenter_destroy(vkseg_segmenter* segmenter);
/* rgb: height rows of width x 3 bytes; labels: width * height class indices (label_count).
 * non_finite_pixels (may be NULL): pixels whose scores held a NaN or an infinity. */
vkseg_status vkseg_segmenter_segment(vkseg_segmenter* segmenter, const uint8_t* rgb,
                                     uint32_t width, uint32_t height, uint32_t* labels,
                                     size_t label_count, uint64_t* non_finite_pixels);

/* ---- Images ---- */
/* Reads a PNG, JPEG or BMP as 8-bit RGB (height rows of width x 3 bytes); free the pixels with
 * vkseg_image_free. */
vkseg_status vkseg_image_load(const char* path, uint8_t** rgb, uint32_t* width, uint32_t* height);
void vkseg_image_free(uint8_t* rgb);

#ifdef __cplusplus
}
#endif

#endif /* VKSEG_VKSEG_H */
