// The Vulkan runtime itself: device choice, validation hook, both memory paths, barrier
// placement, command replay, timestamps, pipeline reuse and adopting an application's device.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "harness.hpp"
#include "ops/activation.hpp"
#include "vk/context_state.hpp"

namespace vkseg::test {
namespace {

std::vector<float> relu_of(std::vector<float> v) {
  for (float& x : v) x = x > 0 ? x : 0;
  return v;
}

TEST(Runtime, ListsDevicesWithFeatures) {
  const auto devices = list_devices();
  ASSERT_FALSE(devices.empty());
  for (const auto& d : devices) {
    EXPECT_FALSE(d.name.empty());
    EXPECT_GT(d.subgroup_size, 0u);
    EXPECT_GE(d.max_workgroup_invocations, 128u);
    EXPECT_GE(d.max_push_constant_bytes, 128u);
  }
  EXPECT_EQ(context().info().name, devices[context().info().index].name);
}

TEST(Runtime, ValidationLayerReportsMisuse) {
  // A zero-sized buffer is invalid usage: the layer must see it, or no test could trust silence.
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = 0;
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  VkBuffer buffer = VK_NULL_HANDLE;
  vkCreateBuffer(context().device(), &info, nullptr, &buffer);
  if (buffer) vkDestroyBuffer(context().device(), buffer, nullptr);
  EXPECT_FALSE(take_validation_messages().empty());
  EXPECT_GT(context().validation_message_count(), 0u);
}

TEST(Runtime, RejectsUnknownDevice) {
  ContextOptions options;
  options.device_index = 999;
  try {
    Context bad(options);
    FAIL() << "a context was created on device 999";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
  ::setenv("VKSEG_DEVICE", "gpu", 1);
  EXPECT_THROW(Context{}, Error);
  ::unsetenv("VKSEG_DEVICE");
}

TEST(Runtime, DirectAndStagingPathsGiveTheSameData) {
  std::vector<std::string> messages;
  ContextOptions options;
  options.validation = true;
  options.force_staging = true;
  options.on_validation_message = [&](const std::string& m) { messages.push_back(m); };
  Context staged(options);
  const auto values = random_floats(10007);
  for (Context* ctx : {&context(), &staged}) {
    vk::Buffer in(*ctx, values.size() * 4), out(*ctx, values.size() * 4);
    if (ctx == &staged) {
      EXPECT_EQ(in.mapped(), nullptr);
    } else if (ctx->info().unified_memory) {
      EXPECT_NE(in.mapped(), nullptr);
    }
    vk::upload(*ctx, in, 0, values.data(), values.size() * 4);
    ops::ActivationOp relu(*ctx, k_relu);
    const ops::Shape shape{1, 1, 1, uint32_t(values.size())};
    vk::Recorder recorder(*ctx);
    recorder.begin();
    relu.record(recorder, {shape, in.view()}, {shape, out.view()});
    recorder.end();
    recorder.submit();
    std::vector<float> result(values.size());
    vk::download(*ctx, out, 0, result.data(), result.size() * 4);
    EXPECT_EQ(result, relu_of(values));
    // A sub-range upload and download land at the right offset.
    const float marker[2] = {-5.0f, 7.0f};
    vk::upload(*ctx, out, 40, marker, sizeof marker);
    float back[3];
    vk::download(*ctx, out, 36, back, sizeof back);
    EXPECT_EQ(back[1], -5.0f);
    EXPECT_EQ(back[2], 7.0f);
  }
  EXPECT_TRUE(messages.empty()) << messages.front();
}

TEST(Runtime, BarriersOnlyWhereDispatchesDepend) {
  ops::ActivationOp relu(context(), k_relu);
  const ops::Shape shape{1, 2, 3, 5};
  const auto values = random_floats(shape.count());
  auto a = device_tensor(shape, values), b = device_tensor(shape), c = device_tensor(shape);

  vk::Recorder independent(context());
  independent.begin();
  relu.record(independent, *a, *b);  // both only read a
  relu.record(independent, *a, *c);
  independent.end();
  EXPECT_EQ(independent.barrier_count(), 0u);

  vk::Recorder chain(context());
  chain.begin();
  relu.record(chain, *a, *b);
  relu.record(chain, *b, *c);  // read after write
  chain.end();
  EXPECT_EQ(chain.barrier_count(), 1u);

  vk::Recorder overwrite(context());
  overwrite.begin();
  relu.record(overwrite, *a, *b);
  relu.record(overwrite, *c, *a);  // write after read
  overwrite.end();
  EXPECT_EQ(overwrite.barrier_count(), 1u);
  overwrite.submit();
  EXPECT_EQ(read_floats(b), relu_of(values));
  vk::upload(context(), a.buffer, 0, values.data(), shape.bytes());  // a was overwritten

  // Disjoint halves of one buffer are independent; overlapping ones are not.
  const VkDeviceSize half = 256;  // a multiple of every device's minStorageBufferOffsetAlignment
  ASSERT_LE(shape.bytes(), half);
  vk::Buffer shared(context(), 2 * half);
  const ops::Tensor lo{shape, shared.view(0, shape.bytes())};
  const ops::Tensor hi{shape, shared.view(half, shape.bytes())};
  vk::Recorder halves(context());
  halves.begin();
  relu.record(halves, *a, lo);
  relu.record(halves, *a, hi);
  relu.record(halves, lo, *c);
  halves.end();
  EXPECT_EQ(halves.barrier_count(), 1u);
  halves.submit();
  EXPECT_EQ(read_floats(c), relu_of(values));
}

TEST(Runtime, RecordedCommandsReplay) {
  ops::ActivationOp relu(context(), k_relu);
  const ops::Shape shape{2, 3, 7, 9};
  auto a = device_tensor(shape), b = device_tensor(shape);
  vk::Recorder recorder(context());
  recorder.begin();
  relu.record(recorder, *a, *b);
  recorder.end();
  for (int i = 0; i < 3; ++i) {
    const auto values = random_floats(shape.count(), -2, 2);
    vk::upload(context(), a.buffer, 0, values.data(), shape.bytes());
    recorder.submit();
    EXPECT_EQ(read_floats(b), relu_of(values));
  }
}

TEST(Runtime, LargeFlatLaunchFoldsIntoTwoDimensions) {
  // More workgroups than maxComputeWorkGroupCount[0] allows on many devices (65535 x 64).
  const ops::Shape shape{1, 1, 1, 65535u * 64u + 777u};
  const auto values = random_floats(shape.count());
  auto a = device_tensor(shape, values), b = device_tensor(shape);
  ops::ActivationOp relu(context(), k_relu);
  run([&](vk::Recorder& r) { relu.record(r, *a, *b); });
  EXPECT_EQ(read_floats(b), relu_of(values));
}

TEST(Runtime, TimestampsTimeEveryDispatch) {
  if (!context().info().timestamps) {
    GTEST_SKIP() << "device '" << context().info().name << "' writes no timestamps on its queue";
  }
  ops::ActivationOp relu(context(), k_relu);
  const ops::Shape shape{1, 8, 64, 64};
  auto a = device_tensor(shape, random_floats(shape.count())), b = device_tensor(shape);
  vk::Recorder recorder(context(), 16);
  recorder.begin();
  relu.record(recorder, *a, *b);
  relu.record(recorder, *b, *a);
  relu.record(recorder, *a, *b);
  recorder.end();
  recorder.submit();
  const auto timings = recorder.timings();
  ASSERT_EQ(timings.size(), 3u);
  double total = 0;
  for (const auto& t : timings) {
    EXPECT_EQ(t.label, "activation");
    EXPECT_GE(t.milliseconds, 0.0);
    total += t.milliseconds;
  }
  EXPECT_GT(total, 0.0);
}

TEST(Runtime, PipelinesAreCreatedOnce) {
  const ops::Activation relu = k_relu;
  vk::PipelineKey key{"activation", {64, 1, 1}, 2, 4};
  for (uint32_t c : relu.constants()) key.specialization.push_back(c);
  const vk::Pipeline* first = &vk::state(context()).pipeline(key);
  ops::ActivationOp relu_a(context(), relu), relu_b(context(), relu);
  EXPECT_EQ(first, &vk::state(context()).pipeline(key));
}

TEST(Runtime, PipelineCachePersistsAcrossContexts) {
  const std::filesystem::path dir = temp_dir() / "vkseg-cache";
  ContextOptions options;
  options.validation = true;
  options.cache_dir = dir.string();
  std::vector<std::string> messages;
  options.on_validation_message = [&](const std::string& m) { messages.push_back(m); };
  std::string file;
  {
    Context first(options);
    ops::ActivationOp relu(first, k_relu);
    file = vk::state(first).pipeline_cache_file;
  }
  ASSERT_TRUE(std::filesystem::exists(file)) << file;
  EXPECT_GT(std::filesystem::file_size(file), 0u);
  { Context second(options); }  // loads what the first one saved
  { std::ofstream(file, std::ios::binary) << "not a pipeline cache"; }
  {
    Context third(options);  // a corrupt file is ignored, then replaced
    ops::ActivationOp relu(third, k_relu);
  }
  EXPECT_NE(std::filesystem::file_size(file), std::string("not a pipeline cache").size());
  EXPECT_TRUE(messages.empty()) << messages.front();
}

TEST(Runtime, AdoptsAnApplicationDevice) {
  // Adopt the test context's device, once with push descriptors and once without (which
  // exercises the descriptor-set path), and check the application's device survives.
  for (bool push : {true, false}) {
    ExternalDevice external;
    external.instance = context().instance();
    external.physical_device = context().physical_device();
    external.device = context().device();
    external.queue = context().queue();
    external.queue_family_index = context().queue_family_index();
    if (push && context().info().push_descriptors) {
      external.enabled_device_extensions = {VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME};
    }
    const ops::Shape shape{1, 3, 5, 7};
    const auto values = random_floats(shape.count());
    {
      auto adopted = Context::adopt(external);
      EXPECT_FALSE(adopted->owns_device());
      EXPECT_EQ(adopted->info().push_descriptors, push && context().info().push_descriptors);
      vk::Buffer in(*adopted, shape.bytes()), out(*adopted, shape.bytes());
      vk::upload(*adopted, in, 0, values.data(), shape.bytes());
      ops::ActivationOp relu(*adopted, k_relu);
      vk::Recorder recorder(*adopted);
      recorder.begin();
      relu.record(recorder, {shape, in.view()}, {shape, out.view()});
      relu.record(recorder, {shape, out.view()}, {shape, out.view()});  // in place
      recorder.end();
      recorder.submit();
      std::vector<float> result(shape.count());
      vk::download(*adopted, out, 0, result.data(), shape.bytes());
      EXPECT_EQ(result, relu_of(values));
    }
    // The application's device is still alive and usable.
    auto a = device_tensor(shape, values), b = device_tensor(shape);
    ops::ActivationOp relu(context(), k_relu);
    run([&](vk::Recorder& r) { relu.record(r, *a, *b); });
    EXPECT_EQ(read_floats(b), relu_of(values));
  }
  ExternalDevice incomplete;
  EXPECT_THROW(Context::adopt(incomplete), Error);
}

TEST(Runtime, HungSubmissionIsReportedNotWaitedFor) {
  // A 1 microsecond limit makes any real submission count as hung: it is reported as VK_TIMEOUT,
  // later submissions fail at once, and tearing the context down neither waits nor frees what
  // the device may still use.
  ContextOptions options;
  options.gpu_timeout_seconds = 1e-6;
  Context hung(options);
  const ops::Shape shape{1, 64, 256, 256};
  vk::Buffer buffer(hung, 2 * shape.bytes());
  const ops::Tensor x{shape, buffer.view(0, shape.bytes())};
  const ops::Tensor y{shape, buffer.view(shape.bytes(), shape.bytes())};
  ops::ActivationOp relu(hung, k_relu);
  vk::Recorder recorder(hung);
  recorder.begin();
  for (int i = 0; i < 64; ++i) relu.record(recorder, i % 2 ? y : x, i % 2 ? x : y);
  recorder.end();
  try {
    recorder.submit();
    FAIL() << "a submission outlived a 1 microsecond limit";
  } catch (const VulkanError& e) {
    EXPECT_EQ(e.result(), VK_TIMEOUT);
    EXPECT_NE(std::string(e.what()).find("did not finish its work"), std::string::npos) << e.what();
  }
  EXPECT_THROW(recorder.submit(), VulkanError);
}

}  // namespace
}  // namespace vkseg::test
