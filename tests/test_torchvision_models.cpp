// torchvision's segmentation networks and U-Net from state dicts written by Debian's torchvision
// (tests/fixtures/make_torchvision_fixtures.py: random weights, randomised batch norms),
// converted and compared with PyTorch at 67x61 (no side a multiple of 8) and 64x72 with batch 2,
// at fp32 and fp16 (tolerances in parity.hpp).
#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "graph/front_ends.hpp"
#include "graph/model_data.hpp"
#include "graph/net_builder.hpp"
#include "io/checkpoint.hpp"
#include "parity.hpp"

namespace vkseg::test {
namespace {

namespace fs = std::filesystem;

const nlohmann::json& entry(const std::string& stem) {
  static const nlohmann::json all = [] {
    std::ifstream in(fixture_dir("torchvision") / "torchvision_manifest.json");
    return nlohmann::json::parse(in);
  }();
  for (const auto& e : all) {
    if (e["stem"] == stem) return e;
  }
  throw std::runtime_error("no fixture " + stem);
}

Model convert(const std::string& file, ConvertOptions options = {}) {
  detail::ModelData model = graph::build_model(
      io::read_checkpoint((fixture_dir("torchvision") / file).string()), options);
  const fs::path out = temp_dir() / (file + ".vkseg");
  detail::save_model(model, out.string());
  return Model::load(out.string());
}

class TorchvisionMatchesPyTorch : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchvisionMatchesPyTorch, AtTwoSizesAndBothPrecisions) {
  const std::string stem = GetParam();
  const nlohmann::json& e = entry(stem);
  const Model model = convert(e["files"][0].get<std::string>());
  EXPECT_EQ(model.arch(), e["arch"].get<std::string>());
  EXPECT_EQ(model.classes().size(), e["classes"].get<size_t>());
  for (const Precision precision : {Precision::Fp32, Precision::Fp16}) {
    if (precision == Precision::Fp16 && !context().info().fp16_storage) continue;
    for (const auto& in : e["inputs"]) {
      expect_parity(model, "input_" + in.get<std::string>() + ".npy",
                    stem + "_out_" + in.get<std::string>() + ".npy", precision,
                    fixture_dir("torchvision"));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, TorchvisionMatchesPyTorch,
                         ::testing::Values("fcn_resnet50", "fcn_resnet101", "deeplabv3_resnet50",
                                           "deeplabv3_resnet101", "deeplabv3_mobilenet_v3_large",
                                           "lraspp_mobilenet_v3_large", "deeplabv3_resnet50_aux11",
                                           "unet_transposed", "unet_bilinear"));

TEST(TorchvisionConvert, AuxiliaryClassifierIsLeftOutAndSaidSo) {
  const Model model = convert("deeplabv3_resnet50_aux11.pth");
  ASSERT_FALSE(model.notes().empty());
  EXPECT_NE(model.notes().front().find("auxiliary classifier"), std::string::npos);
  for (const auto& [name, w] : detail::ModelAccess::data(model).weights) {
    EXPECT_EQ(name.rfind("aux_classifier.", 0), std::string::npos) << name;
  }
}

TEST(TorchvisionConvert, UnetIgnoresMaskValuesAndSaysSo) {
  const Model model = convert("unet_bilinear.pth");
  ASSERT_FALSE(model.notes().empty());
  EXPECT_NE(model.notes().front().find("mask_values"), std::string::npos);
}

TEST(TorchvisionConvert, ErrorsNameTheKeyThatDoesNotFitAndTheFamilies) {
  io::Checkpoint checkpoint =
      io::read_checkpoint((fixture_dir("torchvision") / "lraspp_mobilenet_v3_large.pth").string());
  checkpoint.tensors.push_back({"classifier.extra.weight", {3, 3, 1, 1}, "float32",
                                std::vector<float>(9)});
  try {
    graph::build_model(checkpoint, {});
    ADD_FAILURE() << "an extra tensor was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("classifier.extra.weight"), std::string::npos) << e.what();
  }
  ConvertOptions wrong;
  wrong.arch = "deeplabv3_resnet50";
  try {
    graph::build_model(
        io::read_checkpoint((fixture_dir("torchvision") / "fcn_resnet50.pth").string()), wrong);
    ADD_FAILURE() << "an fcn_resnet50 converted as a deeplabv3_resnet50";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fcn_resnet50"), std::string::npos) << e.what();
  }
}

// Issue 10's batch-norm network of the new ops (OpsNet in the fixture script), its graph built
// here from its module names as an importer would, against PyTorch.
TEST(GraphEngine, BatchNormNetworkOfTheNewOpsMatchesPyTorch) {
  using graph::Ints;
  graph::NetBuilder b(
      io::read_checkpoint((fixture_dir("torchvision") / "ops_net.pth").string()), "OpsNet");
  const std::string padded = b.node("pad_in", "pad", {"image"},
                                    {{"pads", Ints{1, 2, 1, 0}}, {"mode", std::string("reflect")}});
  std::string x = b.batch_norm("bn1", b.conv("conv1", padded), 1e-5);
  x = b.node("leaky", "leaky_relu", {x}, {{"alpha", 0.1}});
  std::string y = b.batch_norm("bn2", b.conv("conv2", x, 1, 2, 2, 4), 1e-5);
  y = b.node("prelu", "prelu", {y}, {}, {{"slope", "prelu.weight"}});
  y = b.node("pool", "avg_pool2d", {y},
             {{"kernel", Ints{3, 3}}, {"stride", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}},
              {"ceil_mode", int64_t(1)}, {"count_include_pad", int64_t(0)}});
  std::string g = b.node("squeeze", "global_avg_pool", {y});
  g = b.node("gate_sigmoid", "sigmoid", {b.conv("gate", g)});
  y = b.node("tanh", "tanh", {b.node("gated", "mul", {y, g})});
  y = b.node("up", "resize", {y, x},
             {{"mode", std::string("nearest")},
              {"coordinate_transformation", std::string("asymmetric")},
              {"nearest_mode", std::string("floor")}});
  std::string z = b.node("half", "max_pool2d", {x}, {{"kernel", Ints{2, 2}}, {"stride", Ints{2, 2}}});
  z = b.node("shuffle", "depth_to_space", {b.conv("expand", z)},
             {{"blocksize", int64_t(2)}, {"mode", std::string("CRD")}});
  z = b.node("pad_z", "pad", {z, x});
  const std::string scores = b.conv("head", b.node("cat", "concat", {z, y}), 1, 1);
  detail::ModelData data;
  b.finish(data, b.node("probabilities", "softmax", {scores}));
  data.arch = "ops_net";
  data.classes = detail::default_classes(5);
  const fs::path path = temp_dir() / "ops_net.vkseg";
  detail::save_model(data, path.string());
  const Model model = Model::load(path.string());
  for (const Precision precision : {Precision::Fp32, Precision::Fp16}) {
    for (const std::string in : {"67x61", "64x72b2"}) {
      expect_parity(model, "input_" + in + ".npy", "ops_net_out_" + in + ".npy", precision,
                    fixture_dir("torchvision"));
    }
  }
}

}  // namespace
}  // namespace vkseg::test
