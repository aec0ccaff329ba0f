#include "graph/fcn_builder.hpp"
#include "graph/fcn_hints.hpp"
#include "vkseg/text.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <numeric>

namespace vkseg::graph {

namespace {

constexpr const char* k_families =
    "vkseg converts FCN-32s/16s/8s/8s-at-once on VGG16 (pytorch-fcn, the lecture's FCN with a "
    "1x1 fc6, any naming), torchvision's VGG16 classifier and segmentation networks "
    "(fcn_resnet50/101, deeplabv3_resnet50/101, deeplabv3_mobilenet_v3_large, "
    "lraspp_mobilenet_v3_large) and U-Net (milesial/Pytorch-UNet); `vkseg convert --arch list` "
    "lists them";

// One parameterised layer of the checkpoint: a weight and its bias, if it has one.
struct Layer {
  io::NamedTensor weight;
  std::optional<io::NamedTensor> bias;
  int64_t dim(size_t i) const { return weight.shape[i]; }
  std::string describe() const {
    return fmt::format("tensor '{}' ({})", printable(weight.name), fmt::join(weight.shape, "x"));
  }
};

std::string module_prefix(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos ? std::string() : name.substr(0, dot);
}

// Pairs every weight (rank 4: convolution, rank 2: linear) with its bias: the 1-D tensor of the
// same module ("x.weight" / "x.bias"), or else the weight just before the 1-D tensor.
std::vector<Layer> group_layers(std::vector<io::NamedTensor>& tensors) {
  std::vector<Layer> layers;
  std::map<std::string, size_t> layer_of_module;
  std::vector<std::pair<io::NamedTensor*, size_t>> biases;  // with the layer preceding each
  for (io::NamedTensor& t : tensors) {
    if (t.shape.size() == 4 || t.shape.size() == 2) {
      layer_of_module[module_prefix(t.name)] = layers.size();
      layers.push_back({std::move(t), std::nullopt});
    } else if (t.shape.size() == 1) {
      biases.push_back({&t, layers.empty() ? SIZE_MAX : layers.size() - 1});
    } else {
      throw Error(fmt::format("tensor '{}' (rank {}) fits no convolution or linear layer of a "
                              "VGG16 FCN; {}",
                              printable(t.name), t.shape.size(), k_families));
    }
  }
  for (auto [bias, preceding] : biases) {
    const auto same_module = layer_of_module.find(module_prefix(bias->name));
    const size_t index = same_module != layer_of_module.end() ? same_module->second : preceding;
    if (index == SIZE_MAX || layers[index].bias ||
        layers[index].weight.shape[0] != bias->shape[0]) {
      throw Error(fmt::format("tensor '{}' ({} values) is the bias of no layer", printable(bias->name),
                              bias->shape[0]));
    }
    layers[index].bias = std::move(*bias);
  }
  return layers;
}

[[noreturn]] void misfit(const Layer& layer, const std::string& expected) {
  throw Error(fmt::format("{} does not fit: expected {}", layer.describe(), expected));
}

void require_conv(const Layer& l, int64_t in, int64_t k, bool bias, const std::string& role) {
  if (l.weight.shape.size() != 4 || l.dim(1) != in || l.dim(2) != k || l.dim(3) != k) {
    misfit(l, fmt::format("{}: a {}x{} convolution over {} channels", role, k, k, in));
  }
  if (bias && (!l.bias || l.bias->shape[0] != l.dim(0))) {
    misfit(l, fmt::format("{} with a bias of {} values", role, l.dim(0)));
  }
}

class GraphBuilder {
 public:
  explicit GraphBuilder(detail::ModelData& model) : model_(model) { model_.graph.input = "image"; }

  std::string conv(const std::string& name, const std::string& input, Layer& l, int64_t pad,
                   bool relu) {
    Node n = make_node(name, "conv2d", {input});
    n.attrs["pads"] = Ints{pad, pad, pad, pad};
    if (relu) n.attrs["activation"] = std::string("relu");
    add_weights(n, l);
    model_.graph.nodes.push_back(std::move(n));
    return name;
  }

  std::string upsample(const std::string& name, const std::string& input, Layer& l,
                       int64_t stride, int64_t pad) {
    Node n = make_node(name, "conv_transpose2d", {input});
    n.attrs["stride"] = Ints{stride, stride};
    n.attrs["pads"] = Ints{pad, pad, pad, pad};
    make_depthwise_if_diagonal(n, l);
    add_weights(n, l);
    model_.graph.nodes.push_back(std::move(n));
    return name;
  }

