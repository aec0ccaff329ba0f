#pragma once
#include "ops/conv2d_params.hpp"
#include "vkseg/context.hpp"

namespace vkseg::ops {

// The fastest Conv2d variant for this layer on this device: every variant that supports the
// layer is timed once on a proxy input (the layer's channels, at most 64 output channels, and a
// map sized for about a quarter GFLOP), and the choice is kept in the context and, with a cache
// directory, on disk for later processes (ContextOptions::autotune). A variant that fails to run
// is skipped; a corrupt or stale cache file is ignored and rewritten. Layers with little work
// per pixel (grouped, depthwise, thin) and layers only one variant supports return Auto: the
// built-in rules choose.
Conv2dVariant tuned_variant(Context& context, const Conv2dParams& params);

// The key a layer's choice is stored under: channels, kernel, stride, padding, dilation, groups
// and precision.
std::string tuning_key(const Conv2dParams& params);

}  // namespace vkseg::ops
