#pragma once
// Segmenting frames an application holds in its own VkImages, recorded into its own command
// buffers: the frame in, the label map and a colour overlay out, all on the device.
#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "vkseg/model.hpp"

namespace vkseg {

namespace detail {
struct ImageSegmenterState;
}

// One of the application's images and how it uses it around vkseg's work. vkseg copies from it
// (the frame; the overlay's image, which is read and written) or to it (labels), so it needs
// VK_IMAGE_USAGE_TRANSFER_SRC_BIT and/or _DST_BIT, one mip level and one array layer (the first
// are used), and belongs to the context's queue family. vkseg moves it from `layout` to a
// transfer layout and back, after the application's earlier `stages`/`access` and before its
// later ones.
struct ImageUse {
  VkImage image = VK_NULL_HANDLE;
  // The frame and the overlay: VK_FORMAT_R8G8B8A8_{UNORM,SRGB} or B8G8R8A8_{UNORM,SRGB}, read as
  // the stored 8-bit values (what an image file holds; sRGB is not decoded). Labels:
  // VK_FORMAT_R8_UINT (at most 256 classes) or VK_FORMAT_R16_UINT.
  VkFormat format = VK_FORMAT_UNDEFINED;
  VkImageLayout layout = VK_IMAGE_LAYOUT_GENERAL;  // before and after vkseg's work; not UNDEFINED
  VkPipelineStageFlags stages = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
  VkAccessFlags access = VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT;
};

// What ImageSegmenter::record writes besides the session's logits and labels buffers.
struct ImageOutputs {
  std::optional<ImageUse> labels;   // the label map, at the frame's size
  std::optional<ImageUse> overlay;  // blended in place, as `vkseg segment --overlay` blends
  float alpha = 0.5f;               // the class colour's weight in the overlay
};

// Frames of one size, width x height, in the application's images: the model's preprocessing and
// padding to the size the network accepts, the network, and the outputs, recorded into the
// application's command buffer. The labels equal Segmenter::segment's for the same pixels, and
// the overlay equals blend_overlay's.
class ImageSegmenter {
 public:
  // Throws Error for a model that does not take RGB, or a zero or too large size.
  ImageSegmenter(Network& network, uint32_t width, uint32_t height);
  ~ImageSegmenter();
  ImageSegmenter(const ImageSegmenter&) = delete;
  ImageSegmenter& operator=(const ImageSegmenter&) = delete;

  uint32_t width() const;
  uint32_t height() const;
  // The session the network runs in, at the padded size: its logits_range() and labels_range()
  // hold the last run's results (rows of the padded width).
  Session& session();

  // Records into `command_buffer` (primary, recording, outside a render pass, of the context's
  // queue family): the frame's copy out, preprocessing, the network, and the outputs. Throws
  // Error, recording nothing, for an unsupported format or a missing image. The commands may be
  // submitted any number of times; executions of one ImageSegmenter are ordered among
  // themselves.
  void record(VkCommandBuffer command_buffer, const ImageUse& frame,
              const ImageOutputs& outputs = {});

 private:
  std::unique_ptr<detail::ImageSegmenterState> state_;
};

}  // namespace vkseg
