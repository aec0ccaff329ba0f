#include "graph/fcn_builder.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <numeric>

namespace vkseg::graph {

namespace {

// One parameterised layer of the checkpoint: a weight and its bias, if it has one.
struct Layer {
  io::NamedTensor weight;
  std::optional<io::NamedTensor> bias;
  int64_t dim(size_t i) const { return weight.shape[i]; }
  std::string describe() const {
    return fmt::format("tensor '{}' ({})", weight.name, fmt::join(weight.shape, "x"));
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
                              "VGG16 FCN (batch norm and other layers are not supported)",
                              t.name, t.shape.size()));
    }
  }
  for (auto [bias, preceding] : biases) {
    const auto same_module = layer_of_module.find(module_prefix(bias->name));
    const size_t index = same_module != layer_of_module.end() ? same_module->second : preceding;
    if (index == SIZE_MAX || layers[index].bias ||
        layers[index].weight.shape[0] != bias->shape[0]) {
      throw Error(fmt::format("tensor '{}' ({} values) is the bias of no layer", bias->name,
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
  GraphBuilder(detail::ModelData& model) : model_(model) { model_.graph.input = "image"; }

  std::string conv(const std::string& name, const std::string& input, Layer& l, int64_t pad,
                   bool relu) {
    Node n = make_node(name, "conv2d", {input});
    n.attrs["pads"] = Ints{pad, pad, pad, pad};
    if (relu) n.attrs["activation"] = std::string("relu");
    add_weights(n, l);
    model_.graph.nodes.push_back(std::move(n));
    return name;
  }

  std::string upsample(const std::string& name, const std::string& input, Layer& l, bool caffe) {
    const int64_t k = l.dim(2), pad = caffe ? 0 : k / 4;
    Node n = make_node(name, "conv_transpose2d", {input});
    n.attrs["stride"] = Ints{k / 2, k / 2};
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

// Adds conv1_1 ... pool5; returns the channel count after each pool (pool1..pool5).
std::vector<int64_t> add_backbone(GraphBuilder& b, std::vector<Layer>& layers, bool caffe_pad,
                                  bool ceil, uint32_t& input_channels) {
  // The backbone is the first 13 3x3 convolutions; heads may be registered (or sorted) among them.
  std::vector<Layer> rest, backbone;
  for (Layer& l : layers) {
    const bool conv3x3 = l.weight.shape.size() == 4 && l.dim(2) == 3 && l.dim(3) == 3;
    (conv3x3 && backbone.size() < 13 ? backbone : rest).push_back(std::move(l));
  }
  if (backbone.size() < 13) {
    throw Error(fmt::format("found {} 3x3 convolutions; a VGG16 backbone has 13", backbone.size()));
  }
  layers = std::move(backbone);
  const int64_t in0 = layers[0].weight.shape.size() == 4 ? layers[0].dim(1) : 0;
  if (in0 != 1 && in0 != 3) misfit(layers[0], "conv1_1: a 3x3 convolution over 1 or 3 channels");
  input_channels = uint32_t(in0);
  std::vector<int64_t> pooled;
  std::string x = "image";
  int64_t channels = in0;
  size_t li = 0;
  for (int block = 0; block < 5; ++block) {
    for (int j = 0; j < k_block_sizes[block]; ++j, ++li) {
      const std::string name = fmt::format("conv{}_{}", block + 1, j + 1);
      require_conv(layers[li], channels, 3, true, name);
      x = b.conv(name, x, layers[li], li == 0 && caffe_pad ? 100 : 1, true);
      channels = layers[li].dim(0);
    }
    x = b.pool(fmt::format("pool{}", block + 1), x, ceil);
    pooled.push_back(channels);
  }
  layers = std::move(rest);
  return pooled;
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

}  // namespace

detail::ModelData build_fcn(io::Checkpoint checkpoint, const FcnOptions& options) {
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
      arch != "vgg16") {
    throw Error(fmt::format("unknown --arch '{}' (auto, fcn32s, fcn16s, fcn8s, vgg16)", arch));
  }
  std::vector<Layer> layers = group_layers(tensors);
  detail::ModelData model;
  GraphBuilder b(model);
  // A classifier's fully connected layers (rank-2 weights) mark a VGG16, wherever they sort.
  const bool linear_head = std::any_of(layers.begin(), layers.end(), [](const Layer& l) {
    return l.weight.shape.size() == 2;
  });
  if (arch == "vgg16" || (arch == "auto" && linear_head)) {
    const auto pooled = add_backbone(b, layers, false, false, model.input_channels);
    add_vgg16_classifier(b, layers, pooled[4]);
    model.arch = "vgg16";
    model.graph.outputs = {"fc8"};
    model.preprocess = Preprocess{};  // torchvision: RGB / 255, ImageNet mean and std
    model.input_multiple = 32;
    model.min_input = 224;  // pool5 must hold fc6's 7x7 window
  } else {
    const bool caffe = options.caffe_padding;
    const auto pooled = add_backbone(b, layers, caffe, true, model.input_channels);
    // fc6 is the layer over pool5's channels with a kernel wider than 1; fc7 the first 1x1 layer
    // over fc6's outputs; score_fr the next 1x1 layer over fc7's outputs.
    auto take = [&](auto&& fits, const std::string& what) {
      for (size_t i = 0; i < layers.size(); ++i) {
        if (layers[i].weight.shape.size() == 4 && layers[i].bias && fits(layers[i])) {
          Layer l = std::move(layers[i]);
          layers.erase(layers.begin() + long(i));
          return l;
        }
      }
      throw Error(fmt::format("no tensor fits {}", what));
    };
    Layer fc6 = take([&](const Layer& l) { return l.dim(1) == pooled[4] && l.dim(2) > 1 &&
                                                  l.dim(2) == l.dim(3); },
                     fmt::format("fc6 (a square convolution over pool5's {} channels)", pooled[4]));
    Layer fc7 = take([&](const Layer& l) { return l.dim(1) == fc6.dim(0) && l.dim(2) == 1 &&
                                                  l.dim(3) == 1; },
                     fmt::format("fc7 (a 1x1 convolution over fc6's {} channels)", fc6.dim(0)));
    Layer score_fr = take([&](const Layer& l) { return l.dim(1) == fc7.dim(0) && l.dim(2) == 1 &&
                                                       l.dim(3) == 1; },
                          fmt::format("score_fr (a 1x1 convolution over fc7's {} channels)",
                                      fc7.dim(0)));
    std::string x = b.conv("fc6", "pool5", fc6, caffe ? 0 : fc6.dim(2) / 2, options.fc_relu);
    x = b.conv("fc7", x, fc7, 0, options.fc_relu);
    const int64_t classes = score_fr.dim(0);
    x = b.conv("score_fr", x, score_fr, 0, false);

    // Heads: 1x1 skip scores over pool3 / pool4, and class-to-class upsampling layers.
    std::vector<Layer*> score_pool3, score_pool4, up4, up16, up32, up64;
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
      if (square && l.dim(0) == classes && l.dim(1) == classes && !l.bias) {
        switch (l.dim(2)) {
          case 4: up4.push_back(&l); continue;
          case 16: up16.push_back(&l); continue;
          case 32: up32.push_back(&l); continue;
          case 64: up64.push_back(&l); continue;
          default: break;
        }
      }
      misfit(l, fmt::format("an FCN head: a 1x1 skip score to {} classes, or a {}x{} upsampling "
                            "kernel of size 4, 16, 32 or 64 without bias", classes, classes, classes));
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
      x = b.upsample("upscore", x, *up64[0], caffe);
      b.crop("score", "crop", x, "image", caffe ? 19 : 0);
    } else if (up4.size() == 1 && up32.size() == 1 && score_pool4.size() == 1 &&
               score_pool3.empty() && up16.empty() && up64.empty()) {
      found = "fcn16s";
      x = b.upsample("upscore2", x, *up4[0], caffe);
      const std::string s4 = b.conv("score_pool4", "pool4", *score_pool4[0], 0, false);
      x = b.crop("fuse_pool4", "crop_add", s4, x, caffe ? 5 : 0);
      x = b.upsample("upscore16", x, *up32[0], caffe);
      b.crop("score", "crop", x, "image", caffe ? 27 : 0);
    } else if (up4.size() == 2 && up16.size() == 1 && score_pool3.size() == 1 &&
               score_pool4.size() == 1 && up32.empty() && up64.empty()) {
      found = "fcn8s";
      x = b.upsample("upscore2", x, *up4[0], caffe);
      const std::string s4 = b.conv("score_pool4", "pool4", *score_pool4[0], 0, false);
      x = b.crop("fuse_pool4", "crop_add", s4, x, caffe ? 5 : 0);
      x = b.upsample("upscore_pool4", x, *up4[1], caffe);
      const std::string s3 = b.conv("score_pool3", "pool3", *score_pool3[0], 0, false);
      x = b.crop("fuse_pool3", "crop_add", s3, x, caffe ? 9 : 0);
      x = b.upsample("upscore8", x, *up16[0], caffe);
      b.crop("score", "crop", x, "image", caffe ? 31 : 0);
    } else {
      throw Error(fmt::format(
          "the heads after score_fr match no FCN: {} pool3 and {} pool4 skip scores, upsampling "
          "kernels {} x4, {} x16, {} x32, {} x64 (FCN-32s: one 64; FCN-16s: pool4, 4, 32; "
          "FCN-8s: pool3, pool4, 4, 4, 16)",
          score_pool3.size(), score_pool4.size(), up4.size(), up16.size(), up32.size(),
          up64.size()));
    }
    if (arch != "auto" && arch != found) {
      throw Error(fmt::format("the checkpoint holds an {}, not the requested --arch {}", found, arch));
    }
    model.arch = found;
    model.graph.outputs = {"score"};
    if (!caffe) model.input_multiple = 32;  // upsampling must land exactly on each skip's size
    // pytorch-fcn / Caffe: BGR, 0..255, mean subtracted, no std.
    model.preprocess.bgr = true;
    model.preprocess.scale = 1.0f;
    model.preprocess.mean = {104.00698793f, 116.66876762f, 122.67891434f};
    model.preprocess.std = {1.0f, 1.0f, 1.0f};
  }
  const auto& out_weight = model.weights.at(model.arch == "vgg16" ? "fc8.weight" : "score_fr.weight");
  const uint32_t classes = uint32_t(out_weight.shape[0]);
  if (options.num_classes && *options.num_classes != classes) {
    throw Error(fmt::format("the checkpoint scores {} classes, not the {} given by --num-classes",
                            classes, *options.num_classes));
  }
  model.classes = detail::default_classes(classes);
  detail::validate_model(model);  // fills in default attributes; a bug here is caught now
  return model;
}

}  // namespace vkseg::graph
