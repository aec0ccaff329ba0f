// A windowed viewer (GLFW): a picture, still or moving like a camera's panning shot, shown with
// its live segmentation overlay. Each frame the application renders the picture into its frame
// image, vkseg segments it and blends the overlay in the same command buffer, and the frame is
// copied into the swapchain image and presented.
//
//   example_viewer MODEL IMAGE [--frames N] [--animate] [--alpha A] [--screenshot OUT.png]
//                  [--validation]
//
// Without --frames it runs until the window is closed. --screenshot writes the last presented
// frame (read back from the swapchain image) as a PNG; --validation enables the validation layer
// with synchronization validation, and any message makes the program fail.
#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
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

struct Options {
  std::string model, image;
  std::optional<uint32_t> frames;
  bool animate = false, validation = false;
  float alpha = 0.5f;
  std::string screenshot;
};

Options parse(int argc, char** argv) {
  Options o;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--animate") {
      o.animate = true;
    } else if (arg == "--validation") {
      o.validation = true;
    } else if (arg == "--frames" && has_value) {
      o.frames = vkseg::parse_decimal<uint32_t>(argv[++i]);
      if (!o.frames || *o.frames == 0) throw vkseg::Error("--frames takes a positive whole number");
    } else if (arg == "--alpha" && has_value) {
      const auto value = vkseg::parse_decimal<float>(argv[++i]);
      if (!value || *value < 0 || *value > 1) throw vkseg::Error("--alpha takes a number from 0 to 1");
      o.alpha = *value;
    } else if (arg == "--screenshot" && has_value) {
      o.screenshot = argv[++i];
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 2) {
    throw vkseg::Error("usage: example_viewer MODEL IMAGE [--frames N] [--animate] [--alpha A] "
                       "[--screenshot OUT.png] [--validation]");
  }
  o.model = positional[0], o.image = positional[1];
  return o;
}

// The window's surface and swapchain, in a format vkseg's overlay can blend into.
struct Swapchain {
  const App& app;
  VkSurfaceKHR surface;
  VkSwapchainKHR swapchain = VK_NULL_HANDLE;
  VkFormat format = VK_FORMAT_UNDEFINED;
  VkExtent2D extent{};
  std::vector<VkImage> images;

  Swapchain(const App& app, VkSurfaceKHR surface, uint32_t width, uint32_t height)
      : app(app), surface(surface) {
    VkBool32 present = VK_FALSE;
    vkGetPhysicalDeviceSurfaceSupportKHR(app.gpu, app.family, surface, &present);
    if (!present) throw std::runtime_error("the compute queue cannot present to the window");
    VkSurfaceCapabilitiesKHR caps;
    check(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(app.gpu, surface, &caps),
          "vkGetPhysicalDeviceSurfaceCapabilitiesKHR");
    const VkImageUsageFlags usage = VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
    if ((caps.supportedUsageFlags & usage) != usage) {
      throw std::runtime_error("the swapchain cannot be a transfer source and destination");
    }
    uint32_t count = 0;
    vkGetPhysicalDeviceSurfaceFormatsKHR(app.gpu, surface, &count, nullptr);
    std::vector<VkSurfaceFormatKHR> formats(count);
    vkGetPhysicalDeviceSurfaceFormatsKHR(app.gpu, surface, &count, formats.data());
    VkColorSpaceKHR colour_space = VK_COLOR_SPACE_SRGB_NONLINEAR_KHR;
    for (VkFormat wanted : {VK_FORMAT_B8G8R8A8_SRGB, VK_FORMAT_R8G8B8A8_SRGB, VK_FORMAT_B8G8R8A8_UNORM,
                            VK_FORMAT_R8G8B8A8_UNORM}) {
      for (const VkSurfaceFormatKHR& f : formats) {
        if (format == VK_FORMAT_UNDEFINED && f.format == wanted) format = f.format, colour_space = f.colorSpace;
      }
    }
    if (format == VK_FORMAT_UNDEFINED) throw std::runtime_error("the window offers no 8-bit RGBA format");
    extent = caps.currentExtent.width != UINT32_MAX ? caps.currentExtent : VkExtent2D{width, height};
    VkSwapchainCreateInfoKHR info{VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR};
    info.surface = surface;
    info.minImageCount = std::max(2u, caps.minImageCount);
    if (caps.maxImageCount) info.minImageCount = std::min(info.minImageCount, caps.maxImageCount);
    info.imageFormat = format;
    info.imageColorSpace = colour_space;
    info.imageExtent = extent;
    info.imageArrayLayers = 1;
    info.imageUsage = usage;
    info.imageSharingMode = VK_SHARING_MODE_EXCLUSIVE;
    info.preTransform = caps.currentTransform;
    info.compositeAlpha = VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR;
    info.presentMode = VK_PRESENT_MODE_FIFO_KHR;
    info.clipped = VK_TRUE;
    check(vkCreateSwapchainKHR(app.device, &info, nullptr, &swapchain), "vkCreateSwapchainKHR");
    vkGetSwapchainImagesKHR(app.device, swapchain, &count, nullptr);
    images.resize(count);
    vkGetSwapchainImagesKHR(app.device, swapchain, &count, images.data());
  }
  ~Swapchain() { vkDestroySwapchainKHR(app.device, swapchain, nullptr); }
};

