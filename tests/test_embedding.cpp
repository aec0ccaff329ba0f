// Embedding vkseg in an application that owns its command buffers, queue and device, on the
// bundled demo model, against Session::run_labels on the same input: recording into the
// application's command buffer between its own copies, submitting with binary and timeline
// semaphores without blocking, and adopting a device with the features the application enabled.
// The validation layer's synchronization checks are on: a missing barrier fails the test.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "app_commands.hpp"
#include "harness.hpp"
#include "vk/buffer.hpp"
#include "vkseg/model.hpp"

namespace vkseg::test {
namespace {

Model demo_model() {
  return Model::load(std::string(VKSEG_SOURCE_DIR) + "/weights/demo/demo_fcn8s.vkseg");
}


VkSemaphore make_semaphore(VkDevice device, bool timeline) {
  VkSemaphoreTypeCreateInfo type{VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO};
  type.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE;
  VkSemaphoreCreateInfo info{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
  if (timeline) info.pNext = &type;
  VkSemaphore s = VK_NULL_HANDLE;
  EXPECT_EQ(vkCreateSemaphore(device, &info, nullptr, &s), VK_SUCCESS);
  return s;
}

struct Fixture {
  Model model = demo_model();
  uint32_t height = 64, width = 96;  // the demo model takes multiples of 32
  std::vector<float> input;
  std::vector<uint32_t> reference;  // run_labels on the test's own context

  Fixture() {
    input = random_floats(size_t(3) * height * width, -2.0f, 2.0f);
    Network network(context(), model);
    Session session(network, 1, height, width);
    reference.resize(size_t(height) * width);
    session.run_labels(input.data(), reference.data());
  }
};

TEST(Embedding, RecordsIntoTheApplicationsCommandBuffer) {
  Fixture f;
  Network network(context(), f.model);
  Session session(network, 1, f.height, f.width);
  session.write_input(std::vector<float>(f.input.size(), 0.0f).data());
  const uint64_t input_bytes = f.input.size() * 4, label_bytes = f.reference.size() * 4;
  vk::Buffer staging(context(), input_bytes, vk::MemoryUse::Upload);
  vk::upload(context(), staging, 0, f.input.data(), input_bytes);
  vk::Buffer readback(context(), label_bytes, vk::MemoryUse::Readback);

  AppCommands app(context().device(), context().queue(), context().queue_family_index());
  for (const int executions : {1, 2}) {
    SCOPED_TRACE(fmt::format("{} executions in one command buffer", executions));
    app.begin();
    const DeviceRange in = session.input_range(), labels = session.labels_range();
    const VkBufferCopy upload{0, in.offset, input_bytes};
    vkCmdCopyBuffer(app.cmd, staging.handle(), in.buffer, 1, &upload);
    for (int i = 0; i < executions; ++i) {
      session.record(app.cmd, {VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT},
                     {VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT});
    }
    const VkBufferCopy download{labels.offset, 0, label_bytes};
    vkCmdCopyBuffer(app.cmd, labels.buffer, readback.handle(), 1, &download);
    VkMemoryBarrier to_host{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    to_host.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    to_host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(app.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                         &to_host, 0, nullptr, 0, nullptr);
    app.end_submit_and_wait();
    std::vector<uint32_t> got(f.reference.size());
    vk::download(context(), readback, 0, got.data(), label_bytes);
    EXPECT_EQ(got, f.reference);
  }
  // The blocking path still works after the recorded one, on the same session.
  std::vector<uint32_t> again(f.reference.size());
  session.run_labels(f.input.data(), again.data());
  EXPECT_EQ(again, f.reference);
  EXPECT_THROW(session.record(VK_NULL_HANDLE), Error);
}

TEST(Embedding, SubmitsAfterAndSignalsSemaphoresWithoutBlocking) {
  Fixture f;
  Network network(context(), f.model);
  Session session(network, 1, f.height, f.width);
  const VkDevice device = context().device();
  session.write_input(f.input.data());

  // Waits for a timeline value only the host will signal: submit() must return at once.
  const VkSemaphore timeline = make_semaphore(device, true);
  const Completion done = session.submit({{timeline, 1, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT}},
                                         {{timeline, 2}});
  EXPECT_FALSE(done.finished());
  VkSemaphoreSignalInfo signal{VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO};
  signal.semaphore = timeline;
  signal.value = 1;
  ASSERT_EQ(vkSignalSemaphore(device, &signal), VK_SUCCESS);
  const uint64_t value = 2;
  VkSemaphoreWaitInfo wait{VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO};
  wait.semaphoreCount = 1;
  wait.pSemaphores = &timeline;
  wait.pValues = &value;
  ASSERT_EQ(vkWaitSemaphores(device, &wait, 60'000'000'000ull), VK_SUCCESS);
  done.wait();
  EXPECT_TRUE(done.finished());
  std::vector<uint32_t> got(f.reference.size());
  session.read_labels(got.data());
  EXPECT_EQ(got, f.reference);

  // A binary semaphore signalled by the application's own (empty) submission.
  const VkSemaphore binary = make_semaphore(device, false);
  VkSubmitInfo app_submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  app_submit.signalSemaphoreCount = 1;
  app_submit.pSignalSemaphores = &binary;
  ASSERT_EQ(vkQueueSubmit(context().queue(), 1, &app_submit, VK_NULL_HANDLE), VK_SUCCESS);
  session.write_input(f.input.data());
  session.submit({{binary}}).wait();
  std::fill(got.begin(), got.end(), 0);
  session.read_labels(got.data());
  EXPECT_EQ(got, f.reference);
  vkDestroySemaphore(device, binary, nullptr);
  vkDestroySemaphore(device, timeline, nullptr);
}

// The application's own device, created here with 16-bit storage and timeline semaphores.
class AppDevice {
 public:
  explicit AppDevice(bool with_features) {
    storage16_.storageBuffer16BitAccess = VK_TRUE;
    timeline_.timelineSemaphore = VK_TRUE;
    storage16_.pNext = &timeline_;
    const float priority = 1.0f;
    VkDeviceQueueCreateInfo queue{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    queue.queueFamilyIndex = context().queue_family_index();
    queue.queueCount = 1;
    queue.pQueuePriorities = &priority;
    VkDeviceCreateInfo info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    info.pNext = with_features ? &storage16_ : nullptr;
    info.queueCreateInfoCount = 1;
    info.pQueueCreateInfos = &queue;
    EXPECT_EQ(vkCreateDevice(context().physical_device(), &info, nullptr, &device), VK_SUCCESS);
    vkGetDeviceQueue(device, queue.queueFamilyIndex, 0, &queue_handle);
    external.instance = context().instance();
    external.physical_device = context().physical_device();
    external.device = device;
    external.queue = queue_handle;
    external.queue_family_index = queue.queueFamilyIndex;
    if (with_features) external.enabled_features = &storage16_;
  }
  ~AppDevice() { vkDestroyDevice(device, nullptr); }  // validation reports anything vkseg leaked

  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue_handle = VK_NULL_HANDLE;
  ExternalDevice external;

 private:
  VkPhysicalDevice16BitStorageFeatures storage16_{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDeviceTimelineSemaphoreFeatures timeline_{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES};
};

TEST(Embedding, AdoptedDeviceUsesTheFeaturesTheApplicationEnabled) {
  if (!context().info().fp16_storage) GTEST_FAIL() << "the test device lacks 16-bit storage";
  const Model model = demo_model();
  const uint32_t height = 64, width = 32;
  const auto input = random_floats(size_t(3) * height * width, -2.0f, 2.0f);
  std::vector<uint32_t> owned(size_t(height) * width), adopted(owned.size());
  {
    Network network(context(), model, Precision::Fp16);
    Session(network, 1, height, width).run_labels(input.data(), owned.data());
  }
  {
    AppDevice app(true);
    auto ctx = Context::adopt(app.external);
    EXPECT_TRUE(ctx->info().fp16_storage);
    Network network(*ctx, model, Precision::Fp16);
    Session session(network, 1, height, width);
    session.run_labels(input.data(), adopted.data());
    EXPECT_EQ(adopted, owned);
    // A timeline semaphore of the application's, which it enabled.
    const VkSemaphore timeline = make_semaphore(app.device, true);
    session.write_input(input.data());
    session.submit({}, {{timeline, 7}}).wait();
    uint64_t value = 0;
    ASSERT_EQ(vkGetSemaphoreCounterValue(app.device, timeline, &value), VK_SUCCESS);
    EXPECT_EQ(value, 7u);
    vkDestroySemaphore(app.device, timeline, nullptr);
  }
  {
    AppDevice app(false);
    auto ctx = Context::adopt(app.external);
    const std::string message = error_of([&] { Network(*ctx, model, Precision::Fp16); });
    EXPECT_NE(message.find("ExternalDevice::enabled_features"), std::string::npos) << message;
    Network network(*ctx, model);
    Session session(network, 1, height, width);
    const std::string timeline = error_of([&] { session.submit({}, {{VK_NULL_HANDLE, 1}}); });
    EXPECT_NE(timeline.find("timeline semaphores are not enabled"), std::string::npos) << timeline;
  }
}

TEST(Embedding, TeardownWaitsOnlyForItsOwnWork) {
  AppDevice app(true);
  const Model model = demo_model();
  const auto input = random_floats(size_t(3) * 32 * 32);
  std::vector<uint32_t> labels(32 * 32);
  const VkSemaphore gate = make_semaphore(app.device, true);
  {
    auto ctx = Context::adopt(app.external);
    Network network(*ctx, model);
    Session session(network, 1, 32, 32);
    session.write_input(input.data());
    session.submit();  // still running, or not: teardown waits for it
    // The application's own work, held back by a semaphore only the host signals.
    const uint64_t one = 1;
    VkTimelineSemaphoreSubmitInfo values{VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO};
    values.waitSemaphoreValueCount = 1;
    values.pWaitSemaphoreValues = &one;
    const VkPipelineStageFlags stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    VkSubmitInfo held{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    held.pNext = &values;
    held.waitSemaphoreCount = 1;
    held.pWaitSemaphores = &gate;
    held.pWaitDstStageMask = &stage;
    // vkseg's submission first: the queue runs in order, and the held batch must not delay it.
    session.read_labels(labels.data());
    ASSERT_EQ(vkQueueSubmit(app.queue_handle, 1, &held, VK_NULL_HANDLE), VK_SUCCESS);
  }  // the session, network and context go while the application's batch still waits
  VkSemaphoreSignalInfo signal{VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO};
  signal.semaphore = gate;
  signal.value = 1;
  ASSERT_EQ(vkSignalSemaphore(app.device, &signal), VK_SUCCESS);
  ASSERT_EQ(vkQueueWaitIdle(app.queue_handle), VK_SUCCESS);
  vkDestroySemaphore(app.device, gate, nullptr);
}

TEST(Embedding, TakesTheApplicationsQueueLock) {
  AppDevice app(true);
  std::mutex queue_lock;
  app.external.queue_mutex = &queue_lock;
  const Model model = demo_model();
  const auto input = random_floats(size_t(3) * 32 * 32);
  auto ctx = Context::adopt(app.external);
  Network network(*ctx, model);
  Session session(network, 1, 32, 32);
  std::vector<uint32_t> labels(32 * 32);
  std::atomic<bool> done{false};
  std::unique_lock held(queue_lock);
  std::thread worker([&] {
    session.run_labels(input.data(), labels.data());
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(done) << "vkseg submitted while the application held its queue lock";
  held.unlock();
  worker.join();
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace vkseg::test
