// Segmenting images of any size: preprocessing, padding to what the network accepts and cropping
// back, against PyTorch's labels; and the evaluation metrics against hand-computed matrices.
#include <cmath>
#include <filesystem>

#include "graph/fcn_builder.hpp"
#include "harness.hpp"
#include "ops/confusion.hpp"
#include "vkseg/image.hpp"
#include "vkseg/npy.hpp"
#include "vkseg/segment.hpp"

namespace vkseg::test {
namespace {

namespace fs = std::filesystem;

fs::path fixture_root() {
  const char* root = std::getenv("VKSEG_FIXTURES");
  if (!root) ADD_FAILURE() << "VKSEG_FIXTURES is not set";
  return root ? root : "";
}

Model convert_fixture(const std::string& checkpoint, bool caffe_padding) {
  ConvertOptions options;
  options.caffe_padding = caffe_padding;
  detail::ModelData data = graph::build_fcn(
      io::read_checkpoint((fixture_root() / "fcn" / checkpoint).string()), options);
  const std::string path = (temp_dir() / (checkpoint + ".vkseg")).string();
  detail::save_model(data, path);
  return Model::load(path);
}

TEST(Segment, OddSizesArePaddedAndCroppedLikePyTorch) {
  const Model model = convert_fixture("fcn8s_aligned.pth", false);
  EXPECT_EQ(model.input_multiple(), 32u);
  Network network(context(), model);
  Segmenter segmenter(network);
  for (const std::string name : {"seg_45x70", "seg_64x33"}) {
    const Image image = read_image((fixture_root() / "images" / (name + ".png")).string());
    const LabelMap map = segmenter.segment(image.rgb.data(), image.width, image.height);
    ASSERT_EQ(map.width, image.width);
    ASSERT_EQ(map.height, image.height);
    const NpyArray expected =
        read_npy((fixture_root() / "images" / (name + "_labels.npy")).string());
    size_t same = 0;
    for (size_t i = 0; i < map.labels.size(); ++i) same += map.labels[i] == uint32_t(expected.values[i]);
    const double agreement = double(same) / double(map.labels.size());
    std::cout << "  " << name << ": label agreement with PyTorch " << 100 * agreement << "%\n";
    EXPECT_GE(agreement, 0.9999);
  }
  EXPECT_EQ(segmenter.network_size(45, 70), (std::pair<uint32_t, uint32_t>{64, 96}));
}

TEST(Segment, GreyAndRgbaImagesSegmentAsTheirRgbEquivalents) {
  const Model model = convert_fixture("fcn32s_pytorchfcn.pth", true);
  EXPECT_EQ(model.input_multiple(), 1u);  // Caffe padding: any size runs unpadded
  Network network(context(), model);
  Segmenter segmenter(network);
  for (const std::string name : {"grey_41x29.png", "rgba_30x31.png", "grey_alpha_19x23.png"}) {
    const Image image = read_image((fixture_root() / "images" / name).string());
    const LabelMap map = segmenter.segment(image.rgb.data(), image.width, image.height);
    // The same pixels through a session of exactly that size.
    Session session(network, 1, image.height, image.width);
    std::vector<float> input(size_t(3) * image.width * image.height);
    preprocess_image(model.preprocess(), image.rgb.data(), image.width, image.height, image.width,
                     image.height, input.data());
    std::vector<uint32_t> labels(size_t(image.width) * image.height);
    session.run_labels(input.data(), labels.data());
    EXPECT_EQ(map.labels, labels) << name;
  }
}

TEST(Segment, PreprocessingFollowsTheModel) {
  Preprocess p;
  p.bgr = true;
  p.scale = 2.0f;
  p.mean = {1, 2, 3};
  p.std = {1, 2, 4};
  const uint8_t rgb[6] = {10, 20, 30, 40, 50, 60};  // two pixels
  std::vector<float> out(3 * 4, -1.0f);               // padded to 2x2
  preprocess_image(p, rgb, 2, 1, 2, 2, out.data());
  // Model channel 0 is blue: (30*2 - 1)/1; channel 1 green: (20*2 - 2)/2; channel 2 red.
  EXPECT_FLOAT_EQ(out[0], 59.0f);
  EXPECT_FLOAT_EQ(out[1], 119.0f);
  EXPECT_FLOAT_EQ(out[2], 0.0f);  // padding
  EXPECT_FLOAT_EQ(out[4], 19.0f);
  EXPECT_FLOAT_EQ(out[8], (20.0f - 3.0f) / 4.0f);
}

TEST(Metrics, MatchHandComputedValues) {
  // truth x predicted, 3 classes:
  //   [5 1 0]   row sums 6, 4, 0; column sums 7, 3, 0
  //   [2 2 0]   class 2 absent from both: skipped in the means
  //   [0 0 0]
  ConfusionMatrix m(3);
  m.add(0, 0, 5);
  m.add(0, 1, 1);
  m.add(1, 0, 2);
  m.add(1, 1, 2);
  m.add(7, 0, 100);  // not a class: ignored
  EXPECT_EQ(m.total(), 10u);
  EXPECT_DOUBLE_EQ(m.pixel_accuracy(), 7.0 / 10.0);
  EXPECT_DOUBLE_EQ(m.mean_accuracy(), (5.0 / 6.0 + 2.0 / 4.0) / 2.0);
  const auto iou = m.class_iou();
  EXPECT_DOUBLE_EQ(iou[0], 5.0 / (6.0 + 7.0 - 5.0));
  EXPECT_DOUBLE_EQ(iou[1], 2.0 / (4.0 + 3.0 - 2.0));
  EXPECT_TRUE(std::isnan(iou[2]));
  EXPECT_DOUBLE_EQ(m.mean_iou(), (5.0 / 8.0 + 2.0 / 5.0) / 2.0);
  EXPECT_DOUBLE_EQ(m.frequency_weighted_iou(), 0.6 * 5.0 / 8.0 + 0.4 * 2.0 / 5.0);

  // A class predicted but never true has IoU 0 and counts in the mean IoU, not the mean accuracy.
  ConfusionMatrix p(2);
  p.add(0, 0, 3);
  p.add(0, 1, 1);
  EXPECT_DOUBLE_EQ(p.mean_accuracy(), 0.75);
  EXPECT_DOUBLE_EQ(p.class_iou()[1], 0.0);
  EXPECT_DOUBLE_EQ(p.mean_iou(), (0.75 + 0.0) / 2.0);
}

TEST(Metrics, DeviceConfusionCountsMatchTheCpu) {
  const uint32_t classes = 5, width = 23, height = 17, stride = 32, rows = 21;
  std::vector<uint32_t> predicted(size_t(stride) * rows), truth(size_t(width) * height);
  for (auto& v : predicted) v = random_int(0, classes - 1);
  for (auto& v : truth) v = random_int(0, 6) == 6 ? UINT32_MAX : random_int(0, classes - 1);
  ConfusionMatrix expected(classes);
  for (uint32_t y = 0; y < height; ++y) {
    for (uint32_t x = 0; x < width; ++x) expected.add(truth[y * width + x], predicted[y * stride + x]);
  }
  vk::Buffer pb(context(), predicted.size() * 4), tb(context(), truth.size() * 4);
  vk::Buffer cb(context(), classes * classes * 4);
  vk::upload(context(), pb, 0, predicted.data(), predicted.size() * 4);
  vk::upload(context(), tb, 0, truth.data(), truth.size() * 4);
  const std::vector<uint32_t> zeros(classes * classes, 0);
  vk::upload(context(), cb, 0, zeros.data(), zeros.size() * 4);
  ops::ConfusionCount confusion(context());
  const ops::DType u32 = ops::DType::U32;
  run([&](vk::Recorder& r) {
    for (int twice = 0; twice < 2; ++twice) {  // accumulates across dispatches
      confusion.record(r, {{1, 1, rows, stride}, pb.view(), u32},
                       {{1, 1, height, width}, tb.view(), u32},
                       {{1, 1, classes, classes}, cb.view(), u32}, classes);
    }
  });
  std::vector<uint32_t> counts(classes * classes);
  vk::download(context(), cb, 0, counts.data(), counts.size() * 4);
  for (size_t i = 0; i < counts.size(); ++i) EXPECT_EQ(counts[i], 2 * expected.counts()[i]) << i;
  EXPECT_THROW(confusion.record(*std::make_unique<vk::Recorder>(context()),
                                {{1, 1, 3, 3}, pb.view(), u32},
                                {{1, 1, height, width}, tb.view(), u32},
                                {{1, 1, classes, classes}, cb.view(), u32}, classes),
               Error);
}

}  // namespace
}  // namespace vkseg::test
