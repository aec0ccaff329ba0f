#pragma once
// Graph passes: rewrites of a model's graph (and weights) that compute the same outputs with
// less work. Model::load runs optimize(), which applies them in this order:
//   1. fuse_activations           an activation goes into the convolution or arithmetic before it
//   2. fuse_conv_transpose_crop   a crop or crop + add after a transposed convolution is computed
//                                 by it (FCN upsampling), so its full output is never stored
// Each only fuses a node whose output nothing else reads, and records what it merged in the
// surviving node's `fused` list.
#include "graph/model_data.hpp"

namespace vkseg::graph {

void fuse_activations(detail::ModelData& model);
void fuse_conv_transpose_crop(detail::ModelData& model);

// All of the above in order, then validation of the result (an internal error if a pass broke
// the graph).
void optimize(detail::ModelData& model);

}  // namespace vkseg::graph
