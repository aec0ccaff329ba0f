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

#include "vkseg/context.hpp"
#include "vkseg/error.hpp"
#include "vkseg/image.hpp"
#include "vkseg/image_segmenter.hpp"
#include "vkseg/model.hpp"
#include "vkseg/text.hpp"

namespace {

std::atomic<int> validation_messages{0};

VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT,
                                          VkDebugUtilsMessageTypeFlagsEXT,
                                          const VkDebugUtilsMessengerCallbackDataEXT* data, void*) {
  ++validation_messages;
  std::fprintf(stderr, "validation: %s\n", data->pMessage);
  return VK_FALSE;
}

void check(VkResult result, const char* call) {
  if (result != VK_SUCCESS) {
    throw std::runtime_error(std::string(call) + " failed (VkResult " + std::to_string(result) + ")");
  }
}

// The application's own Vulkan objects: instance, device, one queue, a command buffer.
struct App {
  VkInstance instance = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  VkPhysicalDevice gpu = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t family = 0;
  VkCommandPool pool = VK_NULL_HANDLE;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;

  explicit App(bool validation) {
    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = "vkseg offscreen example";
    app.apiVersion = VK_API_VERSION_1_2;
    const char* layer = "VK_LAYER_KHRONOS_validation";
    const char* extension = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    const VkValidationFeatureEnableEXT sync = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
    features.enabledValidationFeatureCount = 1;
    features.pEnabledValidationFeatures = &sync;
    VkDebugUtilsMessengerCreateInfoEXT messenger_info{
        VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    messenger_info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                                     VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    messenger_info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                                 VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT;
    messenger_info.pfnUserCallback = on_message;
    features.pNext = &messenger_info;
    VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    info.pApplicationInfo = &app;
    if (validation) {
      info.pNext = &features;
      info.enabledLayerCount = 1;
      info.ppEnabledLayerNames = &layer;
      info.enabledExtensionCount = 1;
      info.ppEnabledExtensionNames = &extension;
    }
    check(vkCreateInstance(&info, nullptr, &instance), "vkCreateInstance");
    if (validation) {
      auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
          vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT"));
      check(create(instance, &messenger_info, nullptr, &messenger), "vkCreateDebugUtilsMessengerEXT");
    }
    uint32_t count = 0;
    vkEnumeratePhysicalDevices(instance, &count, nullptr);
    std::vector<VkPhysicalDevice> gpus(count);
    vkEnumeratePhysicalDevices(instance, &count, gpus.data());
    for (VkPhysicalDevice candidate : gpus) {
      uint32_t families = 0;
      vkGetPhysicalDeviceQueueFamilyProperties(candidate, &families, nullptr);
      std::vector<VkQueueFamilyProperties> props(families);
      vkGetPhysicalDeviceQueueFamilyProperties(candidate, &families, props.data());
      for (uint32_t f = 0; f < families && !gpu; ++f) {
        if (props[f].queueFlags & VK_QUEUE_COMPUTE_BIT) gpu = candidate, family = f;
      }
      if (gpu) break;
    }
    if (!gpu) throw std::runtime_error("no Vulkan device with a compute queue");
    const float priority = 1.0f;
    VkDeviceQueueCreateInfo queue_info{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    queue_info.queueFamilyIndex = family;
    queue_info.queueCount = 1;
    queue_info.pQueuePriorities = &priority;
    VkDeviceCreateInfo device_info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    device_info.queueCreateInfoCount = 1;
    device_info.pQueueCreateInfos = &queue_info;
    check(vkCreateDevice(gpu, &device_info, nullptr, &device), "vkCreateDevice");
    vkGetDeviceQueue(device, family, 0, &queue);
    VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pool_info.queueFamilyIndex = family;
    check(vkCreateCommandPool(device, &pool_info, nullptr, &pool), "vkCreateCommandPool");
    VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    alloc.commandPool = pool;
    alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    alloc.commandBufferCount = 1;
    check(vkAllocateCommandBuffers(device, &alloc, &cmd), "vkAllocateCommandBuffers");
    VkFenceCreateInfo fence_info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    check(vkCreateFence(device, &fence_info, nullptr, &fence), "vkCreateFence");
  }
  ~App() {
    vkDestroyFence(device, fence, nullptr);
    vkDestroyCommandPool(device, pool, nullptr);
    vkDestroyDevice(device, nullptr);
    if (messenger) {
      auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
          vkGetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT"));
      destroy(instance, messenger, nullptr);
    }
    vkDestroyInstance(instance, nullptr);
  }

  uint32_t memory_type(uint32_t allowed, VkMemoryPropertyFlags wanted) const {
    VkPhysicalDeviceMemoryProperties memory;
    vkGetPhysicalDeviceMemoryProperties(gpu, &memory);
    for (uint32_t t = 0; t < memory.memoryTypeCount; ++t) {
      if ((allowed >> t & 1) && (memory.memoryTypes[t].propertyFlags & wanted) == wanted) return t;
    }
    throw std::runtime_error("no suitable memory type");
  }
};

// A host-visible buffer the application uploads through and reads back from.
struct HostBuffer {
  const App& app;
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  void* mapped = nullptr;

  HostBuffer(const App& app, VkDeviceSize bytes) : app(app) {
    VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    info.size = bytes;
    info.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    check(vkCreateBuffer(app.device, &info, nullptr, &buffer), "vkCreateBuffer");
    VkMemoryRequirements needs;
    vkGetBufferMemoryRequirements(app.device, buffer, &needs);
    VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    alloc.allocationSize = needs.size;
    alloc.memoryTypeIndex = app.memory_type(
        needs.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    check(vkAllocateMemory(app.device, &alloc, nullptr, &memory), "vkAllocateMemory");
    check(vkBindBufferMemory(app.device, buffer, memory, 0), "vkBindBufferMemory");
    check(vkMapMemory(app.device, memory, 0, VK_WHOLE_SIZE, 0, &mapped), "vkMapMemory");
  }
  ~HostBuffer() {
    vkDestroyBuffer(app.device, buffer, nullptr);
    vkFreeMemory(app.device, memory, nullptr);
  }
};

// A device-local 2-D RGBA8 image of the application's.
struct Image {
  const App& app;
  VkImage image = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;

  Image(const App& app, VkFormat format, uint32_t width, uint32_t height) : app(app) {
    VkImageCreateInfo info{VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
    info.imageType = VK_IMAGE_TYPE_2D;
    info.format = format;
    info.extent = {width, height, 1};
    info.mipLevels = info.arrayLayers = 1;
    info.samples = VK_SAMPLE_COUNT_1_BIT;
    info.tiling = VK_IMAGE_TILING_OPTIMAL;
    info.usage = VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
    check(vkCreateImage(app.device, &info, nullptr, &image), "vkCreateImage");
    VkMemoryRequirements needs;
    vkGetImageMemoryRequirements(app.device, image, &needs);
    VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    alloc.allocationSize = needs.size;
    alloc.memoryTypeIndex = app.memory_type(needs.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    check(vkAllocateMemory(app.device, &alloc, nullptr, &memory), "vkAllocateMemory");
    check(vkBindImageMemory(app.device, image, memory, 0), "vkBindImageMemory");
  }
  ~Image() {
    vkDestroyImage(app.device, image, nullptr);
    vkFreeMemory(app.device, memory, nullptr);
  }
};

void transfer_barrier(VkCommandBuffer cmd, VkImage image, VkImageLayout from, VkImageLayout to) {
  VkImageMemoryBarrier b{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
  b.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT;
  b.dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT;
  b.oldLayout = from;
  b.newLayout = to;
  b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.image = image;
  b.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0,
                       nullptr, 0, nullptr, 1, &b);
}

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

  App app(validation);
  vkseg::ExternalDevice external;
  external.instance = app.instance;
  external.physical_device = app.gpu;
  external.device = app.device;
  external.queue = app.queue;
  external.queue_family_index = app.family;
  {
    auto context = vkseg::Context::adopt(external);
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