  std::string pool(const std::string& name, const std::string& input, bool ceil) {
    Node n = make_node(name, "max_pool2d", {input});
    n.attrs["kernel"] = n.attrs["stride"] = Ints{2, 2};
    n.attrs["ceil_mode"] = int64_t(ceil);
    model_.graph.nodes.push_back(std::move(n));
    return name;
  }

  std::string crop(const std::string& name, const char* op, const std::string& source,
                   const std::string& other, int64_t offset) {
    Node n = make_node(name, op, {source, other});
    n.attrs["offset"] = Ints{offset, offset};
    model_.graph.nodes.push_back(std::move(n));
    return name;
  }

  // input * factor, factor a scalar constant (FCN8sAtOnce's fixed skip scaling).
  std::string scale(const std::string& name, const std::string& input, float factor) {
    const std::string value = name + ".factor";
    model_.weights[value] = {{}, {factor}};
    model_.graph.nodes.push_back(make_node(value, "constant", {}, {}, {{"value", value}}));
    model_.graph.nodes.push_back(make_node(name, "mul", {input, value}));
    return name;
  }

 private:
  // FCN's upsampling kernels are usually bilinear on the class diagonal and zero elsewhere: such a
  // layer is exactly a per-class (grouped) transposed convolution, classes times less work.
  static void make_depthwise_if_diagonal(Node& n, Layer& l) {
    const auto& shape = l.weight.shape;
    const size_t classes = size_t(shape[0]), taps = size_t(shape[2] * shape[3]);
    std::vector<float> diagonal(classes * taps);
    for (size_t i = 0; i < classes; ++i) {
      for (size_t j = 0; j < classes; ++j) {
        const float* kernel = l.weight.values.data() + (i * classes + j) * taps;
        if (i == j) {
          std::copy_n(kernel, taps, diagonal.begin() + ptrdiff_t(i * taps));
        } else if (std::any_of(kernel, kernel + taps, [](float v) { return v != 0.0f; })) {
          return;
        }
      }
    }
    l.weight.shape = {shape[0], 1, shape[2], shape[3]};
    l.weight.values = std::move(diagonal);
    n.attrs["groups"] = int64_t(classes);
  }

