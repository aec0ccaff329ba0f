#pragma once
#include "ops/conv2d_params.hpp"
#include "vkseg/context.hpp"

namespace vkseg::ops {

// The fastest Conv2d variant for this layer on this device: every variant that supports the
// layer is timed (best of three runs) on a proxy (the layer with its weights capped by dropping
// output channels, on a map of 32x32 to 128x128 sized for about a quarter GFLOP), and the choice
// is kept in the context and, with a cache directory, on disk for later processes
// (ContextOptions::autotune). The rules' choice stands unless another variant is faster by
// tuning_rule_margin. A variant that fails to run is skipped; a corrupt cache file, or a choice
// measured on another proxy, is timed again and rewritten. Layers with little work per pixel
// (grouped, depthwise, thin) and layers only one variant supports return Auto: the built-in
// rules choose.
Conv2dVariant tuned_variant(Context& context, const Conv2dParams& params);

// The key a layer's choice is stored under: channels, kernel, stride, padding, dilation, groups
// and precision.
std::string tuning_key(const Conv2dParams& params);

}  // namespace vkseg::ops
