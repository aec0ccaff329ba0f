#pragma once
// Graph passes: rewrites of a model's graph (and weights) that compute the same outputs with
// less work. Model::load runs optimize(), which applies them in this order:
//   1. remove_identities          identity and dropout nodes disappear (inference is identity)
//   2. fold_batch_norm            batch norm after a convolution goes into its weights and bias
//   3. fold_constants             element-wise arithmetic on constants becomes one constant;
//                                 scaling by a constant before or after a convolution, or adding
//                                 one after it, goes into its weights and bias (FCN-8s at-once's
//                                 0.01 and 0.0001)
//   4. fuse_activations           an activation goes into the convolution or arithmetic before it
//   5. fuse_conv_transpose_crop   a crop or crop + add after a transposed convolution is computed
//                                 by it (FCN upsampling), so its full output is never stored
// Weights no node uses any more are then dropped.
// Each only fuses a node whose output nothing else reads, and records what it merged in the
// surviving node's `fused` list.
#include "graph/model_data.hpp"

namespace vkseg::graph {

void remove_identities(detail::ModelData& model);
void fold_batch_norm(detail::ModelData& model);
void fold_constants(detail::ModelData& model);
void fuse_activations(detail::ModelData& model);
void fuse_conv_transpose_crop(detail::ModelData& model);

// All of the above in order, then validation of the result (an internal error if a pass broke
// the graph).
void optimize(detail::ModelData& model);

}  // namespace vkseg::graph