  void add_weights(Node& n, Layer& l) {
    n.weights["weight"] = n.name + ".weight";
    model_.weights[n.name + ".weight"] = {l.weight.shape, std::move(l.weight.values)};
    if (l.bias) {
      n.weights["bias"] = n.name + ".bias";
      model_.weights[n.name + ".bias"] = {l.bias->shape, std::move(l.bias->values)};
    }
  }
  detail::ModelData& model_;
};

// VGG16 "D": 13 3x3 convolutions in blocks of 2, 2, 3, 3, 3, each block closed by a 2x2 pool.
constexpr int k_block_sizes[] = {2, 2, 3, 3, 3};

// The first 13 3x3 convolutions, checked to chain as VGG16's; heads may be registered (or
// sorted) among them and stay in `layers`. Returns the channel count after each block.
std::vector<int64_t> take_backbone(std::vector<Layer>& layers, std::vector<Layer>& backbone) {
  std::vector<Layer> rest;
  for (Layer& l : layers) {
    const bool conv3x3 = l.weight.shape.size() == 4 && l.dim(2) == 3 && l.dim(3) == 3;
    (conv3x3 && backbone.size() < 13 ? backbone : rest).push_back(std::move(l));
  }
  layers = std::move(rest);
  if (backbone.size() < 13) {
    throw Error(fmt::format("found {} 3x3 convolutions; a VGG16 backbone has 13 ({})",
                            backbone.size(), k_families));
  }
  const int64_t in0 = backbone[0].weight.shape.size() == 4 ? backbone[0].dim(1) : 0;
  if (in0 != 1 && in0 != 3) misfit(backbone[0], "conv1_1: a 3x3 convolution over 1 or 3 channels");
  std::vector<int64_t> pooled;
  int64_t channels = in0;
  size_t li = 0;
  for (int block = 0; block < 5; ++block) {
    for (int j = 0; j < k_block_sizes[block]; ++j, ++li) {
      require_conv(backbone[li], channels, 3, true, fmt::format("conv{}_{}", block + 1, j + 1));
      channels = backbone[li].dim(0);
    }
    pooled.push_back(channels);
  }
  return pooled;
}

// conv1_1 ... pool5 into the graph.
void add_backbone(GraphBuilder& b, std::vector<Layer>& backbone, int64_t conv1_pad, bool ceil) {
  std::string x = "image";
  size_t li = 0;
  for (int block = 0; block < 5; ++block) {
    for (int j = 0; j < k_block_sizes[block]; ++j, ++li) {
      x = b.conv(fmt::format("conv{}_{}", block + 1, j + 1), x, backbone[li], li == 0 ? conv1_pad : 1,
                 true);
    }
    x = b.pool(fmt::format("pool{}", block + 1), x, ceil);
  }
}

// torchvision VGG16: classifier Linear(C*7*7, H1), Linear(H1, H2), Linear(H2, K) become a 7x7
// and two 1x1 convolutions (the Linear input was flattened in C, H, W order: a plain reshape).
void add_vgg16_classifier(GraphBuilder& b, std::vector<Layer>& layers, int64_t c5) {
  if (layers.size() != 3) {
    throw Error(fmt::format("a VGG16 classifier has 3 linear layers after the backbone; found {}",
                            layers.size()));
  }
  int64_t in = c5 * 49;
  const char* names[] = {"fc6", "fc7", "fc8"};
  std::string x = "pool5";
  for (int i = 0; i < 3; ++i) {
    Layer& l = layers[i];
    if (l.weight.shape.size() != 2 || l.dim(1) != in || !l.bias || l.bias->shape[0] != l.dim(0)) {
      misfit(l, fmt::format("{}: a linear layer over {} inputs with a bias", names[i], in));
    }
    const int64_t out = l.dim(0);
    l.weight.shape = i == 0 ? std::vector<int64_t>{out, c5, 7, 7} : std::vector<int64_t>{out, in, 1, 1};
    x = b.conv(names[i], x, l, 0, i < 2);
    in = out;
  }
}

// Removes and returns the first conv layer with a bias that `fits`, or nullopt.
template <class Fits>
std::optional<Layer> take(std::vector<Layer>& layers, Fits&& fits) {
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].weight.shape.size() == 4 && layers[i].bias && fits(layers[i])) {
      Layer l = std::move(layers[i]);
      layers.erase(layers.begin() + long(i));
      return l;
    }
  }
  return std::nullopt;
}

// fc6, fc7 and score_fr: fc6 a square convolution over pool5's channels (7x7 in pytorch-fcn, 1x1
// in the lecture's FCN), fc7 a 1x1 convolution over fc6's outputs, score_fr a 1x1 over fc7's. The
// first fc6 candidate that starts such a chain is taken.
std::array<Layer, 3> take_fc_layers(std::vector<Layer>& layers, int64_t pool5) {
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& c = layers[i];
    if (c.weight.shape.size() != 4 || !c.bias || c.dim(1) != pool5 || c.dim(2) != c.dim(3)) {
      continue;
    }
    auto one_by_one_over = [](int64_t in) {
      return [in](const Layer& l) { return l.dim(1) == in && l.dim(2) == 1 && l.dim(3) == 1; };
    };
    std::vector<Layer> rest = layers;
    Layer fc6 = std::move(rest[i]);
    rest.erase(rest.begin() + long(i));
    std::optional<Layer> fc7 = take(rest, one_by_one_over(fc6.dim(0)));
    if (!fc7) continue;
    std::optional<Layer> score_fr = take(rest, one_by_one_over(fc7->dim(0)));
    if (!score_fr) continue;
    layers = std::move(rest);
    return {std::move(fc6), std::move(*fc7), std::move(*score_fr)};
  }
  throw Error(fmt::format("no tensors fit fc6, fc7 and score_fr: a square convolution over "
                          "pool5's {} channels, then two 1x1 convolutions ({})",
                          pool5, k_families));
}

// How the FCN pads and crops: Caffe's (pytorch-fcn) or the aligned layout (the lecture's).
struct Layout {
  bool caffe = true;
  bool fc_relu = true;
  bool at_once = false;
};

