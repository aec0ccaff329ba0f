// The C API (vkseg/vkseg.h) against the C++ API on the bundled demo model: the same logits bit
// for bit, the same labels, recording into an application's command buffer, and every failure a
// status with a one-line message, never an exception or a crash.
#include "vkseg/vkseg.h"

#include <cstring>
#include <thread>

#include "harness.hpp"
#include "vkseg/model.hpp"
#include "vkseg/segment.hpp"

namespace vkseg::test {
namespace {

const std::string k_demo_model = std::string(VKSEG_SOURCE_DIR) + "/weights/demo/demo_fcn8s.vkseg";

// Fails the test with the C API's message when a call does not succeed.
#define ASSERT_C_OK(call) ASSERT_EQ((call), VKSEG_OK) << vkseg_last_error()

// The message of the failed call, checked to be one printable line.
std::string last_error_line() {
  const std::string message = vkseg_last_error();
  EXPECT_FALSE(message.empty());
  for (const char c : message) EXPECT_FALSE(uint8_t(c) < 0x20 || uint8_t(c) == 0x7f) << message;
  return message;
}

// The C API's handles on the test's own device (adopted, so the harness's validation messenger
// sees every call), destroyed in reverse order.
struct CHandles {
  vkseg_model* model = nullptr;
  vkseg_context* context = nullptr;
  vkseg_network* network = nullptr;

