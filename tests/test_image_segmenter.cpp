// ImageSegmenter against the host path: a frame in an application's image gives Segmenter's
// labels in R8/R16 images and blend_overlay's pixels in the overlay image, with the validation
// layer (synchronization validation included) watching the application's own command buffer.
#include <cstring>
#include <iostream>

#include "app_commands.hpp"
#include "harness.hpp"
#include "vk/buffer.hpp"
#include "vkseg/image_segmenter.hpp"
#include "vkseg/segment.hpp"

namespace vkseg::test {
namespace {

Model demo_model() {
  return Model::load(std::string(VKSEG_SOURCE_DIR) + "/weights/demo/demo_fcn8s.vkseg");
}

uint32_t texel_bytes_of(VkFormat format) {
  return format == VK_FORMAT_R8_UINT ? 1 : format == VK_FORMAT_R16_UINT ? 2 : 4;
}

// An application's image in device memory, kept in VK_IMAGE_LAYOUT_GENERAL between uses.
class AppImage {
 public:
  AppImage(VkFormat format, uint32_t width, uint32_t height)
      : format(format), width(width), height(height), staging_(context(), bytes()) {
    const VkDevice device = context().device();
    VkImageCreateInfo info{VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
    info.imageType = VK_IMAGE_TYPE_2D;
    info.format = format;
    info.extent = {width, height, 1};
    info.mipLevels = info.arrayLayers = 1;
    info.samples = VK_SAMPLE_COUNT_1_BIT;
    info.tiling = VK_IMAGE_TILING_OPTIMAL;
    info.usage = VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
    expect_ok(vkCreateImage(device, &info, nullptr, &image), "vkCreateImage");
    VkMemoryRequirements needs;
    vkGetImageMemoryRequirements(device, image, &needs);
    VkPhysicalDeviceMemoryProperties memory;
    vkGetPhysicalDeviceMemoryProperties(context().physical_device(), &memory);
    VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    alloc.allocationSize = needs.size;
    for (uint32_t t = 0; t < memory.memoryTypeCount; ++t) {
      if ((needs.memoryTypeBits >> t & 1) &&
          (memory.memoryTypes[t].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)) {
        alloc.memoryTypeIndex = t;
        break;
      }
    }
    expect_ok(vkAllocateMemory(device, &alloc, nullptr, &memory_), "vkAllocateMemory");
    expect_ok(vkBindImageMemory(device, image, memory_, 0), "vkBindImageMemory");
  }
  ~AppImage() {
    vkDestroyImage(context().device(), image, nullptr);
    vkFreeMemory(context().device(), memory_, nullptr);
  }
  uint64_t bytes() const { return uint64_t(width) * height * texel_bytes_of(format); }
  ImageUse use() const {
    return {image, format, VK_IMAGE_LAYOUT_GENERAL, VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
  }

  // The application's own upload (from UNDEFINED on the first one) and download.
  void write(AppCommands& app, const std::vector<uint8_t>& texels, bool first) {
    vk::upload(context(), staging_, 0, texels.data(), bytes());
    app.begin();
    barrier(app.cmd, first ? VK_IMAGE_LAYOUT_UNDEFINED : VK_IMAGE_LAYOUT_GENERAL,
            VK_ACCESS_TRANSFER_WRITE_BIT);
    const VkBufferImageCopy whole = region();
    vkCmdCopyBufferToImage(app.cmd, staging_.handle(), image, VK_IMAGE_LAYOUT_GENERAL, 1, &whole);
    app.end_submit_and_wait();
  }
  std::vector<uint8_t> read(AppCommands& app) {
    app.begin();
    barrier(app.cmd, VK_IMAGE_LAYOUT_GENERAL, VK_ACCESS_TRANSFER_READ_BIT);
    const VkBufferImageCopy whole = region();
    vkCmdCopyImageToBuffer(app.cmd, image, VK_IMAGE_LAYOUT_GENERAL, staging_.handle(), 1, &whole);
    app.end_submit_and_wait();
    std::vector<uint8_t> texels(bytes());
    vk::download(context(), staging_, 0, texels.data(), bytes());
    return texels;
  }

  const VkFormat format;
  const uint32_t width, height;
  VkImage image = VK_NULL_HANDLE;

 private:
  VkBufferImageCopy region() const {
    return {0, 0, 0, {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1}, {0, 0, 0}, {width, height, 1}};
  }
  void barrier(VkCommandBuffer cmd, VkImageLayout from, VkAccessFlags next) {
    VkImageMemoryBarrier b{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
    b.srcAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    b.dstAccessMask = next;
    b.oldLayout = from;
    b.newLayout = VK_IMAGE_LAYOUT_GENERAL;
    b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    b.image = image;
    b.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0,
                         nullptr, 0, nullptr, 1, &b);
  }
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  vk::Buffer staging_;
};

// Random RGBA texels, stored in `format`'s byte order, and their RGB in R, G, B order.
std::pair<std::vector<uint8_t>, std::vector<uint8_t>> random_frame(VkFormat format, size_t pixels) {
  const bool bgra = format == VK_FORMAT_B8G8R8A8_UNORM || format == VK_FORMAT_B8G8R8A8_SRGB;
  std::vector<uint8_t> texels(4 * pixels), rgb(3 * pixels);
  for (size_t i = 0; i < pixels; ++i) {
    for (int c = 0; c < 4; ++c) texels[4 * i + c] = uint8_t(random_int(0, 255));
    for (int c = 0; c < 3; ++c) rgb[3 * i + c] = texels[4 * i + (bgra ? 2 - c : c)];
  }
  return {texels, rgb};
}

struct Case {
  VkFormat frame, labels, overlay;
  uint32_t width, height;
  bool overlay_on_frame;
};

TEST(ImageSegmenter, GivesTheSegmentersLabelsAndTheHostOverlay) {
  const Model model = demo_model();
  Network network(context(), model);
  Segmenter segmenter(network);
  AppCommands app(context().device(), context().queue(), context().queue_family_index());
  const Case cases[] = {
      {VK_FORMAT_R8G8B8A8_UNORM, VK_FORMAT_R8_UINT, VK_FORMAT_R8G8B8A8_UNORM, 45, 70, false},
      {VK_FORMAT_B8G8R8A8_SRGB, VK_FORMAT_R16_UINT, VK_FORMAT_B8G8R8A8_SRGB, 33, 17, true},
      {VK_FORMAT_R8G8B8A8_SRGB, VK_FORMAT_R16_UINT, VK_FORMAT_B8G8R8A8_UNORM, 64, 64, false},
      {VK_FORMAT_B8G8R8A8_UNORM, VK_FORMAT_R8_UINT, VK_FORMAT_R8G8B8A8_UNORM, 1, 1, false},
  };
  size_t blended_pixels = 0;  // the overlay test means something only where classes were found
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << c.width << "x" << c.height << " frame " << c.frame);
    ImageSegmenter images(network, c.width, c.height);
    const size_t pixels = size_t(c.width) * c.height;
    AppImage frame(c.frame, c.width, c.height), labels(c.labels, c.width, c.height);
    AppImage separate_overlay(c.overlay, c.width, c.height);
    AppImage& overlay = c.overlay_on_frame ? frame : separate_overlay;
    for (int run = 0; run < 2; ++run) {  // recorded and submitted again: earlier runs are ordered
      const auto [texels, rgb] = random_frame(c.frame, pixels);
      frame.write(app, texels, run == 0);
      auto [overlay_texels, overlay_rgb] = random_frame(overlay.format, pixels);
      if (c.overlay_on_frame) {
        overlay_texels = texels, overlay_rgb = rgb;
      } else {
        overlay.write(app, overlay_texels, run == 0);
      }
      labels.write(app, std::vector<uint8_t>(labels.bytes(), 0xee), run == 0);
      app.begin();
      ImageOutputs outputs{labels.use(), overlay.use(), 0.375f};
      images.record(app.cmd, frame.use(), outputs);
      app.end_submit_and_wait();

      const LabelMap expected = segmenter.segment(rgb.data(), c.width, c.height);
      for (uint32_t label : expected.labels) blended_pixels += label != 0;
      const std::vector<uint8_t> got = labels.read(app);
      size_t same = 0;
      for (size_t i = 0; i < pixels; ++i) {
        uint32_t label = got[i * texel_bytes_of(c.labels)];
        if (c.labels == VK_FORMAT_R16_UINT) label |= uint32_t(got[2 * i + 1]) << 8;
        same += label == expected.labels[i];
      }
      EXPECT_EQ(same, pixels) << "labels equal Segmenter::segment's";
      const std::vector<uint8_t> blended =
          blend_overlay(overlay_rgb.data(), expected, model.classes(), 0.375f);
      const std::vector<uint8_t> got_overlay = overlay.read(app);
      const bool bgra = overlay.format == VK_FORMAT_B8G8R8A8_UNORM || overlay.format == VK_FORMAT_B8G8R8A8_SRGB;
      size_t overlay_same = 0;
      for (size_t i = 0; i < pixels; ++i) {
        bool ok = got_overlay[4 * i + 3] == overlay_texels[4 * i + 3];  // alpha kept
        for (int ch = 0; ch < 3; ++ch) ok &= got_overlay[4 * i + (bgra ? 2 - ch : ch)] == blended[3 * i + ch];
        overlay_same += ok;
      }
      EXPECT_EQ(overlay_same, pixels) << "overlay equals blend_overlay's";
    }
  }
  std::cout << "  " << blended_pixels << " pixels labelled other than background\n";
  EXPECT_GT(blended_pixels, 100u);
}

TEST(ImageSegmenter, RefusesWhatItCannotRead) {
  const Model model = demo_model();
  Network network(context(), model);
  EXPECT_CONTAINS(error_of([&] { ImageSegmenter(network, 0, 10); }), "sides from 1 to 16384");
  ImageSegmenter images(network, 8, 8);
  AppImage frame(VK_FORMAT_R8G8B8A8_UNORM, 8, 8);
  AppCommands app(context().device(), context().queue(), context().queue_family_index());
  app.begin();
  ImageUse wrong = frame.use();
  wrong.format = VK_FORMAT_R16G16B16A16_SFLOAT;
  EXPECT_CONTAINS(error_of([&] { images.record(app.cmd, wrong); }),
                  "supported: R8G8B8A8 or B8G8R8A8, UNORM or SRGB");
  ImageOutputs outputs;
  outputs.labels = frame.use();
  EXPECT_CONTAINS(error_of([&] { images.record(app.cmd, frame.use(), outputs); }),
                  "supported: R8_UINT (up to 256 classes), R16_UINT (up to 65536)");
  ImageUse null_image = frame.use();
  null_image.image = VK_NULL_HANDLE;
  EXPECT_CONTAINS(error_of([&] { images.record(app.cmd, null_image); }), "VK_NULL_HANDLE");
  ImageUse undefined = frame.use();
  undefined.layout = VK_IMAGE_LAYOUT_UNDEFINED;
  EXPECT_CONTAINS(error_of([&] { images.record(app.cmd, undefined); }), "not UNDEFINED");
  expect_ok(vkEndCommandBuffer(app.cmd), "vkEndCommandBuffer");
}

}  // namespace
}  // namespace vkseg::test
