#include "graph/front_ends.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "graph/torchvision_builder.hpp"
#include "graph/unet_builder.hpp"
#include "vkseg/error.hpp"

namespace vkseg::graph {

namespace {

enum class FrontEnd { Fcn, Torchvision, Unet };

FrontEnd front_end_of(const std::string& arch) {
  if (arch == "unet") return FrontEnd::Unet;
  for (const char* prefix : {"fcn_resnet", "deeplabv3_", "lraspp_"}) {
    if (arch.rfind(prefix, 0) == 0) return FrontEnd::Torchvision;
  }
  return FrontEnd::Fcn;
}

}  // namespace

}  // namespace vkseg::graph

namespace vkseg {

const std::vector<ArchInfo>& supported_archs() {
  static const std::vector<ArchInfo> archs{
      {"auto", "recognised from the checkpoint (the default)"},
      {"fcn32s", "FCN-32s on VGG16 (pytorch-fcn, the lecture's FCN, any naming)"},
      {"fcn16s", "FCN-16s on VGG16"},
      {"fcn8s", "FCN-8s on VGG16"},
      {"fcn8s-atonce", "pytorch-fcn's FCN8sAtOnce (FCN-8s with pool4 x 0.01, pool3 x 0.0001)"},
      {"vgg16", "torchvision's VGG16 classifier as a fully convolutional score map"},
      {"fcn_resnet50", "torchvision's FCN, ResNet-50 backbone"},
      {"fcn_resnet101", "torchvision's FCN, ResNet-101 backbone"},
      {"deeplabv3_resnet50", "torchvision's DeepLabv3, ResNet-50 backbone"},
      {"deeplabv3_resnet101", "torchvision's DeepLabv3, ResNet-101 backbone"},
      {"deeplabv3_mobilenet_v3_large", "torchvision's DeepLabv3, MobileNetV3-Large backbone"},
      {"lraspp_mobilenet_v3_large", "torchvision's LR-ASPP, MobileNetV3-Large backbone"},
      {"unet", "U-Net in milesial/Pytorch-UNet's layout (transposed or bilinear upsampling)"},
  };
  return archs;
}

}  // namespace vkseg

namespace vkseg::graph {

detail::ModelData build_model(io::Checkpoint checkpoint, const ConvertOptions& options) {
  const auto& archs = supported_archs();
  if (std::none_of(archs.begin(), archs.end(),
                   [&](const ArchInfo& a) { return a.name == options.arch; })) {
    std::vector<std::string> names;
    for (const ArchInfo& a : archs) names.push_back(a.name);
    throw Error(fmt::format("unknown --arch '{}' ({})", options.arch, fmt::join(names, ", ")));
  }
  FrontEnd front_end = front_end_of(options.arch);
  if (options.arch == "auto") {
    front_end = looks_like_torchvision(checkpoint) ? FrontEnd::Torchvision
                : looks_like_unet(checkpoint)      ? FrontEnd::Unet
                                                   : FrontEnd::Fcn;
  }
  if (front_end == FrontEnd::Fcn) return build_fcn(std::move(checkpoint), options);
  detail::ModelData model = front_end == FrontEnd::Unet
                                ? build_unet(std::move(checkpoint))
                                : build_torchvision(std::move(checkpoint), options.arch);
  detail::finish_model(model, options.num_classes, "checkpoint");
  return model;
}

}  // namespace vkseg::graph
