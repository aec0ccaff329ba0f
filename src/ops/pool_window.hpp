#pragma once
// The window arithmetic of the pooling ops (max_pool2d, avg_pool2d), with PyTorch's rules, and
// their shaders' common dispatch.
#include <cstdint>
#include <vector>

#include "graph/graph.hpp"
#include "ops/tensor.hpp"
#include "vk/recorder.hpp"

namespace vkseg::ops {

struct PoolWindow {
  uint32_t kernel_h, kernel_w;
  uint32_t stride_h, stride_w;
  uint32_t pad_top, pad_left, pad_bottom, pad_right;
  uint32_t dilation_h, dilation_w;
  bool ceil_mode;
};

// Throws Error("<op>: ...") unless kernel, stride and dilation are positive and no pad exceeds
// half the kernel (PyTorch's rule; it also keeps every undilated window over at least one input
// element).
void check_pool_window(const char* op, const PoolWindow& window);

// The output shape for `input` (pool_extent along each axis); throws Error("<op>: ...") where no
// window fits.
Shape pooled_shape(const char* op, const PoolWindow& window, const Shape& input);

// The pooling ops' schema rule: 'pads' (top, left, bottom, right) at most half 'kernel', checked
// at load so that a file breaking it is refused before any session; the channels are kept.
std::vector<int64_t> pool_channels(const graph::Node& node, const graph::Weights& weights,
                                   const std::vector<int64_t>& inputs);

// The pooling shaders' push constants: input size, output size, output elements.
struct PoolPush {
  uint32_t h, w, oh, ow, count;
};

// Records `pipeline` (a pooling shader, one invocation per output element) on input and output
// after checking that both hold `precision`'s storage type and the output is pooled_shape().
void record_pooling(vk::Recorder& recorder, const Context& context, const vk::Pipeline& pipeline,
                    const char* op, const PoolWindow& window, Precision precision,
                    const Tensor& input, const Tensor& output);

}  // namespace vkseg::ops
