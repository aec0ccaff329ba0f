#include "graph/passes/pass_util.hpp"
#include "graph/passes/passes.hpp"

namespace vkseg::graph {

// FCN's upsampling: crop(upscore, reference) or crop_add(source, upscore) (or the crop of the
// sum's other operand) becomes one conv_transpose2d computing only the window it keeps, with the
// addition, at the crop's place (where both its inputs exist).
void fuse_conv_transpose_crop(detail::ModelData& model) {
  Graph& g = model.graph;
  const TensorUse use = tensor_use(g);
  std::vector<bool> removed(g.nodes.size(), false);
  for (size_t j = 0; j < g.nodes.size(); ++j) {
    Node& crop = g.nodes[j];
    if (crop.op != "crop" && crop.op != "crop_add") continue;
    // A plain crop's reference gives only a size: only its source can be the convolution.
    for (size_t k = 0; k < (crop.op == "crop" ? 1u : 2u); ++k) {
      const auto producer = use.producer.find(crop.inputs[k]);
      if (producer == use.producer.end() || !single_use(use, crop.inputs[k])) continue;
      const size_t c = producer->second;
      Node& conv = g.nodes[c];
      if (removed[c] || conv.op != "conv_transpose2d" || conv.attr_string("fuse") != "none") {
        continue;
      }
      Node fused = std::move(conv);
      fused.attrs["fuse"] =
          std::string(crop.op == "crop" ? "crop" : k == 0 ? "crop_add" : "add_cropped");
      fused.attrs["fuse_offset"] = crop.attr_ints("offset");
      fused.inputs.push_back(crop.inputs[1 - k]);
      fused.outputs = crop.outputs;
      absorb(fused, crop);
      crop = std::move(fused);
      removed[c] = true;
      break;
    }
  }
  erase_nodes(g, removed);
}

}  // namespace vkseg::graph