  CHandles() {
    EXPECT_EQ(vkseg_model_load(k_demo_model.c_str(), &model), VKSEG_OK) << vkseg_last_error();
    vkseg_external_device device{};
    device.instance = test::context().instance();
    device.physical_device = test::context().physical_device();
    device.device = test::context().device();
    device.queue = test::context().queue();
    device.queue_family_index = test::context().queue_family_index();
    EXPECT_EQ(vkseg_context_adopt(&device, nullptr, &context), VKSEG_OK) << vkseg_last_error();
    EXPECT_EQ(vkseg_network_create(context, model, VKSEG_PRECISION_FP32, &network), VKSEG_OK)
        << vkseg_last_error();
  }
  ~CHandles() {
    vkseg_network_destroy(network);
    vkseg_context_destroy(context);
    vkseg_model_destroy(model);
  }
};

TEST(CApi, ModelQueriesMatchTheCppModel) {
  const Model model = Model::load(k_demo_model);
  vkseg_model* c_model = nullptr;
  ASSERT_C_OK(vkseg_model_load(k_demo_model.c_str(), &c_model));
  EXPECT_STREQ(vkseg_last_error(), "");
  uint32_t count = 0, channels = 0, multiple = 0, min_input = 0;
  ASSERT_C_OK(vkseg_model_class_count(c_model, &count));
  ASSERT_C_OK(vkseg_model_input_channels(c_model, &channels));
  ASSERT_C_OK(vkseg_model_input_multiple(c_model, &multiple));
  ASSERT_C_OK(vkseg_model_min_input(c_model, &min_input));
  EXPECT_EQ(count, model.classes().size());
  EXPECT_EQ(channels, model.input_channels());
  EXPECT_EQ(multiple, model.input_multiple());
  EXPECT_EQ(min_input, model.min_input());
  for (uint32_t c = 0; c < count; ++c) {
    const char* name = nullptr;
    uint8_t rgb[3] = {};
    ASSERT_C_OK(vkseg_model_class_name(c_model, c, &name));
    ASSERT_C_OK(vkseg_model_class_color(c_model, c, rgb));
    EXPECT_EQ(name, model.classes()[c].name);
    EXPECT_EQ(std::memcmp(rgb, model.classes()[c].rgb.data(), 3), 0) << c;
  }
  vkseg_model_destroy(c_model);
  EXPECT_EQ(std::string(vkseg_version()), "vkseg 0.1.0");
}

TEST(CApi, SessionGivesTheCppSessionsLogitsAndLabels) {
  const uint32_t batch = 2, height = 64, width = 96;
  const auto input = random_floats(size_t(batch) * 3 * height * width, -2.0f, 2.0f);
  Network network(context(), Model::load(k_demo_model));
  Session session(network, batch, height, width);
  std::vector<float> logits(size_t(batch) * session.output_shape()[1] * height * width);
  std::vector<uint32_t> labels(size_t(batch) * height * width);
  session.run(input.data(), logits.data());
  session.run_labels(input.data(), labels.data());

  CHandles c;
  vkseg_session* c_session = nullptr;
  ASSERT_C_OK(vkseg_session_create(c.network, batch, height, width, &c_session));
  uint32_t in_shape[4], out_shape[4];
  ASSERT_C_OK(vkseg_session_input_shape(c_session, in_shape));
  ASSERT_C_OK(vkseg_session_output_shape(c_session, out_shape));
  EXPECT_EQ(std::memcmp(in_shape, session.input_shape().data(), sizeof(in_shape)), 0);
  EXPECT_EQ(std::memcmp(out_shape, session.output_shape().data(), sizeof(out_shape)), 0);
  std::vector<float> c_logits(logits.size(), -1.0f);
  std::vector<uint32_t> c_labels(labels.size(), 99);
  ASSERT_C_OK(vkseg_session_run(c_session, input.data(), input.size(), c_logits.data(),
                                c_logits.size()));
  EXPECT_EQ(std::memcmp(c_logits.data(), logits.data(), logits.size() * sizeof(float)), 0);
  ASSERT_C_OK(vkseg_session_run_labels(c_session, input.data(), input.size(), c_labels.data(),
                                       c_labels.size()));
  EXPECT_EQ(c_labels, labels);
  uint64_t non_finite = 1;
  ASSERT_C_OK(vkseg_session_non_finite_pixels(c_session, &non_finite));
  EXPECT_EQ(non_finite, 0u);
  vkseg_buffer_range range{};
  ASSERT_C_OK(vkseg_session_labels_range(c_session, &range));
  EXPECT_NE(range.buffer, VK_NULL_HANDLE);
  EXPECT_EQ(range.size, labels.size() * sizeof(uint32_t));
  ASSERT_C_OK(vkseg_session_logits_range(c_session, &range));
  EXPECT_EQ(range.size, logits.size() * sizeof(float));
  vkseg_session_destroy(c_session);
}

TEST(CApi, SegmenterGivesTheCppSegmentersLabels) {
  const uint32_t width = 70, height = 45;  // padded to 96x64, cropped back
  std::vector<uint8_t> rgb(size_t(3) * width * height);
  for (uint8_t& v : rgb) v = uint8_t(random_int(0, 255));
  Network network(context(), Model::load(k_demo_model));
  const LabelMap expected = Segmenter(network).segment(rgb.data(), width, height);

  CHandles c;
  vkseg_segmenter* segmenter = nullptr;
  ASSERT_C_OK(vkseg_segmenter_create(c.network, &segmenter));
  std::vector<uint32_t> labels(size_t(width) * height);
  uint64_t non_finite = 1;
  ASSERT_C_OK(vkseg_segmenter_segment(segmenter, rgb.data(), width, height, labels.data(),
                                      labels.size(), &non_finite));
  EXPECT_EQ(labels, expected.labels);
  EXPECT_EQ(non_finite, 0u);
  vkseg_segmenter_destroy(segmenter);
}

TEST(CApi, RecordsIntoTheApplicationsCommandBuffer) {
  const uint32_t height = 32, width = 64;
  const auto input = random_floats(size_t(3) * height * width, -2.0f, 2.0f);
  std::vector<uint32_t> expected(size_t(height) * width);
  Network network(context(), Model::load(k_demo_model));
  Session(network, 1, height, width).run_labels(input.data(), expected.data());

  CHandles c;
  vkseg_session* session = nullptr;
  ASSERT_C_OK(vkseg_session_create(c.network, 1, height, width, &session));
  vkseg_buffer_range in{}, labels{};
  ASSERT_C_OK(vkseg_session_input_range(session, &in));
  ASSERT_C_OK(vkseg_session_labels_range(session, &labels));
  ASSERT_EQ(in.size, input.size() * sizeof(float));
  vk::Buffer staging(context(), in.size, vk::MemoryUse::Upload);
  vk::upload(context(), staging, 0, input.data(), in.size);
  vk::Buffer readback(context(), labels.size, vk::MemoryUse::Readback);

  const VkDevice device = context().device();
  VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool_info.queueFamilyIndex = context().queue_family_index();
  VkCommandPool pool = VK_NULL_HANDLE;
  ASSERT_EQ(vkCreateCommandPool(device, &pool_info, nullptr, &pool), VK_SUCCESS);
  VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  alloc.commandPool = pool;
  alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  alloc.commandBufferCount = 1;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  ASSERT_EQ(vkAllocateCommandBuffers(device, &alloc, &cmd), VK_SUCCESS);
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  ASSERT_EQ(vkBeginCommandBuffer(cmd, &begin), VK_SUCCESS);
  const VkBufferCopy upload{0, in.offset, in.size};
  vkCmdCopyBuffer(cmd, staging.handle(), in.buffer, 1, &upload);
  const vkseg_buffer_use written{VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                                 VK_QUEUE_FAMILY_IGNORED};
  const vkseg_buffer_use read{VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT,
                              VK_QUEUE_FAMILY_IGNORED};
  ASSERT_C_OK(vkseg_session_record(session, cmd, &written, &read));
  const VkBufferCopy download{labels.offset, 0, labels.size};
  vkCmdCopyBuffer(cmd, labels.buffer, readback.handle(), 1, &download);
  VkMemoryBarrier to_host{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  to_host.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  to_host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                       &to_host, 0, nullptr, 0, nullptr);
  ASSERT_EQ(vkEndCommandBuffer(cmd), VK_SUCCESS);
  VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &cmd;
  ASSERT_EQ(vkQueueSubmit(context().queue(), 1, &submit, VK_NULL_HANDLE), VK_SUCCESS);
  ASSERT_EQ(vkQueueWaitIdle(context().queue()), VK_SUCCESS);
  std::vector<uint32_t> got(expected.size());
  vk::download(context(), readback, 0, got.data(), labels.size);
  EXPECT_EQ(got, expected);
  vkDestroyCommandPool(device, pool, nullptr);
  vkseg_session_destroy(session);
}

TEST(CApi, OwnsAValidatedContextAtBothPrecisions) {
  const uint32_t height = 32, width = 32;
  const auto input = random_floats(size_t(3) * height * width, -2.0f, 2.0f);
  vkseg_context_options options;
  vkseg_context_options_init(&options);
  options.validation = 1;
  options.cache_dir = "";
  vkseg_context* c_context = nullptr;
  ASSERT_C_OK(vkseg_context_create(&options, &c_context));
  for (const Precision precision : {Precision::Fp32, Precision::Fp16}) {
    if (precision == Precision::Fp16 && !context().info().fp16_storage) continue;
    SCOPED_TRACE(precision_name(precision));
    std::vector<uint32_t> expected(size_t(height) * width), labels(expected.size());
    Network network(context(), Model::load(k_demo_model), precision);
    Session(network, 1, height, width).run_labels(input.data(), expected.data());

    vkseg_model* model = nullptr;
    vkseg_network* c_network = nullptr;
    vkseg_session* session = nullptr;
    ASSERT_C_OK(vkseg_model_load(k_demo_model.c_str(), &model));
    ASSERT_C_OK(vkseg_network_create(
        c_context, model,
        precision == Precision::Fp16 ? VKSEG_PRECISION_FP16 : VKSEG_PRECISION_FP32, &c_network));
    vkseg_model_destroy(model);  // the network keeps what it needs
    ASSERT_C_OK(vkseg_session_create(c_network, 1, height, width, &session));
    ASSERT_C_OK(vkseg_session_run_labels(session, input.data(), input.size(), labels.data(),
                                         labels.size()));
    EXPECT_EQ(labels, expected);
    vkseg_session_destroy(session);
    vkseg_network_destroy(c_network);
  }
  uint64_t messages = 1;
  ASSERT_C_OK(vkseg_context_validation_message_count(c_context, &messages));
  EXPECT_EQ(messages, 0u);
  vkseg_context_destroy(c_context);
}

TEST(CApi, FailuresAreStatusesWithOneLineMessages) {
  vkseg_model* model = nullptr;
  const std::string missing = (temp_dir() / "missing.vkseg").string();
  EXPECT_EQ(vkseg_model_load(missing.c_str(), &model), VKSEG_ERROR_FAILED);
  EXPECT_NE(last_error_line().find("missing.vkseg"), std::string::npos);
  EXPECT_EQ(model, nullptr);
  EXPECT_EQ(vkseg_model_load(nullptr, &model), VKSEG_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(last_error_line(), "path is NULL");
  uint32_t count = 0;
  EXPECT_EQ(vkseg_model_class_count(nullptr, &count), VKSEG_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(last_error_line(), "model is NULL");

  CHandles c;
  const char* name = nullptr;
  EXPECT_EQ(vkseg_model_class_name(c.model, 11, &name), VKSEG_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error_line().find("class index 11"), std::string::npos);
  EXPECT_EQ(vkseg_model_class_count(c.model, nullptr), VKSEG_ERROR_INVALID_ARGUMENT);
  vkseg_network* network = nullptr;
  EXPECT_EQ(vkseg_network_create(c.context, c.model, vkseg_precision(7), &network),
            VKSEG_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(vkseg_network_create(nullptr, c.model, VKSEG_PRECISION_FP32, &network),
            VKSEG_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(network, nullptr);
  // The adopted device was handed over without its features: no 16-bit storage to use.
  EXPECT_EQ(vkseg_network_create(c.context, c.model, VKSEG_PRECISION_FP16, &network),
            VKSEG_ERROR_FAILED);
  EXPECT_NE(last_error_line().find("enabled_features"), std::string::npos);

  vkseg_session* session = nullptr;
  EXPECT_EQ(vkseg_session_create(c.network, 0, 32, 32, &session), VKSEG_ERROR_FAILED);
  EXPECT_EQ(last_error_line(), "input size 32x32 with batch 0 is empty");
  EXPECT_EQ(session, nullptr);
  ASSERT_C_OK(vkseg_session_create(c.network, 1, 32, 32, &session));
  std::vector<float> input(3 * 32 * 32), logits(11 * 32 * 32);
  std::vector<uint32_t> labels(32 * 32);
  EXPECT_EQ(vkseg_session_run(session, input.data(), input.size() - 1, logits.data(),
                              logits.size()),
            VKSEG_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error_line().find("input holds 3071 elements"), std::string::npos);
  EXPECT_EQ(vkseg_session_run_labels(session, input.data(), input.size(), labels.data(), 5),
            VKSEG_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(vkseg_session_run(session, nullptr, input.size(), logits.data(), logits.size()),
            VKSEG_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(vkseg_session_record(session, VK_NULL_HANDLE, nullptr, nullptr), VKSEG_ERROR_FAILED);
  last_error_line();
  EXPECT_EQ(vkseg_session_input_range(session, nullptr), VKSEG_ERROR_INVALID_ARGUMENT);
  vkseg_session_destroy(session);

  vkseg_segmenter* segmenter = nullptr;
  ASSERT_C_OK(vkseg_segmenter_create(c.network, &segmenter));
  const uint8_t rgb[3] = {1, 2, 3};
  uint32_t label = 0;
  EXPECT_EQ(vkseg_segmenter_segment(segmenter, rgb, 0, 1, &label, 0, nullptr),
            VKSEG_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(vkseg_segmenter_segment(segmenter, rgb, 1, 1, &label, 2, nullptr),
            VKSEG_ERROR_INVALID_ARGUMENT);
  ASSERT_C_OK(vkseg_segmenter_segment(segmenter, rgb, 1, 1, &label, 1, nullptr));
  EXPECT_STREQ(vkseg_last_error(), "");  // a success clears it
  vkseg_segmenter_destroy(segmenter);

  uint8_t* pixels = nullptr;
  uint32_t width = 0, height = 0;
  EXPECT_EQ(vkseg_image_load(missing.c_str(), &pixels, &width, &height), VKSEG_ERROR_FAILED);
  EXPECT_EQ(pixels, nullptr);
  vkseg_external_device device{};
  vkseg_context* adopted = nullptr;
  EXPECT_EQ(vkseg_context_adopt(&device, nullptr, &adopted), VKSEG_ERROR_FAILED);
  EXPECT_NE(last_error_line().find("VkInstance"), std::string::npos);

  // Each thread keeps its own message.
  EXPECT_EQ(vkseg_model_class_count(nullptr, &count), VKSEG_ERROR_INVALID_ARGUMENT);
  std::thread([] { EXPECT_STREQ(vkseg_last_error(), ""); }).join();
  EXPECT_EQ(last_error_line(), "model is NULL");
  EXPECT_STREQ(vkseg_status_name(VKSEG_ERROR_VULKAN), "VKSEG_ERROR_VULKAN");

  // NULL is a no-op for every destroy function.
  vkseg_segmenter_destroy(nullptr);
  vkseg_session_destroy(nullptr);
  vkseg_network_destroy(nullptr);
  vkseg_context_destroy(nullptr);
  vkseg_model_destroy(nullptr);
  vkseg_image_free(nullptr);
}

}  // namespace
}  // namespace vkseg::test
