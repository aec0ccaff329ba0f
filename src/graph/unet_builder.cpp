#include "graph/unet_builder.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "graph/net_builder.hpp"
#include "vkseg/error.hpp"

namespace vkseg::graph {

namespace {

constexpr double k_eps = 1e-5;  // nn.BatchNorm2d's default

// DoubleConv: (3x3 conv without bias, BN, ReLU) twice.
std::string double_conv(NetBuilder& b, const std::string& p, const std::string& x) {
  std::string y = x;
  for (const char* i : {"0", "3"}) {
    const std::string conv = fmt::format("{}.double_conv.{}", p, i);
    const std::string bn = fmt::format("{}.double_conv.{}", p, i[0] == '0' ? "1" : "4");
    y = b.batch_norm(bn, b.conv(conv, y, 1, 1), k_eps);
    y = b.node(bn + ".relu", "relu", {y});
  }
  return y;
}

}  // namespace

bool looks_like_unet(const io::Checkpoint& checkpoint) {
  return io::has_tensor_prefix(checkpoint, "inc.double_conv.") &&
         io::has_tensor_prefix(checkpoint, "outc.");
}

detail::ModelData build_unet(io::Checkpoint checkpoint) {
  const std::vector<std::string> ignored = checkpoint.ignored;
  NetBuilder b(std::move(checkpoint), "U-Net (milesial/Pytorch-UNet)");
  std::vector<std::string> skips{double_conv(b, "inc", "image")};
  int depth = 0;
  while (b.has(fmt::format("down{}.maxpool_conv.1.double_conv.0.weight", depth + 1))) {
    const std::string p = fmt::format("down{}", ++depth);
    const std::string pooled = b.node(p + ".maxpool_conv.0", "max_pool2d", {skips.back()},
                                      {{"kernel", Ints{2, 2}}, {"stride", Ints{2, 2}}});
    skips.push_back(double_conv(b, p + ".maxpool_conv.1", pooled));
  }
  if (depth == 0) throw Error("the U-Net checkpoint has no 'down1.maxpool_conv.1' block");
  std::string x = skips.back();
  for (int i = 1; i <= depth; ++i) {
    const std::string p = fmt::format("up{}", i);
    const std::string& skip = skips[size_t(depth - i)];
    // Transposed (2x2, stride 2) or bilinear upsampling, as the checkpoint's up.weight says.
    const std::string up =
        b.has(p + ".up.weight")
            ? b.conv_transpose(p + ".up", x, 2)
            : b.node(p + ".up", "resize", {x},
                     {{"mode", std::string("linear")},
                      {"coordinate_transformation", std::string("align_corners")},
                      {"scale", Floats{2.0, 2.0}}});
    // F.pad to the skip's size (half the difference before, the rest after), then
    // torch.cat([skip, upsampled]).
    const std::string padded = b.node(p + ".pad", "pad", {up, skip});
    x = double_conv(b, p + ".conv", b.node(p + ".cat", "concat", {skip, padded}));
  }
  const std::string out = b.conv("outc.conv", x);
  detail::ModelData model;
  b.finish(model, out);
  model.arch = "unet";
  if (!ignored.empty()) {
    model.notes.push_back(fmt::format("ignored the state dict's non-tensor entries: {}",
                                      fmt::format("{}", fmt::join(ignored, ", "))));
  }
  // Pytorch-UNet's BasicDataset: RGB scaled to 0..1, no mean or std.
  model.preprocess.scale = 1.0f / 255.0f;
  model.preprocess.mean = {0.0f, 0.0f, 0.0f};
  model.preprocess.std = {1.0f, 1.0f, 1.0f};
  return model;
}

}  // namespace vkseg::graph
