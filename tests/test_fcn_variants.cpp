// FCNs as users outside pytorch-fcn save them (tests/fixtures/make_fcn_variant_fixtures.py):
// the lecture's FCN-32s/16s/8s (1x1 fc6, biased upsampling) in three formats and as whole
// pickled modules, pytorch-fcn's FCN8sAtOnce in its trainer's checkpoint, and training
// wrappers; each converted and compared with PyTorch (tolerances in parity.hpp), and what the
// converter had to assume said in the model's notes.
#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "graph/model_data.hpp"
#include "io/checkpoint.hpp"
#include "parity.hpp"

namespace vkseg::test {
namespace {

namespace fs = std::filesystem;

nlohmann::json manifest() {
  std::ifstream in(fixture_dir() / "variant_manifest.json");
  return nlohmann::json::parse(in);
}

const nlohmann::json& entry(const std::string& stem) {
  static const nlohmann::json all = manifest();
  for (const auto& e : all) {
    if (e["stem"] == stem) return e;
  }
  throw std::runtime_error("no fixture " + stem);
}

bool has_note(const Model& model, const std::string& part) {
  for (const std::string& note : model.notes()) {
    if (note.find(part) != std::string::npos) return true;
  }
  return false;
}

// Every file of fixture `stem` converts with `options` and matches PyTorch on every input.
void check_stem(const std::string& stem, const ConvertOptions& options = {}) {
  for (const auto& file : entry(stem)["files"]) {
    SCOPED_TRACE(file.get<std::string>());
    const Model model =
        Model::load(convert_fcn(file.get<std::string>(), file.get<std::string>() + ".vkseg", options)
                        .string());
    for (const auto& in : entry(stem)["inputs"]) {
      expect_parity(model, "input_" + in.get<std::string>() + ".npy",
                    stem + "_out_" + in.get<std::string>() + ".npy");
    }
  }
}

class LectureFcn : public ::testing::TestWithParam<std::string> {};

TEST_P(LectureFcn, MatchesPyTorchFromStateDictsAndWholeModules) { check_stem("lecture_" + GetParam()); }

INSTANTIATE_TEST_SUITE_P(Variants, LectureFcn, ::testing::Values("fcn32s", "fcn16s", "fcn8s"));

TEST(LectureFcn, SaysWhatAStateDictLeftOpenAndAModuleDoesNot) {
  const Model from_state = Model::load(convert_fcn("lecture_fcn8s.pth", "state.vkseg").string());
  EXPECT_TRUE(has_note(from_state, "assumed the aligned layout")) << from_state.notes().size();
  EXPECT_TRUE(has_note(from_state, "--no-fc-relu"));
  const Model from_module =
      Model::load(convert_fcn("lecture_fcn8s.module.pth", "module.vkseg").string());
  // Only the preprocessing, which no file records, is still a convention.
  ASSERT_EQ(from_module.notes().size(), 1u) << from_module.notes().front();
  EXPECT_NE(from_module.notes().front().find("preprocessing"), std::string::npos);
  // Everything read from the module is what the state dict was assumed to be.
  EXPECT_EQ(from_module.arch(), "fcn8s");
  EXPECT_EQ(from_module.input_multiple(), 32u);
}

TEST(LectureFcn, ReluOrNoneAfterFc6IsReadFromTheModule) {
  check_stem("lecture_norelu_fcn16s");
  // The same tensors as a state dict: the ReLU the converter assumes is wrong here, and says so;
  // --no-fc-relu gives PyTorch's numbers.
  const Model assumed =
      Model::load(convert_fcn("lecture_norelu_fcn16s.pth", "assumed.vkseg").string());
  EXPECT_TRUE(has_note(assumed, "--no-fc-relu"));
  ConvertOptions no_relu;
  no_relu.fc_relu = false;
  const Model chosen =
      Model::load(convert_fcn("lecture_norelu_fcn16s.pth", "chosen.vkseg", no_relu).string());
  expect_parity(chosen, "input_64x96.npy", "lecture_norelu_fcn16s_out_64x96.npy");
}

TEST(LectureFcn, TrainingWrappersConvert) { check_stem("lecture_wrapped_fcn8s"); }

TEST(Fcn8sAtOnce, TrainerCheckpointWithNumpyScalarAndOptimizerState) {
  check_stem("fcn8s_atonce");
  const io::Checkpoint checkpoint =
      io::read_checkpoint((fixture_dir() / "fcn8s_atonce_model_best.pth.tar").string());
  EXPECT_EQ(checkpoint.arch, "FCN8sAtOnce");
  EXPECT_EQ(checkpoint.container, "model_state_dict");
  const Model model =
      Model::load(convert_fcn("fcn8s_atonce_model_best.pth.tar", "atonce.vkseg").string());
  EXPECT_EQ(model.arch(), "fcn8s-atonce");
  EXPECT_TRUE(has_note(model, "FCN8sAtOnce"));
}

TEST(Fcn8sAtOnce, BareStateDictIsReadAsFcn8sAndSaysSo) {
  // The file cannot tell FCN8s from FCN8sAtOnce: the converter says which it assumed.
  const Model assumed =
      Model::load(convert_fcn("fcn8s_atonce_state_dict.pth", "assumed.vkseg").string());
  EXPECT_EQ(assumed.arch(), "fcn8s");
  EXPECT_TRUE(has_note(assumed, "--arch fcn8s-atonce"));
  ConvertOptions at_once;
  at_once.arch = "fcn8s-atonce";
  const Model chosen =
      Model::load(convert_fcn("fcn8s_atonce_state_dict.pth", "chosen.vkseg", at_once).string());
  EXPECT_EQ(chosen.arch(), "fcn8s-atonce");
  for (const std::string in : {"64x96", "96x64b2"}) {
    expect_parity(chosen, "input_" + in + ".npy", "fcn8s_atonce_out_" + in + ".npy");
  }
  // The scaling is folded into the skip scores' weights when the model loads: no layer of its
  // own runs.
  Network network(context(), chosen);
  Session session(network, 1, 32, 32);
  std::map<std::string, std::string> scaling;
  for (const Session::Layer& l : session.layers()) {
    EXPECT_NE(l.op, "constant") << l.name;
    if (l.op == "mul") scaling[l.name] = l.fused_into;
  }
  EXPECT_EQ(scaling, (std::map<std::string, std::string>{{"scale_pool4", "score_pool4"},
                                                         {"scale_pool3", "score_pool3"}}));
}

TEST(FcnConvert, UnsupportedCheckpointsNameTheFamiliesAndTheTensor) {
  // torchvision's fcn_resnet50 keys in a checkpoint handed to the FCN front end.
  io::Checkpoint resnet{"torch-zip",
                        {{"backbone.bn1.num_batches_tracked", {}, "int64", {7}}},
                        {}};
  try {
    graph::build_fcn(resnet, {});
    ADD_FAILURE() << "a batch-norm counter was accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("backbone.bn1.num_batches_tracked"), std::string::npos) << message;
    EXPECT_NE(message.find("vkseg converts"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace vkseg::test