Layout choose_layout(const ConvertOptions& options, const FcnHints& hints, const Layer& conv1_1,
                     const Layer& fc6, bool biased_upsampling, bool fcn8s,
                     std::vector<std::string>& notes) {
  Layout layout;
  if (options.caffe_padding) {
    layout.caffe = *options.caffe_padding;
  } else if (const auto pad = hints.pair(conv1_1.weight.name, "padding")) {
    layout.caffe = (*pad)[0] == 100;
  } else if (fc6.dim(2) == 1 || biased_upsampling) {
    layout.caffe = false;
    notes.push_back(
        "assumed the aligned layout of the lecture's FCN (its fc6 is 1x1 or its upsampling has "
        "biases): conv1_1 padded by 1, upsampling padded by a quarter of its kernel, no crops, "
        "inputs in multiples of 32; pass --layout caffe for pytorch-fcn's padding of 100 and crops");
  } else {
    notes.push_back(
        "assumed pytorch-fcn's Caffe layout: conv1_1 padded by 100, the upsampled maps cropped; "
        "pass --layout aligned for an FCN padded by 1 without crops");
  }
  if (options.fc_relu) {
    layout.fc_relu = *options.fc_relu;
  } else if (const auto relu = hints.relu_after(fc6.weight.name)) {
    layout.fc_relu = *relu;
  } else {
    notes.push_back(
        "assumed a ReLU after fc6 and fc7, as in the FCN paper; pass --no-fc-relu for a network "
        "without them");
  }
  if (fcn8s) {
    if (options.arch == "fcn8s-atonce" || options.arch == "fcn8s") {
      layout.at_once = options.arch == "fcn8s-atonce";
    } else if (const auto at_once = hints.fcn8s_at_once()) {
      layout.at_once = *at_once;
      if (*at_once) {
        notes.push_back(fmt::format("read as pytorch-fcn's FCN8sAtOnce ({} names it): pool4 "
                                    "scaled by 0.01 and pool3 by 0.0001 before their scores",
                                    hints.source()));
      }
    } else if (layout.caffe) {
      notes.push_back(
          "assumed pytorch-fcn's FCN8s; its FCN8sAtOnce has the same tensors but scales pool4 by "
          "0.01 and pool3 by 0.0001: pass --arch fcn8s-atonce for it");
    }
  }
  return layout;
}

// Stride and padding of an upsampling layer: the pickled module's, else the layout's.
std::pair<int64_t, int64_t> upsampling_geometry(const FcnHints& hints, const Layer& l,
                                                bool caffe) {
  const int64_t k = l.dim(2);
  const auto stride = hints.pair(l.weight.name, "stride");
  const auto pad = hints.pair(l.weight.name, "padding");
  return {stride ? (*stride)[0] : k / 2, pad ? (*pad)[0] : caffe ? 0 : k / 4};
}

