#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <utility>

#include "harness.hpp"
#include "io/half.hpp"

namespace vkseg::test {

namespace {

std::unique_ptr<Context> g_context;
std::mutex g_messages_mutex;
std::vector<std::string> g_messages;
std::mt19937 g_rng;
std::filesystem::path g_temp_dir;

// mkdtemp: a new directory no other process can have picked.
std::filesystem::path make_unique_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "vkseg-test-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot create a test directory");
  return pattern;
}

// Fails the running test for every validation message its Vulkan calls caused.
class ValidationListener : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo& info) override {
    g_rng.seed(uint32_t(std::hash<std::string>{}(std::string(info.test_suite_name()) + "." +
                                                  info.name())));
    g_temp_dir.clear();
    std::lock_guard lock(g_messages_mutex);
    g_messages.clear();
  }
  void OnTestEnd(const ::testing::TestInfo&) override {
    if (!g_temp_dir.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(g_temp_dir, ignored);
      g_temp_dir.clear();
    }
    std::lock_guard lock(g_messages_mutex);
    for (const std::string& m : g_messages) ADD_FAILURE() << "Vulkan validation: " << m;
    g_messages.clear();
  }
};

}  // namespace

Context& context() {
  if (!g_context) {
    ContextOptions options;
    options.validation = true;
    options.on_validation_message = [](const std::string& m) {
      std::lock_guard lock(g_messages_mutex);
      g_messages.push_back(m);
    };
    g_context = std::make_unique<Context>(options);
  }
  return *g_context;
}

void release_context() { g_context.reset(); }

std::vector<std::string> take_validation_messages() {
  std::lock_guard lock(g_messages_mutex);
  return std::exchange(g_messages, {});
}

const std::filesystem::path& temp_dir() {
  if (g_temp_dir.empty()) g_temp_dir = make_unique_dir();
  return g_temp_dir;
}

std::mt19937& rng() { return g_rng; }

uint32_t random_int(uint32_t lo, uint32_t hi) {
  return std::uniform_int_distribution<uint32_t>(lo, hi)(g_rng);
}

std::vector<float> random_floats(size_t count, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(count);
  for (float& x : v) x = dist(g_rng);
  return v;
}

double reference_activation(const ops::Activation& a, double x) {
  if (std::isnan(x)) return x;
  switch (a.kind) {
    case ops::ActivationKind::None: return x;
    case ops::ActivationKind::Relu: return x > 0 ? x : 0.0;
    case ops::ActivationKind::LeakyRelu: return x >= 0 ? x : a.alpha * x;
    case ops::ActivationKind::Clip: return std::min<double>(std::max<double>(x, a.alpha), a.beta);
    case ops::ActivationKind::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case ops::ActivationKind::HardSigmoid: return std::clamp(a.alpha * x + a.beta, 0.0, 1.0);
    case ops::ActivationKind::HardSwish: return x * std::clamp(x + 3.0, 0.0, 6.0) / 6.0;
    case ops::ActivationKind::Tanh: return std::tanh(x);
  }
  return x;
}

ops::Activation random_activation() {
  const auto kind = ops::ActivationKind(random_int(0, 7));
  switch (kind) {
    case ops::ActivationKind::LeakyRelu: return {kind, random_floats(1, 0.01f, 0.3f)[0]};
    case ops::ActivationKind::Clip: return {kind, random_floats(1, -1.0f, 0.0f)[0], 6.0f};
    case ops::ActivationKind::HardSigmoid: return {kind, 1.0f / 6.0f, 0.5f};
    default: return {kind};
  }
}

DeviceTensor device_tensor(const ops::Shape& shape, ops::DType type) {
  DeviceTensor t{vk::Buffer(context(), shape.bytes(type)), {}};
  t.tensor = {shape, t.buffer.view(0, shape.bytes(type)), type};
  return t;
}

DeviceTensor device_tensor(const ops::Shape& shape, const std::vector<float>& values,
                           ops::DType type) {
  EXPECT_EQ(values.size(), shape.count());
  DeviceTensor t = device_tensor(shape, type);
  if (type == ops::DType::F16) {
    std::vector<uint16_t> halves(values.size());
    for (size_t i = 0; i < values.size(); ++i) halves[i] = io::float_to_half(values[i]);
    vk::upload(context(), t.buffer, 0, halves.data(), halves.size() * sizeof(uint16_t));
  } else {
    vk::upload(context(), t.buffer, 0, values.data(), values.size() * sizeof(float));
  }
  return t;
}

std::vector<float> read_floats(const DeviceTensor& t) {
  std::vector<float> v(t.tensor.shape.count());
  if (t.tensor.dtype == ops::DType::F16) {
    std::vector<uint16_t> halves(v.size());
    vk::download(context(), t.buffer, t.tensor.view.offset, halves.data(), halves.size() * 2);
    for (size_t i = 0; i < v.size(); ++i) v[i] = io::half_to_float(halves[i]);
  } else {
    vk::download(context(), t.buffer, t.tensor.view.offset, v.data(), v.size() * sizeof(float));
  }
  return v;
}

std::vector<float> rounded(std::vector<float> values, Precision precision) {
  if (precision == Precision::Fp16) {
    for (float& v : values) v = io::half_to_float(io::float_to_half(v));
  }
  return values;
}

void PrecisionTest::SetUp() {
  if (precision() == Precision::Fp16 && !context().info().fp16_storage) {
    GTEST_SKIP() << "fp16 needs 16-bit storage buffers (storageBuffer16BitAccess), which "
                 << context().info().name << " does not offer";
  }
}

std::string precision_test_name(const ::testing::TestParamInfo<Precision>& info) {
  return precision_name(info.param);
}

std::vector<uint32_t> read_uints(const DeviceTensor& t) {
  std::vector<uint32_t> v(t.tensor.shape.count());
  vk::download(context(), t.buffer, t.tensor.view.offset, v.data(), v.size() * sizeof(uint32_t));
  return v;
}

::testing::AssertionResult all_close(const std::vector<float>& actual,
                                     const std::vector<float>& expected, float rel_tol,
                                     float abs_tol) {
  if (actual.size() != expected.size()) {
    return ::testing::AssertionFailure()
           << "sizes differ: " << actual.size() << " vs " << expected.size();
  }
  size_t bad = 0;
  std::string first;
  for (size_t i = 0; i < actual.size(); ++i) {
    const float a = actual[i], e = expected[i];
    const bool ok = (std::isnan(a) && std::isnan(e)) || a == e ||
                    std::fabs(a - e) <= abs_tol + rel_tol * std::fabs(e);
    if (!ok && bad++ < 5) first += fmt::format(" [{}] {} vs {};", i, a, e);
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << actual.size()
                                       << " elements differ (rel " << rel_tol << ", abs "
                                       << abs_tol << "):" << first;
}

}  // namespace vkseg::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new vkseg::test::ValidationListener);
  const int status = RUN_ALL_TESTS();
  // Destroy the device before exit handlers run: the validation layer's own statics may already be
  // gone by the time a global's destructor would run.
  vkseg::test::release_context();
  return status;
}
