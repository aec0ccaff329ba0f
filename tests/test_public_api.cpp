// The library calls the CLI is built on: convert, device-side evaluation and overlays, checked
// against the internal front end, a CPU confusion matrix and hand-computed blends.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "harness.hpp"
#include "vkseg/convert.hpp"
#include "vkseg/image.hpp"
#include "vkseg/segment.hpp"

namespace vkseg::test {
namespace {

namespace fs = std::filesystem;

fs::path fcn_fixture(const std::string& name) {
  const char* root = std::getenv("VKSEG_FIXTURES");
  if (!root) ADD_FAILURE() << "VKSEG_FIXTURES is not set";
  return fs::path(root ? root : "") / "fcn" / name;
}

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(ConvertApi, WritesTheModelAndReportsWhatItMade) {
  const fs::path out = temp_dir() / "fcn8s.vkseg";
  ConvertOptions options;
  options.caffe_padding = false;
  const ConvertReport report = convert(fcn_fixture("fcn8s_aligned.pth").string(), out.string(), options);
  EXPECT_EQ(report.arch, "fcn8s");
  EXPECT_EQ(report.format, "torch-zip");
  EXPECT_EQ(report.classes, 21u);
  EXPECT_EQ(report.dtype, "fp32");
  EXPECT_GT(report.tensors, 30u);
  const Model model = Model::load(out.string());
  EXPECT_EQ(model.parameter_count(), report.parameters);
  EXPECT_EQ(model.classes().size(), 21u);
  EXPECT_EQ(model.classes()[15].name, "person");  // PASCAL VOC names for 21 classes
}

TEST(ConvertApi, PreprocessingIsGivenInRgbOrderAndStoredInTheModelsOrder) {
  const fs::path out = temp_dir() / "bgr.vkseg";
  ConvertOptions options;
  options.caffe_padding = false;
  options.bgr = true;
  options.mean = std::array<float, 3>{10, 20, 30};
  options.std = std::array<float, 3>{1, 2, 3};
  options.scale = 1.0f;
  options.dtype = "fp16";
  options.class_names.assign(21, "c");
  options.class_names[0] = "sky";
  convert(fcn_fixture("fcn8s_aligned.pth").string(), out.string(), options);
  const Model model = Model::load(out.string());
  EXPECT_TRUE(model.preprocess().bgr);
  EXPECT_EQ(model.preprocess().mean, (std::array<float, 3>{30, 20, 10}));
  EXPECT_EQ(model.preprocess().std, (std::array<float, 3>{3, 2, 1}));
  EXPECT_EQ(model.preprocess().scale, 1.0f);
  EXPECT_EQ(model.weight_dtype(), "fp16");
  EXPECT_EQ(model.classes()[0].name, "sky");
}

TEST(ConvertApi, RefusesWithoutWritingAnything) {
  const std::string input = fcn_fixture("fcn8s_aligned.pth").string();
  const fs::path existing = temp_dir() / "existing.vkseg";
  std::ofstream(existing) << "the user's file";
  auto refusal = [&](ConvertOptions options, const fs::path& out) {
    return error_of([&] { convert(input, out.string(), options); });
  };
  EXPECT_CONTAINS(refusal({}, existing), "exists; overwrite it with --force");
  EXPECT_EQ(file_bytes(existing), "the user's file");
  ConvertOptions overwrite;
  overwrite.overwrite = true;
  EXPECT_CONTAINS(refusal(overwrite, input), "the output is the input");
  const fs::path fresh = temp_dir() / "fresh.vkseg";
  ConvertOptions bad;
  bad.dtype = "bf16";
  EXPECT_CONTAINS(refusal(bad, fresh), "dtype must be fp32 or fp16, not 'bf16'");
  bad = {};
  bad.class_names = {"a", "b"};
  EXPECT_CONTAINS(refusal(bad, fresh), "2 class names given; the network scores 21 classes");
  bad = {};
  bad.std = std::array<float, 3>{1, 0, 1};
  EXPECT_CONTAINS(refusal(bad, fresh), "std values must be finite and non-zero");
  bad = {};
  bad.arch = "fcn4s";
  EXPECT_CONTAINS(refusal(bad, fresh), "unknown --arch 'fcn4s' (auto, fcn32s");
  EXPECT_CONTAINS(refusal({}, temp_dir() / "missing" / "x.vkseg"), "x.vkseg");
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(temp_dir())) ++files;
  EXPECT_EQ(files, 1u) << "only the user's file is there";
  // Overwriting is allowed when asked for, and replaces the file whole.
  convert(input, existing.string(), overwrite);
  EXPECT_EQ(Model::load(existing.string()).arch(), "fcn8s");
}

TEST(ConvertApi, ListsEveryArchOnce) {
  std::set<std::string> names;
  for (const ArchInfo& a : supported_archs()) {
    EXPECT_TRUE(names.insert(a.name).second) << a.name;
    EXPECT_FALSE(a.description.empty()) << a.name;
  }
  for (const char* arch : {"auto", "fcn8s", "deeplabv3_resnet50", "lraspp_mobilenet_v3_large", "unet"}) {
    EXPECT_TRUE(names.count(arch)) << arch;
  }
}

// Pseudo-random labels with about one pixel in seven set to `ignore`.
std::vector<uint8_t> random_truth(size_t pixels, uint32_t classes, uint8_t ignore) {
  std::vector<uint8_t> truth(pixels);
  for (auto& t : truth) t = random_int(0, 6) == 6 ? ignore : uint8_t(random_int(0, int(classes) - 1));
  return truth;
}

TEST(EvaluatorApi, CountsWhatTheSegmenterLabels) {
  const fs::path path = temp_dir() / "fcn8s.vkseg";
  ConvertOptions options;
  options.caffe_padding = false;
  convert(fcn_fixture("fcn8s_aligned.pth").string(), path.string(), options);
  const Model model = Model::load(path.string());
  Network network(context(), model);
  Segmenter segmenter(network);
  for (const uint8_t ignore : {uint8_t(255), uint8_t(0)}) {
    Evaluator evaluator(segmenter, ignore);
    ConfusionMatrix expected(21);
    // Odd sizes, padded to the network's multiple of 32 and cropped back.
    for (const auto& [width, height] : {std::pair<uint32_t, uint32_t>{45, 70}, {33, 64}, {1, 1}}) {
      std::vector<uint8_t> rgb(size_t(3) * width * height);
      for (auto& v : rgb) v = uint8_t(random_int(0, 255));
      const std::vector<uint8_t> truth = random_truth(size_t(width) * height, 21, ignore);
      const LabelMap map = segmenter.segment(rgb.data(), width, height);
      for (size_t i = 0; i < truth.size(); ++i) {
        if (truth[i] != ignore) expected.add(truth[i], map.labels[i]);
      }
      evaluator.add(rgb.data(), width, height, truth.data());
    }
    const ConfusionMatrix counted = evaluator.matrix();
    EXPECT_EQ(counted.counts(), expected.counts()) << "ignore " << int(ignore);
    EXPECT_GT(counted.total(), 3000u);
    // A label outside the classes is refused, and nothing of that image is counted.
    std::vector<uint8_t> rgb(3 * 4 * 4, 128), truth(16, 3);
    truth[5] = 21;
    EXPECT_CONTAINS(error_of([&] { evaluator.add(rgb.data(), 4, 4, truth.data()); }),
                         "holds label 21, but the model has 21 classes");
    EXPECT_EQ(evaluator.matrix().counts(), expected.counts());
  }
}

TEST(EvaluatorApi, OverlayBlendsEveryClassButTheBackground) {
  const uint8_t rgb[9] = {0, 100, 200, 10, 20, 30, 255, 255, 255};
  LabelMap map;
  map.width = 3, map.height = 1, map.labels = {0, 1, 2};
  const std::vector<ClassInfo> classes{{"bg", {1, 2, 3}}, {"a", {255, 0, 0}}, {"b", {0, 0, 0}}};
  const std::vector<uint8_t> out = blend_overlay(rgb, map, classes, 0.25f);
  const std::vector<uint8_t> expected{0, 100, 200,
                                      uint8_t(std::lround(0.75 * 10 + 0.25 * 255)), 15, uint8_t(std::lround(22.5)),
                                      191, 191, 191};
  EXPECT_EQ(out, expected);
}

}  // namespace
}  // namespace vkseg::test
