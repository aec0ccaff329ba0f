// torchvision's segmentation networks from their state dicts, by torchvision's stable module
// names: FCN and DeepLabv3 on a dilated ResNet (output stride 8), DeepLabv3 and LR-ASPP on a
// dilated MobileNetV3-Large (output stride 16). Strides, dilations, activations and batch-norm
// epsilons are the family's (torchvision 0.14's builders); channel counts come from the tensors
// and are checked against the layout as each layer is added.
#include "graph/torchvision_builder.hpp"

#include <fmt/format.h>

#include "graph/net_builder.hpp"
#include "vkseg/error.hpp"

namespace vkseg::graph {

namespace {

constexpr double k_resnet_eps = 1e-5;     // nn.BatchNorm2d's default
constexpr double k_mobilenet_eps = 1e-3;  // MobileNetV3's norm_layer
constexpr double k_head_eps = 1e-5;

std::string conv_bn(NetBuilder& b, const std::string& conv, const std::string& bn,
                    const std::string& input, double eps, int64_t stride = 1, int64_t pad = 0,
                    int64_t dilation = 1, int64_t groups = 1) {
  return b.batch_norm(bn, b.conv(conv, input, stride, pad, dilation, groups), eps);
}

std::string relu(NetBuilder& b, const std::string& input) {
  return b.node(input + ".relu", "relu", {input});
}

// ---------------------------------------------------------------------------------------------
// ResNet with replace_stride_with_dilation = [False, True, True].

int blocks_of(const NetBuilder& b, const std::string& layer) {
  int n = 0;
  while (b.has(fmt::format("{}.{}.conv1.weight", layer, n))) ++n;
  if (n == 0) throw Error(fmt::format("the checkpoint has no '{}.0.conv1.weight'", layer));
  return n;
}

std::string resnet(NetBuilder& b, int& layer3_blocks) {
  std::string x = conv_bn(b, "backbone.conv1", "backbone.bn1", "image", k_resnet_eps, 2, 3);
  x = relu(b, x);
  x = b.node("backbone.maxpool", "max_pool2d", {x},
             {{"kernel", Ints{3, 3}}, {"stride", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}});
  int64_t dilation = 1;
  for (int layer = 1; layer <= 4; ++layer) {
    const std::string name = fmt::format("backbone.layer{}", layer);
    int64_t stride = layer == 1 ? 1 : 2;
    const int64_t previous_dilation = dilation;
    if (layer >= 3) dilation *= stride, stride = 1;  // dilated instead of strided
    const int blocks = blocks_of(b, name);
    if (layer == 3) layer3_blocks = blocks;
    for (int i = 0; i < blocks; ++i) {
      const std::string p = fmt::format("{}.{}", name, i);
      const int64_t s = i == 0 ? stride : 1, d = i == 0 ? previous_dilation : dilation;
      if (b.shape(p + ".conv2.weight").size() != 4 || b.shape(p + ".conv2.weight")[2] != 3) {
        throw Error(fmt::format("'{}.conv2.weight' is not a 3x3 convolution, as a {} bottleneck "
                                "has",
                                p, b.family()));
      }
      std::string y = relu(b, conv_bn(b, p + ".conv1", p + ".bn1", x, k_resnet_eps));
      y = relu(b, conv_bn(b, p + ".conv2", p + ".bn2", y, k_resnet_eps, s, d, d));
      y = conv_bn(b, p + ".conv3", p + ".bn3", y, k_resnet_eps);
      const std::string identity =
          b.has(p + ".downsample.0.weight")
              ? conv_bn(b, p + ".downsample.0", p + ".downsample.1", x, k_resnet_eps, s)
              : x;
      x = b.node(p + ".add", "add", {y, identity}, {{"activation", std::string("relu")}});
    }
  }
  return x;
}

// ---------------------------------------------------------------------------------------------
// MobileNetV3-Large, dilated (torchvision's _mobilenet_v3_conf with dilated=True): per inverted
// residual block its activation (hard-swish or ReLU), stride and dilation; channels, kernels
// and squeeze-and-excitation come from the tensors.

struct BlockConfig {
  bool hard_swish;
  int64_t stride, dilation;
};
constexpr BlockConfig k_mobilenet_v3_large[] = {
    {false, 1, 1}, {false, 2, 1}, {false, 1, 1}, {false, 2, 1}, {false, 1, 1},
    {false, 1, 1}, {true, 2, 1},  {true, 1, 1},  {true, 1, 1},  {true, 1, 1},
    {true, 1, 1},  {true, 1, 1},  {true, 2, 2},  {true, 1, 2},  {true, 1, 2}};

std::string activation(NetBuilder& b, const std::string& input, bool hard_swish) {
  return b.node(input + (hard_swish ? ".hardswish" : ".relu"), hard_swish ? "hard_swish" : "relu",
                {input});
}

// Returns the output of every block (features[0..16]).
std::vector<std::string> mobilenet_v3_large(NetBuilder& b) {
  std::vector<std::string> features;
  std::string x = conv_bn(b, "backbone.0.0", "backbone.0.1", "image", k_mobilenet_eps, 2, 1);
  features.push_back(x = activation(b, x, true));
  for (int i = 1; i <= 15; ++i) {
    const BlockConfig& cfg = k_mobilenet_v3_large[i - 1];
    const std::string p = fmt::format("backbone.{}.block", i);
    // Sub-modules in order: [expand 1x1,] depthwise, [squeeze-excitation,] project 1x1. The
    // expansion exists where it widens, and is the only 1x1 convolution before the depthwise one.
    int layer = 0;
    std::string y = x;
    const std::vector<int64_t>& first = b.shape(p + ".0.0.weight");
    const int64_t in = first.size() == 4 && first[2] == 1 ? first[1] : first[0];
    if (first.size() == 4 && first[2] == 1) {
      const std::string e = fmt::format("{}.{}", p, layer++);
      y = activation(b, conv_bn(b, e + ".0", e + ".1", y, k_mobilenet_eps), cfg.hard_swish);
    }
    const std::string dw = fmt::format("{}.{}", p, layer++);
    const std::vector<int64_t>& dw_shape = b.shape(dw + ".0.weight");
    if (dw_shape.size() != 4 || dw_shape[1] != 1) {
      throw Error(fmt::format("'{}.0.weight' ({}x{}) is not the depthwise convolution a {} "
                              "has there",
                              dw, dw_shape[0], dw_shape.size() > 1 ? dw_shape[1] : 0, b.family()));
    }
    const int64_t k = dw_shape[2], stride = cfg.dilation > 1 ? 1 : cfg.stride;
    y = conv_bn(b, dw + ".0", dw + ".1", y, k_mobilenet_eps, stride, (k - 1) / 2 * cfg.dilation,
                cfg.dilation, dw_shape[0]);
    y = activation(b, y, cfg.hard_swish);
    if (b.has(fmt::format("{}.{}.fc1.weight", p, layer))) {
      const std::string se = fmt::format("{}.{}", p, layer++);
      std::string s = b.node(se + ".avgpool", "global_avg_pool", {y});
      s = relu(b, b.conv(se + ".fc1", s));
      s = b.node(se + ".hardsigmoid", "hard_sigmoid", {b.conv(se + ".fc2", s)},
                 {{"alpha", 1.0 / 6.0}, {"beta", 0.5}});
      y = b.node(se + ".scale", "mul", {y, s});
    }
    const std::string pr = fmt::format("{}.{}", p, layer);
    y = conv_bn(b, pr + ".0", pr + ".1", y, k_mobilenet_eps);
    const int64_t out = b.shape(pr + ".0.weight")[0];
    x = cfg.stride == 1 && in == out ? b.node(p + ".add", "add", {y, x}) : y;
    features.push_back(x);
  }
  x = conv_bn(b, "backbone.16.0", "backbone.16.1", x, k_mobilenet_eps);
  features.push_back(activation(b, x, true));
  return features;
}

// ---------------------------------------------------------------------------------------------
// Heads.

// FCNHead: 3x3 conv (no bias), BN, ReLU, dropout, 1x1 conv.
std::string fcn_head(NetBuilder& b, const std::string& x) {
  std::string y = relu(b, conv_bn(b, "classifier.0", "classifier.1", x, k_head_eps, 1, 1));
  return b.conv("classifier.4", y);
}

// DeepLabHead: ASPP (1x1, three atrous 3x3 at 12, 24, 36, image pooling), concat, projection,
// then 3x3 conv, BN, ReLU, 1x1 conv.
std::string deeplab_head(NetBuilder& b, const std::string& x) {
  const std::string a = "classifier.0";
  std::vector<std::string> branches;
  branches.push_back(relu(b, conv_bn(b, a + ".convs.0.0", a + ".convs.0.1", x, k_head_eps)));
  const int64_t rates[] = {12, 24, 36};
  for (int i = 1; i <= 3; ++i) {
    const std::string c = fmt::format("{}.convs.{}", a, i);
    branches.push_back(
        relu(b, conv_bn(b, c + ".0", c + ".1", x, k_head_eps, 1, rates[i - 1], rates[i - 1])));
  }
  const std::string pool = a + ".convs.4";
  std::string p = b.node(pool + ".0", "global_avg_pool", {x});
  p = relu(b, conv_bn(b, pool + ".1", pool + ".2", p, k_head_eps));
  branches.push_back(b.node(pool + ".upsample", "resize", {p, x},
                            {{"mode", std::string("linear")},
                             {"coordinate_transformation", std::string("half_pixel")}}));
  std::string y = b.node(a + ".concat", "concat", branches);
  y = relu(b, conv_bn(b, a + ".project.0", a + ".project.1", y, k_head_eps));
  y = relu(b, conv_bn(b, "classifier.1", "classifier.2", y, k_head_eps, 1, 1));
  return b.conv("classifier.4", y);
}

// LR-ASPP: cbr(high) * sigmoid(conv(pool(high))), upsampled to the low-level map, classified,
// plus the low-level classifier.
std::string lraspp_head(NetBuilder& b, const std::string& low, const std::string& high) {
  std::string x = relu(b, conv_bn(b, "classifier.cbr.0", "classifier.cbr.1", high, k_head_eps));
  std::string s = b.node("classifier.scale.0", "global_avg_pool", {high});
  s = b.node("classifier.scale.2", "sigmoid", {b.conv("classifier.scale.1", s)});
  x = b.node("classifier.gate", "mul", {x, s});
  x = b.node("classifier.upsample", "resize", {x, low},
             {{"mode", std::string("linear")},
              {"coordinate_transformation", std::string("half_pixel")}});
  return b.node("classifier.add", "add",
                {b.conv("classifier.low_classifier", low), b.conv("classifier.high_classifier", x)});
}

}  // namespace

bool looks_like_torchvision(const io::Checkpoint& checkpoint) {
  return io::has_tensor_prefix(checkpoint, "backbone.") &&
         io::has_tensor_prefix(checkpoint, "classifier.");
}

detail::ModelData build_torchvision(io::Checkpoint checkpoint, const std::string& arch) {
  auto has = [&](const std::string& name) {
    for (const io::NamedTensor& t : checkpoint.tensors) {
      if (t.name == name) return true;
    }
    return false;
  };
  const bool resnet_backbone = has("backbone.layer1.0.conv1.weight");
  const bool mobilenet_backbone = has("backbone.1.block.0.0.weight");
  const std::string head = has("classifier.0.convs.0.0.weight") ? "deeplabv3"
                           : has("classifier.cbr.0.weight")     ? "lraspp"
                           : has("classifier.4.weight")         ? "fcn"
                                                                : "";
  if ((!resnet_backbone && !mobilenet_backbone) || head.empty() ||
      (head == "lraspp" && !mobilenet_backbone)) {
    throw Error(fmt::format("the checkpoint has torchvision's backbone and classifier names but "
                            "not one of its networks; {}",
                            k_torchvision_families));
  }
  detail::ModelData model;
  NetBuilder b(std::move(checkpoint), head + (resnet_backbone ? "_resnet" : "_mobilenet_v3_large"));
  const size_t aux = b.skip("aux_classifier.");
  std::string logits;
  if (resnet_backbone) {
    int layer3_blocks = 0;
    const std::string features = resnet(b, layer3_blocks);
    model.arch = fmt::format("{}_resnet{}", head,
                             layer3_blocks == 6 ? "50" : layer3_blocks == 23 ? "101"
                                                       : std::to_string(layer3_blocks));
    logits = head == "fcn" ? fcn_head(b, features) : deeplab_head(b, features);
  } else {
    const std::vector<std::string> features = mobilenet_v3_large(b);
    model.arch = head + "_mobilenet_v3_large";
    // torchvision's stage_indices: C2 (output stride 8) is block 4, the last block C5.
    logits = head == "lraspp" ? lraspp_head(b, features[4], features[16])
                              : deeplab_head(b, features[16]);
  }
  b.node("upsample", "resize", {logits, "image"},
         {{"mode", std::string("linear")},
          {"coordinate_transformation", std::string("half_pixel")}});
  b.finish(model, "upsample");
  if (arch != "auto" && arch != model.arch) {
    throw Error(fmt::format("the checkpoint holds a {}, not the requested --arch {}", model.arch,
                            arch));
  }
  if (aux) {
    model.notes.push_back(fmt::format("the auxiliary classifier ({} tensors) is for training "
                                      "only and was left out",
                                      aux));
  }
  model.preprocess = Preprocess{};  // torchvision's: RGB / 255, ImageNet mean and std
  return model;
}

}  // namespace vkseg::graph
