// An offscreen application that owns its Vulkan instance and device and uses vkseg inside its own
// frame: it uploads a picture into an image, copies it into its frame image (standing in for its
// rendering), records vkseg's segmentation and overlay into the same command buffer, reads the
// composited frame back and writes it as a PNG, identical to `vkseg segment --overlay`'s.
//
//   example_offscreen MODEL IMAGE OUT.png [--alpha A] [--validation] [--force]
//
// --validation enables VK_LAYER_KHRONOS_validation with synchronization validation; any
// message makes the program fail.
#include <vulkan/vulkan.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "../common/app_vulkan.hpp"
#include "vkseg/context.hpp"
#include "vkseg/error.hpp"
#include "vkseg/image.hpp"
#include "vkseg/image_segmenter.hpp"
#include "vkseg/model.hpp"
#include "vkseg/text.hpp"

namespace {

using namespace example;

int run(int argc, char** argv) {
  std::vector<std::string> positional;
  bool validation = false, force = false;
  float alpha = 0.5f;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--validation") {
      validation = true;
    } else if (arg == "--force") {
      force = true;
    } else if (arg == "--alpha" && i + 1 < argc) {
      const auto value = vkseg::parse_decimal<float>(argv[++i]);
      if (!value || *value < 0 || *value > 1) throw vkseg::Error("--alpha takes a number from 0 to 1");
      alpha = *value;
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 3) {
    throw vkseg::Error("usage: example_offscreen MODEL IMAGE OUT.png [--alpha A] [--validation] [--force]");
  }
  const std::string& output = positional[2];
  if (!force && std::filesystem::exists(output)) {
    throw vkseg::Error(vkseg::printable(output) + " exists; pass --force to overwrite it");
  }
  const vkseg::Model model = vkseg::Model::load(positional[0]);
  const vkseg::Image picture = vkseg::read_image(positional[1]);
  const uint32_t width = picture.width, height = picture.height;

  App app(validation, {}, {}, [](VkInstance, VkPhysicalDevice, uint32_t) { return true; });
  {
    auto context = vkseg::Context::adopt(app.external_device());
    vkseg::Network network(*context, model);
    vkseg::ImageSegmenter segmenter(network, width, height);

    // The picture as RGBA8 texels in the application's upload buffer.
    const VkDeviceSize bytes = VkDeviceSize(width) * height * 4;
    HostBuffer upload(app, bytes), readback(app, bytes);
    auto* texels = static_cast<uint8_t*>(upload.mapped);
    for (size_t i = 0; i < size_t(width) * height; ++i) {
      std::memcpy(texels + 4 * i, picture.rgb.data() + 3 * i, 3);
      texels[4 * i + 3] = 255;
    }
    Image source(app, VK_FORMAT_R8G8B8A8_SRGB, width, height);
    Image frame(app, VK_FORMAT_R8G8B8A8_SRGB, width, height);

    VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    check(vkBeginCommandBuffer(app.cmd, &begin), "vkBeginCommandBuffer");
    const VkBufferImageCopy whole{0, 0, 0, {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1}, {0, 0, 0},
                                  {width, height, 1}};
    // The application's passes before: the upload, then its "rendering" of the frame.
    transfer_barrier(app.cmd, source.image, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL);
    vkCmdCopyBufferToImage(app.cmd, upload.buffer, source.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1,
                           &whole);
    transfer_barrier(app.cmd, source.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                     VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
    transfer_barrier(app.cmd, frame.image, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL);
    const VkImageCopy region{{VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1}, {0, 0, 0},
                             {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1}, {0, 0, 0}, {width, height, 1}};
    vkCmdCopyImage(app.cmd, source.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, frame.image,
                   VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
    // vkseg's work: the frame segmented and the overlay blended into it, between the passes.
    const vkseg::ImageUse frame_use{frame.image, VK_FORMAT_R8G8B8A8_SRGB,
                                    VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_PIPELINE_STAGE_TRANSFER_BIT,
                                    VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT};
    vkseg::ImageOutputs outputs;
    outputs.overlay = frame_use;
    outputs.alpha = alpha;
    segmenter.record(app.cmd, frame_use, outputs);
    // The application's pass after: the composited frame read back.
    transfer_barrier(app.cmd, frame.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                     VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
    vkCmdCopyImageToBuffer(app.cmd, frame.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, readback.buffer, 1,
                           &whole);
    VkBufferMemoryBarrier to_host{VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER};
    to_host.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    to_host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    to_host.srcQueueFamilyIndex = to_host.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    to_host.buffer = readback.buffer;
    to_host.size = VK_WHOLE_SIZE;
    vkCmdPipelineBarrier(app.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 0,
                         nullptr, 1, &to_host, 0, nullptr);
    check(vkEndCommandBuffer(app.cmd), "vkEndCommandBuffer");
    VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &app.cmd;
    check(vkQueueSubmit(app.queue, 1, &submit, app.fence), "vkQueueSubmit");
    check(vkWaitForFences(app.device, 1, &app.fence, VK_TRUE, 600'000'000'000ull), "vkWaitForFences");

    std::vector<uint8_t> rgb(size_t(width) * height * 3);
    const auto* back = static_cast<const uint8_t*>(readback.mapped);
    for (size_t i = 0; i < size_t(width) * height; ++i) std::memcpy(&rgb[3 * i], back + 4 * i, 3);
    vkseg::write_rgb_png(output, width, height, rgb.data());
  }
  std::printf("%s (%ux%u) -> %s\n", positional[1].c_str(), width, height, output.c_str());
  if (validation_messages) {
    std::fprintf(stderr, "example_offscreen: %d validation messages\n", validation_messages.load());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "example_offscreen: %s\n", e.what());
    return 1;
  }
}