VkSemaphore make_semaphore(VkDevice device) {
  VkSemaphoreCreateInfo info{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
  VkSemaphore semaphore;
  check(vkCreateSemaphore(device, &info, nullptr, &semaphore), "vkCreateSemaphore");
  return semaphore;
}

int run(const Options& o) {
  if (!o.screenshot.empty() && std::filesystem::exists(o.screenshot)) {
    throw vkseg::Error(vkseg::printable(o.screenshot) + " exists; remove it first");
  }
  const vkseg::Model model = vkseg::Model::load(o.model);
  const vkseg::Image picture = vkseg::read_image(o.image);
  const uint32_t width = picture.width, height = picture.height;
  if (!glfwInit()) throw std::runtime_error("GLFW cannot open a display (is DISPLAY set?)");
  if (!glfwVulkanSupported()) throw std::runtime_error("GLFW finds no Vulkan loader");
  glfwWindowHint(GLFW_CLIENT_API, GLFW_NO_API);
  glfwWindowHint(GLFW_RESIZABLE, GLFW_FALSE);
  GLFWwindow* window = glfwCreateWindow(int(width), int(height), "vkseg viewer", nullptr, nullptr);
  if (!window) throw std::runtime_error("GLFW cannot create a window");
  uint32_t glfw_count = 0;
  const char** glfw_extensions = glfwGetRequiredInstanceExtensions(&glfw_count);
  std::vector<const char*> instance_extensions(glfw_extensions, glfw_extensions + glfw_count);
  int status = 0;
  {
    App app(o.validation, instance_extensions, {VK_KHR_SWAPCHAIN_EXTENSION_NAME},
            [&](VkInstance instance, VkPhysicalDevice gpu, uint32_t family) {
              return glfwGetPhysicalDevicePresentationSupport(instance, gpu, family) == GLFW_TRUE;
            });
    VkSurfaceKHR surface;
    check(glfwCreateWindowSurface(app.instance, window, nullptr, &surface), "glfwCreateWindowSurface");
    {
      Swapchain swapchain(app, surface, width, height);
      if (swapchain.extent.width != width || swapchain.extent.height != height) {
        throw std::runtime_error("the window is not the picture's size");
      }
      auto context = vkseg::Context::adopt(app.external_device());
      vkseg::Network network(*context, model);
      vkseg::ImageSegmenter segmenter(network, width, height);

      // The picture, once, in a device image in the swapchain's byte order.
      const bool bgra = swapchain.format == VK_FORMAT_B8G8R8A8_SRGB || swapchain.format == VK_FORMAT_B8G8R8A8_UNORM;
      const VkDeviceSize bytes = VkDeviceSize(width) * height * 4;
      HostBuffer upload(app, bytes), readback(app, bytes);
      auto* texels = static_cast<uint8_t*>(upload.mapped);
      for (size_t i = 0; i < size_t(width) * height; ++i) {
        for (int c = 0; c < 3; ++c) texels[4 * i + (bgra ? 2 - c : c)] = picture.rgb[3 * i + c];
        texels[4 * i + 3] = 255;
      }
      Image source(app, swapchain.format, width, height), frame(app, swapchain.format, width, height);
      const VkSemaphore acquired = make_semaphore(app.device), rendered = make_semaphore(app.device);
      const VkImageSubresourceLayers colour{VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
      const VkBufferImageCopy whole{0, 0, 0, colour, {0, 0, 0}, {width, height, 1}};

      for (uint32_t n = 0; !glfwWindowShouldClose(window) && (!o.frames || n < *o.frames); ++n) {
        glfwPollEvents();
        uint32_t index = 0;
        check(vkAcquireNextImageKHR(app.device, swapchain.swapchain, UINT64_MAX, acquired,
                                    VK_NULL_HANDLE, &index), "vkAcquireNextImageKHR");
        const VkImage target = swapchain.images[index];
        check(vkResetCommandPool(app.device, app.pool, 0), "vkResetCommandPool");
        VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
        begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
        check(vkBeginCommandBuffer(app.cmd, &begin), "vkBeginCommandBuffer");
        if (n == 0) {
          transfer_barrier(app.cmd, source.image, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL);
          vkCmdCopyBufferToImage(app.cmd, upload.buffer, source.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                                 1, &whole);
          transfer_barrier(app.cmd, source.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                           VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
        }
        // The application's rendering: the picture panned by a few pixels a frame, wrapping.
        const uint32_t shift = o.animate ? (n * 3) % width : 0;
        transfer_barrier(app.cmd, frame.image, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL);
        std::vector<VkImageCopy> pan{{colour, {int32_t(shift), 0, 0}, colour, {0, 0, 0},
                                      {width - shift, height, 1}}};
        if (shift) pan.push_back({colour, {0, 0, 0}, colour, {int32_t(width - shift), 0, 0}, {shift, height, 1}});
        vkCmdCopyImage(app.cmd, source.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, frame.image,
                       VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, uint32_t(pan.size()), pan.data());
        const vkseg::ImageUse frame_use{frame.image, swapchain.format, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                                        VK_PIPELINE_STAGE_TRANSFER_BIT,
                                        VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT};
        vkseg::ImageOutputs outputs;
        outputs.overlay = frame_use;
        outputs.alpha = o.alpha;
        segmenter.record(app.cmd, frame_use, outputs);
        // The composited frame into the swapchain image, which is then presented.
        transfer_barrier(app.cmd, frame.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                         VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
        transfer_barrier(app.cmd, target, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL);
        const VkImageCopy same{colour, {0, 0, 0}, colour, {0, 0, 0}, {width, height, 1}};
        vkCmdCopyImage(app.cmd, frame.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, target,
                       VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &same);
        transfer_barrier(app.cmd, target, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
        vkCmdCopyImageToBuffer(app.cmd, target, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, readback.buffer, 1, &whole);
        VkImageMemoryBarrier to_present{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
        to_present.srcAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
        to_present.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
        to_present.newLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
        to_present.srcQueueFamilyIndex = to_present.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
        to_present.image = target;
        to_present.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
        VkBufferMemoryBarrier to_host{VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER};
        to_host.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
        to_host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
        to_host.srcQueueFamilyIndex = to_host.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
        to_host.buffer = readback.buffer;
        to_host.size = VK_WHOLE_SIZE;
        vkCmdPipelineBarrier(app.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                             VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 0,
                             nullptr, 1, &to_host, 1, &to_present);
        check(vkEndCommandBuffer(app.cmd), "vkEndCommandBuffer");
        const VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_TRANSFER_BIT;
        VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
        submit.waitSemaphoreCount = 1;
        submit.pWaitSemaphores = &acquired;
        submit.pWaitDstStageMask = &wait_stage;
        submit.commandBufferCount = 1;
        submit.pCommandBuffers = &app.cmd;
        submit.signalSemaphoreCount = 1;
        submit.pSignalSemaphores = &rendered;
        check(vkQueueSubmit(app.queue, 1, &submit, app.fence), "vkQueueSubmit");
        VkPresentInfoKHR present{VK_STRUCTURE_TYPE_PRESENT_INFO_KHR};
        present.waitSemaphoreCount = 1;
        present.pWaitSemaphores = &rendered;
        present.swapchainCount = 1;
        present.pSwapchains = &swapchain.swapchain;
        present.pImageIndices = &index;
        check(vkQueuePresentKHR(app.queue, &present), "vkQueuePresentKHR");
        check(vkWaitForFences(app.device, 1, &app.fence, VK_TRUE, 600'000'000'000ull), "vkWaitForFences");
        check(vkResetFences(app.device, 1, &app.fence), "vkResetFences");
        // One frame in flight: the semaphores are free again once the queue is idle.
        check(vkQueueWaitIdle(app.queue), "vkQueueWaitIdle");
      }
      if (!o.screenshot.empty()) {
        std::vector<uint8_t> rgb(size_t(width) * height * 3);
        const auto* back = static_cast<const uint8_t*>(readback.mapped);
        for (size_t i = 0; i < size_t(width) * height; ++i) {
          for (int c = 0; c < 3; ++c) rgb[3 * i + c] = back[4 * i + (bgra ? 2 - c : c)];
        }
        vkseg::write_rgb_png(o.screenshot, width, height, rgb.data());
      }
      vkDestroySemaphore(app.device, acquired, nullptr);
      vkDestroySemaphore(app.device, rendered, nullptr);
    }
    vkDestroySurfaceKHR(app.instance, surface, nullptr);
    if (validation_messages) {
      std::fprintf(stderr, "example_viewer: %d validation messages\n", validation_messages.load());
      status = 1;
    }
  }
  glfwDestroyWindow(window);
  glfwTerminate();
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "example_viewer: %s\n", e.what());
    return 1;
  }
}
