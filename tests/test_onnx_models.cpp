// ONNX exports of segmentation networks (tests/fixtures/make_onnx_fixtures.py: torch.onnx.export
// with dynamic height and width, random weights; FLOAT16 and external initializers too;
// pytorch-fcn's FCN-32s/16s/8s, whose Caffe crops are Slices of activations) converted and run at
// another size than the export's, against PyTorch's outputs: max |error| <= 1e-4 of the output's
// standard deviation, argmax agreement >= 99.9% (ties as in parity.hpp); at fp16 where the device
// stores it, the agreement of parity.hpp. Then hostile files, each refused with one clear line.
#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "graph/model_data.hpp"
#include "onnx/onnx_file.hpp"
#include "onnx/onnx_front_end.hpp"
#include "parity.hpp"

namespace vkseg::test {
namespace {

namespace fs = std::filesystem;

constexpr double k_onnx_max_error_over_std = 1e-4;
constexpr double k_onnx_agreement = 0.999;

const nlohmann::json& entry(const std::string& stem) {
  static const nlohmann::json all = [] {
    std::ifstream in(fixture_dir("onnx") / "onnx_manifest.json");
    return nlohmann::json::parse(in);
  }();
  for (const auto& e : all) {
    if (e["stem"] == stem) return e;
  }
  throw std::runtime_error("no fixture " + stem);
}

Model convert(const std::string& stem) {
  const detail::ModelData model =
      onnx::build_onnx((fixture_dir("onnx") / (stem + ".onnx")).string(), {});
  const fs::path out = temp_dir() / (stem + ".vkseg");
  detail::save_model(model, out.string());
  return Model::load(out.string());
}

class OnnxModelMatchesPyTorch : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxModelMatchesPyTorch, AtAnotherSizeThanExported) {
  const nlohmann::json& e = entry(GetParam());
  const Model model = convert(GetParam());
  EXPECT_EQ(model.arch(), "onnx");
  EXPECT_EQ(model.classes().size(), e["classes"].get<size_t>());
  const std::string size = e["input"].get<std::string>();
  const Agreement a = run_and_compare(model, "input_" + size + ".npy",
                                      GetParam() + "_out_" + size + ".npy", Precision::Fp32,
                                      context(), fixture_dir("onnx"));
  EXPECT_LE(a.max_error_over_std, k_onnx_max_error_over_std);
  EXPECT_GE(a.argmax_agreement, k_onnx_agreement);
  if (context().info().fp16_storage) {
    expect_parity(model, "input_" + size + ".npy", GetParam() + "_out_" + size + ".npy",
                  Precision::Fp16, fixture_dir("onnx"));
  }
}

INSTANTIATE_TEST_SUITE_P(Exports, OnnxModelMatchesPyTorch,
                         ::testing::Values("tiny_seg_opset11", "tiny_seg_opset13",
                                           "tiny_seg_opset17", "ops_net_opset13",
                                           "ops_net_opset17", "ops_net_argmax", "ops_net_fp16",
                                           "lraspp_mobilenet_v3_large",
                                           "deeplabv3_resnet50", "fcn_resnet50", "unet",
                                           "pytorch_unet_bilinear", "pytorch_unet_transposed",
                                           "pytorch_fcn_fcn32s_opset11",
                                           "pytorch_fcn_fcn32s_opset13",
                                           "pytorch_fcn_fcn32s_opset17",
                                           "pytorch_fcn_fcn16s_opset11",
                                           "pytorch_fcn_fcn16s_opset13",
                                           "pytorch_fcn_fcn16s_opset17",
                                           "pytorch_fcn_fcn8s_opset11", "pytorch_fcn_fcn8s_opset13",
                                           "pytorch_fcn_fcn8s_opset17"));

TEST(OnnxImport, ReadsExternalDataBesideTheModel) {
  const Model model = convert("ops_net_external");
  const Agreement a = run_and_compare(model, "input_67x61.npy", "ops_net_opset13_out_67x61.npy",
                                      Precision::Fp32, context(), fixture_dir("onnx"));
  EXPECT_LE(a.max_error_over_std, k_onnx_max_error_over_std);
}

TEST(OnnxImport, IsToldByContentNotExtension) {
  const fs::path onnx_file = fixture_dir("onnx") / "tiny_seg_opset13.onnx";
  const fs::path renamed = temp_dir() / "tiny_seg.pth";
  fs::copy_file(onnx_file, renamed, fs::copy_options::overwrite_existing);
  EXPECT_TRUE(onnx::looks_like_onnx(renamed.string()));
  const fs::path zip = temp_dir() / "model.onnx";
  std::ofstream(zip) << "PK\x03\x04 not onnx";
  EXPECT_FALSE(onnx::looks_like_onnx(zip.string()));
  // A safetensors header of length 8 starts with 0x08 too.
  const fs::path safetensors = temp_dir() / "weights.onnx";
  std::ofstream(safetensors, std::ios::binary) << std::string("\x08\0\0\0\0\0\0\0{}      ", 16);
  EXPECT_FALSE(onnx::looks_like_onnx(safetensors.string()));
}

TEST(OnnxImport, NotesSayWhatWasAssumed) {
  const Model model = convert("tiny_seg_opset17");
  ASSERT_FALSE(model.notes().empty());
  EXPECT_NE(model.notes().front().find("no preprocessing"), std::string::npos);
}

struct HostileCase {
  const char* file;
  const char* message;
};

class OnnxHostileFile : public ::testing::TestWithParam<HostileCase> {};

TEST_P(OnnxHostileFile, IsRefusedWithOneClearLine) {
  const fs::path path = fixture_dir("onnx") / GetParam().file;
  const std::string error = error_of([&] { onnx::build_onnx(path.string(), {}); });
  EXPECT_NE(error.find(GetParam().message), std::string::npos) << error;
  EXPECT_NE(error.find(path.string()), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_EQ(error.find('\x1b'), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(
    Files, OnnxHostileFile,
    ::testing::Values(
        HostileCase{"hostile_truncated.onnx", "not a valid ONNX ModelProto"},
        HostileCase{"hostile_dangling.onnx", "'nowhere' is not produced by an earlier node"},
        HostileCase{"hostile_cycle.onnx", "is not produced by an earlier node"},
        HostileCase{"hostile_missing_initializer.onnx", "is not produced by an earlier node"},
        HostileCase{"hostile_short_data.onnx", "bytes of data; its dims need"},
        HostileCase{"hostile_unsupported_op.onnx",
                    "node 'evil\\x1b[31mname' (Elu): op type 'Elu' is not supported; supported: "
                    "Add, ArgMax"},
        HostileCase{"hostile_opset18.onnx", "opset 18; opsets 7 to 17 are supported"},
        HostileCase{"hostile_external_escape.onnx", "is not a file inside the model's directory"},
        HostileCase{"hostile_external_absolute.onnx",
                    "is not a file inside the model's directory"}),
    [](const ::testing::TestParamInfo<HostileCase>& info) {
      std::string name = info.param.file;
      return name.substr(8, name.size() - 13);  // "hostile_" ... ".onnx"
    });

}  // namespace
}  // namespace vkseg::test
