#pragma once
// Shared by every suite: one validated Vulkan context for the whole run, device tensors built from
// host vectors, comparison against a CPU reference with a stated tolerance, and suites run once
// per precision.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "ops/activation.hpp"
#include "ops/tensor.hpp"
#include "vk/buffer.hpp"
#include "vk/recorder.hpp"
#include "vkseg/context.hpp"
#include "vkseg/error.hpp"
#include "vkseg/text.hpp"

namespace vkseg {
// How gtest (and so ctest's test list) prints a precision parameter.
inline void PrintTo(Precision precision, std::ostream* os) { *os << precision_name(precision); }
}  // namespace vkseg

namespace vkseg::test {

// The context every test uses: lavapipe or whatever VKSEG_DEVICE names, with the Khronos
// validation layer (synchronization validation included). Any validation message fails the test
// that was running (see test_main.cpp).
Context& context();
void release_context();

// Removes and returns the validation messages recorded so far in this test (for tests that
// provoke a message on purpose).
std::vector<std::string> take_validation_messages();

// A directory of the running test's own, created empty when the test starts and removed when it
// ends: tests never share a path (ctest runs them as separate processes, several at once), and
// never touch the user's home or cache.
const std::filesystem::path& temp_dir();

// The message of the vkseg::Error `body` throws, checked to be one line of printable text (no
// control character from a file reaches a terminal); fails the test if nothing is thrown.
// Expects `part` somewhere in `text` (an error message), printing the text when it is not.
#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

template <class Body>
std::string error_of(Body&& body) {
  try {
    body();
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const char c : message) {
      EXPECT_FALSE(uint8_t(c) < 0x20 || uint8_t(c) == 0x7f)
          << "raw control byte " << int(c) << " in: " << printable(message);
    }
    return message;
  }
  ADD_FAILURE() << "the input was accepted";
  return {};
}

// Seeded per test (the test's full name), so a failure reproduces.
std::mt19937& rng();
uint32_t random_int(uint32_t lo, uint32_t hi);  // inclusive
std::vector<float> random_floats(size_t count, float lo = -1.0f, float hi = 1.0f);

// PyTorch's definition of each activation, in double, independent of the shaders; NaN in gives
// NaN out.
double reference_activation(const ops::Activation& activation, double x);
// A random activation kind (None included) with random parameters in the ranges networks use.
ops::Activation random_activation();
constexpr ops::Activation k_relu{ops::ActivationKind::Relu};

// A tensor (fp32 unless said otherwise) in its own device buffer.
struct DeviceTensor {
  vk::Buffer buffer;
  ops::Tensor tensor;
  const ops::Tensor& operator*() const { return tensor; }
  const ops::Tensor* operator->() const { return &tensor; }
};
DeviceTensor device_tensor(const ops::Shape& shape, ops::DType type = ops::DType::F32);
// Uploads values, converted to fp16 (round to nearest even) for an F16 tensor.
DeviceTensor device_tensor(const ops::Shape& shape, const std::vector<float>& values,
                           ops::DType type = ops::DType::F32);
// Reads an F32 or F16 tensor as floats (fp16 widens exactly).
std::vector<float> read_floats(const DeviceTensor& t);
std::vector<uint32_t> read_uints(const DeviceTensor& t);

// Each value rounded to what a tensor of `precision` stores, so a reference computed from the
// result sees exactly the device's inputs.
std::vector<float> rounded(std::vector<float> values, Precision precision);

// Suites whose randomized reference tests run at every precision: TEST_P on a fixture derived
// from PrecisionTest, instantiated with VKSEG_AT_EVERY_PRECISION. The fp16 run is skipped, with
// the reason, on a device without 16-bit storage buffers.
class PrecisionTest : public ::testing::TestWithParam<Precision> {
 protected:
  void SetUp() override;
  Precision precision() const { return GetParam(); }
  ops::DType type() const { return ops::storage_type(GetParam()); }
};
std::string precision_test_name(const ::testing::TestParamInfo<Precision>& info);
#define VKSEG_AT_EVERY_PRECISION(fixture)                                                  \
  INSTANTIATE_TEST_SUITE_P(, fixture,                                                      \
                           ::testing::Values(Precision::Fp32, Precision::Fp16),            \
                           ::vkseg::test::precision_test_name)

// Relative tolerance of an op's output at `precision`, given the op's fp32 tolerance. At fp16 the
// inputs are pre-rounded (see rounded()) and every op computes in fp32, so the only extra error
// is the output's one rounding to fp16, which Vulkan lets be to nearest (2^-11 = 4.9e-4 relative)
// or toward zero (2^-10 = 9.8e-4): 2e-3 covers the worse twice. Absolute tolerances stay as at
// fp32: they cover sums cancelling to near zero, where fp16's subnormal spacing (6e-8) is finer.
constexpr float k_fp16_rel_tol = 2e-3f;
inline float rel_tol(Precision precision, float fp32_rel_tol) {
  return precision == Precision::Fp16 ? k_fp16_rel_tol : fp32_rel_tol;
}

// Records `body` into a fresh recorder, submits it and waits.
template <typename F>
void run(F&& body) {
  vk::Recorder recorder(context());
  recorder.begin();
  body(recorder);
  recorder.end();
  recorder.submit();
}

// Every |actual - expected| <= abs_tol + rel_tol * |expected|; reports the first mismatches.
::testing::AssertionResult all_close(const std::vector<float>& actual,
                                     const std::vector<float>& expected, float rel_tol = 1e-4f,
                                     float abs_tol = 1e-5f);

}  // namespace vkseg::test
