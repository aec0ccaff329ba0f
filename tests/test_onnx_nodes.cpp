// The ONNX backend node tests of Debian's libonnx-testdata (model.onnx with inputs and expected
// outputs as TensorProto files, written by ONNX's reference implementation) for every op and
// attribute combination vkseg maps with a 4-D float input: extra inputs become initializers,
// the first is the image; outputs match within rtol 1e-3, atol 1e-4. The README lists the node
// tests left out and why. A missing testdata package fails the tests (scripts/setup.sh installs
// it).
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "graph/model_data.hpp"
#include "harness.hpp"
#include "onnx/onnx_file.hpp"
#include "onnx/onnx_front_end.hpp"
#include "vkseg/model.hpp"

namespace vkseg::test {
namespace {

namespace fs = std::filesystem;

const fs::path k_testdata = "/usr/share/libonnx-testdata/data";
constexpr double k_rtol = 1e-3, k_atol = 1e-4;

// Directories under k_testdata.
const std::vector<std::string> k_node_tests = {
    "node/test_averagepool_2d_ceil",
    "node/test_averagepool_2d_default",
    "node/test_averagepool_2d_pads_count_include_pad",
    "node/test_averagepool_2d_precomputed_pads",
    "node/test_averagepool_2d_precomputed_pads_count_include_pad",
    "node/test_averagepool_2d_precomputed_strides",
    "node/test_averagepool_2d_same_lower",
    "node/test_averagepool_2d_same_upper",
    "node/test_averagepool_2d_strides",
    "node/test_basic_conv_with_padding",
    "node/test_basic_conv_without_padding",
    "node/test_batchnorm_epsilon",
    "node/test_batchnorm_example",
    "node/test_constant_pad",
    "node/test_conv_with_strides_and_asymmetric_padding",
    "node/test_conv_with_strides_no_padding",
    "node/test_conv_with_strides_padding",
    "node/test_convtranspose",
    "node/test_convtranspose_autopad_same",
    "node/test_convtranspose_dilations",
    "node/test_convtranspose_pad",
    "node/test_convtranspose_pads",
    "node/test_identity",
    "node/test_maxpool_2d_ceil",
    "node/test_maxpool_2d_default",
    "node/test_maxpool_2d_dilations",
    "node/test_maxpool_2d_pads",
    "node/test_maxpool_2d_precomputed_pads",
    "node/test_maxpool_2d_precomputed_strides",
    "node/test_maxpool_2d_same_lower",
    "node/test_maxpool_2d_same_upper",
    "node/test_maxpool_2d_strides",
    "node/test_resize_downsample_scales_linear",
    "node/test_resize_downsample_scales_nearest",
    "node/test_resize_downsample_sizes_linear_pytorch_half_pixel",
    "node/test_resize_downsample_sizes_nearest",
    "node/test_resize_upsample_scales_linear",
    "node/test_resize_upsample_scales_linear_align_corners",
    "node/test_resize_upsample_scales_nearest",
    "node/test_resize_upsample_sizes_nearest",
    "node/test_resize_upsample_sizes_nearest_ceil_half_pixel",
    "node/test_resize_upsample_sizes_nearest_floor_align_corners",
    "node/test_resize_upsample_sizes_nearest_round_prefer_ceil_asymmetric",
    "node/test_upsample_nearest",
    "pytorch-converted/test_MaxPool2d_stride_padding_dilation",
};

std::string case_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  name = (name.rfind("node/", 0) == 0 ? "" : "pytorch_") + name.substr(name.find("test_") + 5);
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

class OnnxNode : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxNode, MatchesOnnxReferenceOutput) {
  const fs::path dir = k_testdata / GetParam();
  ASSERT_TRUE(fs::exists(dir / "model.onnx"))
      << dir << " is missing: install libonnx-testdata (scripts/setup.sh does)";
  onnx::ModelFile file = onnx::read_onnx((dir / "model.onnx").string());
  const fs::path data = dir / "test_data_set_0";
  // The first input is the image; the others are the node's weights and parameters.
  for (size_t i = 1; i < file.inputs.size(); ++i) {
    file.initializers[file.inputs[i].name] =
        onnx::read_tensor_file((data / fmt::format("input_{}.pb", i)).string());
  }
  file.inputs.resize(1);
  const onnx::TensorData input = onnx::read_tensor_file((data / "input_0.pb").string());
  const onnx::TensorData expected = onnx::read_tensor_file((data / "output_0.pb").string());
  ASSERT_EQ(input.dims.size(), 4u);
  ASSERT_TRUE(input.is_float && expected.is_float);

  detail::ModelData converted = onnx::build_onnx(file, dir.string(), {});
  const fs::path path = temp_dir() / (case_name({GetParam(), 0}) + ".vkseg");
  detail::save_model(converted, path.string());
  const Model model = Model::load(path.string());
  Network network(context(), model);
  Session session(network, uint32_t(input.dims[0]), uint32_t(input.dims[2]),
                  uint32_t(input.dims[3]));
  const Shape4 out = session.output_shape();
  ASSERT_EQ(std::vector<int64_t>(out.begin(), out.end()), expected.dims);
  ASSERT_EQ(input.floats.size(), size_t(input.dims[0] * input.dims[1] * input.dims[2] * input.dims[3]));
  std::vector<float> result(expected.floats.size());
  session.run(input.floats.data(), result.data());
  size_t bad = 0;
  double worst = 0;
  for (size_t i = 0; i < result.size(); ++i) {
    const double want = expected.floats[i], error = std::fabs(double(result[i]) - want);
    const bool fits = error <= k_atol + k_rtol * std::fabs(want);
    bad += !fits;
    worst = std::isnan(error) ? INFINITY : std::max(worst, error);
  }
  EXPECT_EQ(bad, 0u) << bad << " of " << result.size() << " values differ; max |error| " << worst;
}

INSTANTIATE_TEST_SUITE_P(Testdata, OnnxNode, ::testing::ValuesIn(k_node_tests), case_name);

}  // namespace
}  // namespace vkseg::test
