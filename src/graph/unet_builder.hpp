#pragma once
#include "graph/model_data.hpp"
#include "io/checkpoint.hpp"

namespace vkseg::graph {

// Whether the checkpoint uses milesial/Pytorch-UNet's module names (inc, down1.., up1.., outc).
bool looks_like_unet(const io::Checkpoint& checkpoint);

// milesial/Pytorch-UNet's UNet (double 3x3 conv + BN + ReLU blocks, max-pool down, transposed
// convolution or bilinear (align_corners) up, the upsampled map padded to its skip's size and
// concatenated after it), any widths, depth and classes; non-tensor entries of its state dict
// (its training script's mask_values) are ignored. Throws Error naming the first tensor that
// does not fit.
detail::ModelData build_unet(io::Checkpoint checkpoint);

}  // namespace vkseg::graph
