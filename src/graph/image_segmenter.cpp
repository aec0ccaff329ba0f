// vkseg::ImageSegmenter: an application's frame image through preprocessing, the network and the
// label and overlay images, as copies and dispatches in the application's command buffer.
#include "vkseg/image_segmenter.hpp"

#include <fmt/format.h>

#include <map>
#include <tuple>

#include "ops/dispatch.hpp"
#include "vk/buffer.hpp"
#include "vk/context_state.hpp"
#include "vk/recorder.hpp"
#include "vkseg/error.hpp"
#include "vkseg/segment.hpp"

namespace vkseg {

namespace {

struct InputPush {
  uint32_t width, height, padded_width, padded_height;
  uint32_t source_byte[3];
  float scale[3], offset[3];
};

struct PackPush {
  uint32_t width, height, row_width;
};

struct BlendPush {
  uint32_t width, height, row_width, classes, bgra;
  float alpha;
};

// Whether a frame or overlay format stores B, G, R, A; refuses every other format.
bool is_bgra(VkFormat format, const char* role) {
  switch (format) {
    case VK_FORMAT_R8G8B8A8_UNORM:
    case VK_FORMAT_R8G8B8A8_SRGB: return false;
    case VK_FORMAT_B8G8R8A8_UNORM:
    case VK_FORMAT_B8G8R8A8_SRGB: return true;
    default:
      throw Error(fmt::format("ImageSegmenter: the {} image's format {} is not supported; "
                              "supported: R8G8B8A8 or B8G8R8A8, UNORM or SRGB",
                              role, int(format)));
  }
}

VkImageMemoryBarrier image_barrier(VkImage image, VkImageLayout from, VkImageLayout to,
                                   VkAccessFlags src, VkAccessFlags dst) {
  VkImageMemoryBarrier b{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
  b.srcAccessMask = src;
  b.dstAccessMask = dst;
  b.oldLayout = from;
  b.newLayout = to;
  b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.image = image;
  b.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
  return b;
}

void check_use(const ImageUse& use, const char* role) {
  if (!use.image) throw Error(fmt::format("ImageSegmenter: the {} image is VK_NULL_HANDLE", role));
  if (use.layout == VK_IMAGE_LAYOUT_UNDEFINED || use.layout == VK_IMAGE_LAYOUT_PREINITIALIZED) {
    throw Error(fmt::format("ImageSegmenter: the {} image's layout must hold its contents, not "
                            "UNDEFINED or PREINITIALIZED", role));
  }
}

}  // namespace

namespace detail {

struct ImageSegmenterState {
  ImageSegmenterState(Network& network, uint32_t width, uint32_t height, uint32_t padded_width,
                      uint32_t padded_height)
      : network(network),
        context(network.context()),
        width(width),
        height(height),
        session(network, 1, padded_height, padded_width),
        texels(context, uint64_t(width) * height * 4),
        overlay_texels(context, uint64_t(width) * height * 4),
        packed_labels(context, (uint64_t(width) * height * 2 + 3) / 4 * 4),
        colours(context, network.model().classes().size() * 4) {
    std::vector<uint32_t> packed;
    for (const ClassInfo& c : network.model().classes()) {
      packed.push_back(c.rgb[0] | uint32_t(c.rgb[1]) << 8 | uint32_t(c.rgb[2]) << 16);
    }
    vk::upload(context, colours, 0, packed.data(), packed.size() * 4);
    vk::ContextState& s = vk::state(context);
    const uint32_t local = ops::k_flat_local_size;
    to_input = &s.pipeline({"image_to_input", {local, 1, 1}, 2, sizeof(InputPush)});
    pack8 = &s.pipeline({"labels_to_image", {local, 1, 1, 1}, 2, sizeof(PackPush)});
    pack16 = &s.pipeline({"labels_to_image", {local, 1, 1, 2}, 2, sizeof(PackPush)});
    blend = &s.pipeline({"overlay_blend", {local, 1, 1}, 3, sizeof(BlendPush)});
  }

  vk::Recorder& preprocess(bool frame_bgra);
  vk::Recorder& outputs(uint32_t label_bytes, std::optional<bool> overlay_bgra, float alpha);

