#pragma once
// Shared by every suite: one validated Vulkan context for the whole run, device tensors built from
// host vectors, and comparison against a CPU reference with a stated tolerance.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ops/tensor.hpp"
#include "vk/buffer.hpp"
#include "vk/recorder.hpp"
#include "vkseg/context.hpp"

namespace vkseg::test {

// The context every test uses: lavapipe or whatever VKSEG_DEVICE names, with the Khronos
// validation layer (synchronization validation included). Any validation message fails the test
// that was running (see test_main.cpp).
Context& context();
void release_context();

// Removes and returns the validation messages recorded so far in this test (for tests that
// provoke a message on purpose).
std::vector<std::string> take_validation_messages();

// Seeded per test (the test's full name), so a failure reproduces.
std::mt19937& rng();
uint32_t random_int(uint32_t lo, uint32_t hi);  // inclusive
std::vector<float> random_floats(size_t count, float lo = -1.0f, float hi = 1.0f);

// A float32 tensor in its own device buffer.
struct DeviceTensor {
  vk::Buffer buffer;
  ops::Tensor tensor;
  const ops::Tensor& operator*() const { return tensor; }
  const ops::Tensor* operator->() const { return &tensor; }
};
DeviceTensor device_tensor(const ops::Shape& shape);
DeviceTensor device_tensor(const ops::Shape& shape, const std::vector<float>& values);
std::vector<float> read_floats(const DeviceTensor& t);
std::vector<uint32_t> read_uints(const DeviceTensor& t);

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