// "features.2" < "features.10": digit runs compare as numbers.
bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(uint8_t(a[i])) && std::isdigit(uint8_t(b[j]))) {
      size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(uint8_t(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(uint8_t(b[je]))) ++je;
      const std::string na = a.substr(i, ie - i), nb = b.substr(j, je - j);
      const std::string pa = std::string(std::max(na.size(), nb.size()) - na.size(), '0') + na;
      const std::string pb = std::string(std::max(na.size(), nb.size()) - nb.size(), '0') + nb;
      if (pa != pb) return pa < pb;
      i = ie, j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i, ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

// FCN-8s's two 4x4 upsamplings have equal shapes, so only their order tells them apart, which a
// safetensors file (keys sorted) does not keep. The second one upsamples the pool4 fusion, and
// the known layouts say so in its name (pytorch-fcn's upscore_pool4, the lecture's
// up_score_conv4_5); without such a name the sorted order stands, and a note says so.
void order_fcn8s_upsamplings(std::vector<Layer*>& up4, std::vector<std::string>& notes) {
  auto after_pool4 = [](const Layer* l) {
    const std::string& n = l->weight.name;
    return n.find("pool4") != std::string::npos || n.find("conv4") != std::string::npos;
  };
  if (after_pool4(up4[0]) && !after_pool4(up4[1])) {
    std::swap(up4[0], up4[1]);
  } else if (after_pool4(up4[0]) == after_pool4(up4[1])) {
    notes.push_back(fmt::format(
        "assumed '{}' upsamples score_fr and '{}' the pool4 fusion: their shapes are equal and a "
        "safetensors file keeps no order; if it is the other way round, convert the torch.save "
        "state dict instead",
        printable(up4[0]->weight.name), printable(up4[1]->weight.name)));
  }
}

}  // namespace

detail::ModelData build_fcn(io::Checkpoint checkpoint, const ConvertOptions& options) {
  std::vector<io::NamedTensor>& tensors = checkpoint.tensors;
  // A torch state dict keeps registration order; safetensors writers sort keys, which only the
  // numbers inside the names can undo.
  if (checkpoint.format == "safetensors") {
    std::stable_sort(tensors.begin(), tensors.end(),
                     [](const io::NamedTensor& a, const io::NamedTensor& b) {
                       return natural_less(a.name, b.name);
                     });
  }
  const std::string& arch = options.arch;
  if (arch != "auto" && arch != "fcn32s" && arch != "fcn16s" && arch != "fcn8s" &&
      arch != "fcn8s-atonce" && arch != "vgg16") {
    throw Error(fmt::format("unknown --arch '{}' (auto, fcn32s, fcn16s, fcn8s, fcn8s-atonce, "
                            "vgg16)",
                            arch));
  }
  const FcnHints hints(checkpoint);
  std::vector<Layer> layers = group_layers(tensors);
  detail::ModelData model;
  GraphBuilder b(model);
  std::vector<Layer> backbone;
  const std::vector<int64_t> pooled = take_backbone(layers, backbone);
  // A classifier's fully connected layers (rank-2 weights) mark a VGG16, wherever they sort.
  const bool linear_head = std::any_of(layers.begin(), layers.end(), [](const Layer& l) {
    return l.weight.shape.size() == 2;
  });
  if (arch == "vgg16" || (arch == "auto" && linear_head)) {
    add_backbone(b, backbone, 1, false);
    add_vgg16_classifier(b, layers, pooled[4]);
    model.arch = "vgg16";
    model.graph.outputs = {"fc8"};
    model.preprocess = Preprocess{};  // torchvision: RGB / 255, ImageNet mean and std
    model.input_multiple = 32;
    model.min_input = 224;  // pool5 must hold fc6's 7x7 window
  } else {
    auto [fc6, fc7, score_fr] = take_fc_layers(layers, pooled[4]);
    const int64_t classes = score_fr.dim(0);
    // Heads: 1x1 skip scores over pool3 / pool4, and class-to-class upsampling layers.
    std::vector<Layer*> score_pool3, score_pool4, up4, up16, up32, up64;
    bool biased_upsampling = false;
    for (Layer& l : layers) {
      if (l.weight.shape.size() == 4 && l.dim(0) == classes && l.dim(2) == 1 && l.dim(3) == 1 &&
          l.bias) {
        // pytorch-fcn registers score_pool3 before score_pool4, which decides equal widths.
        if (l.dim(1) == pooled[2] && score_pool3.empty()) {
          score_pool3.push_back(&l);
        } else if (l.dim(1) == pooled[3]) {
          score_pool4.push_back(&l);
        } else {
          misfit(l, fmt::format("a 1x1 skip score over pool3 ({} channels) or pool4 ({})",
                                pooled[2], pooled[3]));
        }
        continue;
      }
      const bool square = l.weight.shape.size() == 4 && l.dim(2) == l.dim(3);
      if (square && l.dim(0) == classes && l.dim(1) == classes) {
        biased_upsampling = biased_upsampling || l.bias;
        switch (l.dim(2)) {
          case 4: up4.push_back(&l); continue;
          case 16: up16.push_back(&l); continue;
          case 32: up32.push_back(&l); continue;
          case 64: up64.push_back(&l); continue;
          default: break;
        }
      }
      misfit(l, fmt::format("an FCN head: a 1x1 skip score to {} classes, or a {}x{} upsampling "
                            "kernel of size 4, 16, 32 or 64", classes, classes, classes));
    }
    // FCN-16s has one skip (pool4); with a single 1x1 skip layer it is the pool4 one even when
    // pool3 and pool4 have equal widths.
    if (score_pool3.size() == 1 && score_pool4.empty() && up32.size() == 1) {
      std::swap(score_pool3, score_pool4);
    }
    std::string found;
    if (up64.size() == 1 && score_pool3.empty() && score_pool4.empty() && up4.empty() &&
        up16.empty() && up32.empty()) {
      found = "fcn32s";
    } else if (up4.size() == 1 && up32.size() == 1 && score_pool4.size() == 1 &&
               score_pool3.empty() && up16.empty() && up64.empty()) {
      found = "fcn16s";
    } else if (up4.size() == 2 && up16.size() == 1 && score_pool3.size() == 1 &&
               score_pool4.size() == 1 && up32.empty() && up64.empty()) {
      found = "fcn8s";
    } else {
      throw Error(fmt::format(
          "the heads after score_fr match no FCN: {} pool3 and {} pool4 skip scores, upsampling "
          "kernels {} x4, {} x16, {} x32, {} x64 (FCN-32s: one 64; FCN-16s: pool4, 4, 32; "
          "FCN-8s: pool3, pool4, 4, 4, 16)",
          score_pool3.size(), score_pool4.size(), up4.size(), up16.size(), up32.size(),
          up64.size()));
    }
    if (found == "fcn8s" && checkpoint.format == "safetensors") {
      order_fcn8s_upsamplings(up4, model.notes);
    }
    if (arch != "auto" && arch != found && !(arch == "fcn8s-atonce" && found == "fcn8s")) {
      throw Error(fmt::format("the checkpoint holds an {}, not the requested --arch {}", found, arch));
    }
    const Layout layout = choose_layout(options, hints, backbone[0], fc6, biased_upsampling,
                                        found == "fcn8s", model.notes);
    const bool caffe = layout.caffe;
    add_backbone(b, backbone, caffe ? 100 : 1, true);
    const auto fc6_pad = hints.pair(fc6.weight.name, "padding");
    std::string x = b.conv("fc6", "pool5", fc6, fc6_pad ? (*fc6_pad)[0] : caffe ? 0 : fc6.dim(2) / 2,
                           layout.fc_relu);
    x = b.conv("fc7", x, fc7, 0, layout.fc_relu);
    x = b.conv("score_fr", x, score_fr, 0, false);
    auto upsample = [&](const char* name, const std::string& in, Layer& l) {
      const auto [stride, pad] = upsampling_geometry(hints, l, caffe);
      return b.upsample(name, in, l, stride, pad);
    };
    if (found == "fcn32s") {
      x = upsample("upscore", x, *up64[0]);
      b.crop("score", "crop", x, "image", caffe ? 19 : 0);
    } else if (found == "fcn16s") {
      x = upsample("upscore2", x, *up4[0]);
      const std::string s4 = b.conv("score_pool4", "pool4", *score_pool4[0], 0, false);
      x = b.crop("fuse_pool4", "crop_add", s4, x, caffe ? 5 : 0);
      x = upsample("upscore16", x, *up32[0]);
      b.crop("score", "crop", x, "image", caffe ? 27 : 0);
    } else {
      x = upsample("upscore2", x, *up4[0]);
      const std::string pool4 = layout.at_once ? b.scale("scale_pool4", "pool4", 0.01f) : "pool4";
      const std::string s4 = b.conv("score_pool4", pool4, *score_pool4[0], 0, false);
      x = b.crop("fuse_pool4", "crop_add", s4, x, caffe ? 5 : 0);
      x = upsample("upscore_pool4", x, *up4[1]);
      const std::string pool3 = layout.at_once ? b.scale("scale_pool3", "pool3", 0.0001f) : "pool3";
      const std::string s3 = b.conv("score_pool3", pool3, *score_pool3[0], 0, false);
      x = b.crop("fuse_pool3", "crop_add", s3, x, caffe ? 9 : 0);
      x = upsample("upscore8", x, *up16[0]);
      b.crop("score", "crop", x, "image", caffe ? 31 : 0);
      if (layout.at_once) found = "fcn8s-atonce";
    }
    model.arch = found;
    model.graph.outputs = {"score"};
    if (!caffe) model.input_multiple = 32;  // upsampling must land exactly on each skip's size
    if (fc6.dim(2) == 1 || biased_upsampling) {
      // The lecture's FCN starts from torchvision's VGG16: ImageNet normalisation.
      model.preprocess = Preprocess{};
      model.notes.push_back(
          "preprocessing: torchvision's (RGB / 255, ImageNet mean and std), as for the lecture's "
          "FCN on torchvision's VGG16; --mean, --std, --scale and --bgr set others");
    } else {
      // pytorch-fcn / Caffe: BGR, 0..255, mean subtracted, no std.
      model.preprocess.bgr = true;
      model.preprocess.scale = 1.0f;
      model.preprocess.mean = {104.00698793f, 116.66876762f, 122.67891434f};
      model.preprocess.std = {1.0f, 1.0f, 1.0f};
    }
  }
  detail::finish_model(model, options.num_classes, "checkpoint");
  return model;
}

}  // namespace vkseg::graph