  Network& network;
  Context& context;
  const uint32_t width, height;
  Session session;
  vk::Buffer texels, overlay_texels, packed_labels, colours;
  const vk::Pipeline *to_input, *pack8, *pack16, *blend;
  // Secondary command buffers, recorded once per combination they depend on.
  std::map<bool, std::unique_ptr<vk::Recorder>> preprocessors;
  std::map<std::tuple<uint32_t, int, uint32_t>, std::unique_ptr<vk::Recorder>> writers;
};

vk::Recorder& ImageSegmenterState::preprocess(bool frame_bgra) {
  std::unique_ptr<vk::Recorder>& r = preprocessors[frame_bgra];
  if (r) return *r;
  r = std::make_unique<vk::Recorder>(context, 0, vk::Recorder::Level::Secondary);
  const Preprocess& p = network.model().preprocess();
  const Shape4 in = session.input_shape();
  InputPush push{width, height, in[3], in[2], {}, {}, {}};
  for (uint32_t c = 0; c < 3; ++c) {
    const uint32_t rgb_channel = p.bgr ? 2 - c : c;  // as preprocess_image() reads it
    push.source_byte[c] = frame_bgra ? 2 - rgb_channel : rgb_channel;
    push.scale[c] = p.scale / p.std[c];
    push.offset[c] = p.mean[c] / p.std[c];
  }
  const DeviceRange input = session.input_range();
  const ops::FlatGrid grid = ops::flat_grid(context.info(), uint64_t(in[2]) * in[3]);
  r->begin();
  r->dispatch(*to_input,
              {{texels.view(), vk::Access::Read},
               {{input.buffer, input.offset, input.size}, vk::Access::Write}},
              &push, sizeof push, grid.x, grid.y, 1, "image_to_input");
  r->end();
  return *r;
}

vk::Recorder& ImageSegmenterState::outputs(uint32_t label_bytes, std::optional<bool> overlay_bgra,
                                           float alpha) {
  uint32_t alpha_bits;
  __builtin_memcpy(&alpha_bits, &alpha, 4);
  std::unique_ptr<vk::Recorder>& r =
      writers[{label_bytes, overlay_bgra ? int(*overlay_bgra) : -1, alpha_bits}];
  if (r) return *r;
  r = std::make_unique<vk::Recorder>(context, 0, vk::Recorder::Level::Secondary);
  const DeviceRange labels = session.labels_range();
  const vk::BufferView label_view{labels.buffer, labels.offset, labels.size};
  const uint32_t row_width = session.input_shape()[3];
  const uint64_t pixels = uint64_t(width) * height;
  r->begin();
  if (label_bytes) {
    const PackPush push{width, height, row_width};
    const ops::FlatGrid grid = ops::flat_grid(context.info(), (pixels * label_bytes + 3) / 4);
    r->dispatch(label_bytes == 1 ? *pack8 : *pack16,
                {{label_view, vk::Access::Read}, {packed_labels.view(), vk::Access::Write}}, &push,
                sizeof push, grid.x, grid.y, 1, "labels_to_image");
  }
  if (overlay_bgra) {
    const BlendPush push{width, height, row_width,
                         uint32_t(network.model().classes().size()), uint32_t(*overlay_bgra), alpha};
    const ops::FlatGrid grid = ops::flat_grid(context.info(), pixels);
    r->dispatch(*blend,
                {{overlay_texels.view(), vk::Access::ReadWrite}, {label_view, vk::Access::Read},
                 {colours.view(), vk::Access::Read}},
                &push, sizeof push, grid.x, grid.y, 1, "overlay_blend");
  }
  r->end();
  return *r;
}

}  // namespace detail

ImageSegmenter::ImageSegmenter(Network& network, uint32_t width, uint32_t height) {
  const Model& model = network.model();
  if (model.input_channels() != 3) {
    throw Error(fmt::format("ImageSegmenter: the model takes {} input channels; images give 3",
                            model.input_channels()));
  }
  if (width == 0 || height == 0 || width > 16384 || height > 16384) {
    throw Error(fmt::format("ImageSegmenter: a {}x{} frame is not supported; sides from 1 to 16384",
                            width, height));
  }
  // The padded size Segmenter runs an image of this size at.
  const auto [padded_width, padded_height] = network_input_size(model, width, height);
  state_ = std::make_unique<detail::ImageSegmenterState>(network, width, height, padded_width,
                                                         padded_height);
}

ImageSegmenter::~ImageSegmenter() = default;

uint32_t ImageSegmenter::width() const { return state_->width; }
uint32_t ImageSegmenter::height() const { return state_->height; }
Session& ImageSegmenter::session() { return state_->session; }

void ImageSegmenter::record(VkCommandBuffer cmd, const ImageUse& frame, const ImageOutputs& outputs) {
  detail::ImageSegmenterState& s = *state_;
  if (!cmd) throw Error("ImageSegmenter::record: the command buffer is VK_NULL_HANDLE");
  check_use(frame, "frame");
  const bool frame_bgra = is_bgra(frame.format, "frame");
  uint32_t label_bytes = 0;
  if (outputs.labels) {
    check_use(*outputs.labels, "labels");
    const size_t classes = s.network.model().classes().size();
    if (outputs.labels->format == VK_FORMAT_R8_UINT && classes <= 256) {
      label_bytes = 1;
    } else if (outputs.labels->format == VK_FORMAT_R16_UINT && classes <= 65536) {
      label_bytes = 2;
    } else {
      throw Error(fmt::format("ImageSegmenter: the labels image's format {} cannot hold {} classes; "
                              "supported: R8_UINT (up to 256 classes), R16_UINT (up to 65536)",
                              int(outputs.labels->format), classes));
    }
  }
  std::optional<bool> overlay_bgra;
  if (outputs.overlay) {
    check_use(*outputs.overlay, "overlay");
    overlay_bgra = is_bgra(outputs.overlay->format, "overlay");
  }
  if (!(outputs.alpha >= 0.0f && outputs.alpha <= 1.0f)) {
    throw Error("ImageSegmenter: the overlay's alpha must be from 0 to 1");
  }
  vk::Recorder& preprocess = s.preprocess(frame_bgra);
  vk::Recorder* writer =
      label_bytes || overlay_bgra ? &s.outputs(label_bytes, overlay_bgra, outputs.alpha) : nullptr;

  constexpr VkPipelineStageFlags own = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  constexpr VkAccessFlags own_writes = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  const VkBufferImageCopy region{0, 0, 0, {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1}, {0, 0, 0},
                                 {s.width, s.height, 1}};
  const ImageUse* overlay = outputs.overlay ? &*outputs.overlay : nullptr;
  const bool overlay_is_frame = overlay && overlay->image == frame.image;

  // The frame (and the overlay's image) to transfer sources, after the application's use and any
  // earlier execution of this work.
  {
    VkMemoryBarrier memory{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, own_writes,
                           VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
    std::vector<VkImageMemoryBarrier> images{
        image_barrier(frame.image, frame.layout, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                      frame.access, VK_ACCESS_TRANSFER_READ_BIT)};
    VkPipelineStageFlags src = own | frame.stages;
    if (overlay && !overlay_is_frame) {
      images.push_back(image_barrier(overlay->image, overlay->layout,
                                     VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, overlay->access,
                                     VK_ACCESS_TRANSFER_READ_BIT));
      src |= overlay->stages;
    }
    vkCmdPipelineBarrier(cmd, src, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &memory, 0, nullptr,
                         uint32_t(images.size()), images.data());
  }
  vkCmdCopyImageToBuffer(cmd, frame.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, s.texels.handle(), 1,
                         &region);
  if (overlay) {
    vkCmdCopyImageToBuffer(cmd, overlay->image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                           s.overlay_texels.handle(), 1, &region);
  }
  // The copies to the shaders; the frame back to the application unless it is also the overlay's
  // image, which stays a transfer image until it is written back.
  {
    VkMemoryBarrier memory{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_TRANSFER_WRITE_BIT,
                           VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
    std::vector<VkImageMemoryBarrier> images;
    VkPipelineStageFlags dst = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
    if (!overlay_is_frame) {
      images.push_back(image_barrier(frame.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, frame.layout,
                                     0, frame.access));
      dst |= frame.stages;
    }
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, dst, 0, 1, &memory, 0, nullptr,
                         uint32_t(images.size()), images.data());
  }
  const VkCommandBuffer preprocess_commands = preprocess.command_buffer();
  vkCmdExecuteCommands(cmd, 1, &preprocess_commands);
  s.session.record(cmd, {VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT},
                   {VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT});
  if (!writer) return;
  const VkCommandBuffer writer_commands = writer->command_buffer();
  vkCmdExecuteCommands(cmd, 1, &writer_commands);

  // The packed labels and blended texels into the application's images, then those back to it.
  std::vector<VkImageMemoryBarrier> to_transfer, to_application;
  VkPipelineStageFlags src = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, dst = 0;
  if (label_bytes) {
    const ImageUse& l = *outputs.labels;
    to_transfer.push_back(image_barrier(l.image, l.layout, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                                        l.access, VK_ACCESS_TRANSFER_WRITE_BIT));
    to_application.push_back(image_barrier(l.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, l.layout,
                                           VK_ACCESS_TRANSFER_WRITE_BIT, l.access));
    src |= l.stages;
    dst |= l.stages;
  }
  if (overlay) {
    to_transfer.push_back(image_barrier(overlay->image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                                        VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 0,
                                        VK_ACCESS_TRANSFER_WRITE_BIT));
    to_application.push_back(image_barrier(overlay->image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                                           overlay->layout, VK_ACCESS_TRANSFER_WRITE_BIT,
                                           overlay->access));
    src |= VK_PIPELINE_STAGE_TRANSFER_BIT;
    dst |= overlay->stages;
  }
  VkMemoryBarrier written{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_SHADER_WRITE_BIT,
                          VK_ACCESS_TRANSFER_READ_BIT};
  vkCmdPipelineBarrier(cmd, src, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &written, 0, nullptr,
                       uint32_t(to_transfer.size()), to_transfer.data());
  if (label_bytes) {
    vkCmdCopyBufferToImage(cmd, s.packed_labels.handle(), outputs.labels->image,
                           VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
  }
  if (overlay) {
    vkCmdCopyBufferToImage(cmd, s.overlay_texels.handle(), overlay->image,
                           VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
  }
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, dst, 0, 0, nullptr, 0, nullptr,
                       uint32_t(to_application.size()), to_application.data());
}

}  // namespace vkseg
