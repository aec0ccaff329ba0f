// The ONNX front end's mapping on small graphs built here (ONNX's plain data, as onnx_file reads
// it): shape arithmetic resolved at convert time, and what it refuses, each in one line naming
// the node.
#include <string>
#include <vector>

#include "graph/model_data.hpp"
#include "harness.hpp"
#include "onnx/onnx_file.hpp"
#include "onnx/onnx_front_end.hpp"

namespace vkseg::test {
namespace {

using onnx::Attribute;
using onnx::NodeDef;
using onnx::TensorData;

Attribute int_attr(int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::Int, a.i = v;
  return a;
}
Attribute ints_attr(std::vector<int64_t> v) {
  Attribute a;
  a.kind = Attribute::Kind::Ints, a.ints = std::move(v);
  return a;
}
Attribute string_attr(std::string v) {
  Attribute a;
  a.kind = Attribute::Kind::String, a.s = std::move(v);
  return a;
}

TensorData ints(std::vector<int64_t> values) {
  TensorData t;
  t.is_float = false;
  t.dims = {int64_t(values.size())};
  t.ints = std::move(values);
  return t;
}

TensorData floats(std::vector<int64_t> dims, float value) {
  TensorData t;
  t.dims = dims;
  size_t n = 1;
  for (int64_t d : dims) n *= size_t(d);
  t.floats.assign(n, value);
  return t;
}

// A 3-channel image of any size through a 3x3 convolution ("y"), then `nodes`.
onnx::ModelFile model_with(std::vector<NodeDef> nodes, const std::string& output,
                           int64_t opset = 13) {
  onnx::ModelFile file;
  file.opset = opset;
  onnx::ValueInfo image;
  image.name = "x", image.elem_type = 1, image.has_shape = true;
  image.dims = {1, 3, std::nullopt, std::nullopt};
  file.inputs = {image};
  file.initializers["w"] = floats({4, 3, 3, 3}, 0.1f);
  NodeDef conv{"conv", "Conv", "", {"x", "w"}, {"y"}, {{"pads", ints_attr({1, 1, 1, 1})}}};
  file.nodes.push_back(conv);
  file.nodes.insert(file.nodes.end(), nodes.begin(), nodes.end());
  file.outputs = {output};
  return file;
}

std::string refusal(const onnx::ModelFile& file) {
  return error_of([&] { onnx::build_onnx(file, "m.onnx", {}); });
}

// torch.onnx's F.interpolate(z, size=y.shape[-2:]) with dynamic axes.
std::vector<NodeDef> resize_to_shape_of(const std::string& reference) {
  return {
      {"pool", "MaxPool", "", {"y"}, {"z"},
       {{"kernel_shape", ints_attr({2, 2})}, {"strides", ints_attr({2, 2})}}},
      {"shape_z", "Shape", "", {"z"}, {"sz"}, {}},
      {"nc", "Slice", "", {"sz", "zero", "two"}, {"nc_dims"}, {}},
      {"shape_ref", "Shape", "", {reference}, {"sr"}, {}},
      {"hw", "Slice", "", {"sr", "two", "four"}, {"hw_dims"}, {}},
      {"cast", "Cast", "", {"hw_dims"}, {"hw_i64"}, {{"to", int_attr(7)}}},
      {"sizes", "Concat", "", {"nc_dims", "hw_i64"}, {"s"}, {{"axis", int_attr(0)}}},
      {"up", "Resize", "", {"z", "", "", "s"}, {"out"},
       {{"mode", string_attr("linear")}}},
  };
}

void add_slice_bounds(onnx::ModelFile& file) {
  file.initializers["zero"] = ints({0});
  file.initializers["two"] = ints({2});
  file.initializers["four"] = ints({4});
}

TEST(OnnxMapping, ResizeSizesFromAnotherTensorsShapeBecomeItsSize) {
  onnx::ModelFile file = model_with(resize_to_shape_of("x"), "out");
  add_slice_bounds(file);
  const detail::ModelData model = onnx::build_onnx(file, "m.onnx", {});
  const graph::Node& up = model.graph.nodes.back();
  EXPECT_EQ(up.op, "resize");
  EXPECT_EQ(up.inputs, (std::vector<std::string>{"z", "x"}));
  EXPECT_EQ(up.attr_string("mode"), "linear");
  EXPECT_EQ(model.classes.size(), 4u);
}

TEST(OnnxMapping, ResizeSizesFromArithmeticOnDimsAreRefusedNamingTheNode) {
  std::vector<NodeDef> nodes = resize_to_shape_of("y");
  // sizes = floor(dims * 0.5) of y, not y's size itself.
  nodes.insert(nodes.begin() + 6, NodeDef{"half", "Div", "", {"hw_i64", "two"}, {"hw_half"}, {}});
  nodes[7].inputs[1] = "hw_half";
  onnx::ModelFile file = model_with(nodes, "out");
  add_slice_bounds(file);
  const std::string error = refusal(file);
  EXPECT_NE(error.find("node 'up' (Resize): sizes [floor(dim 2 of 'y' x 0.5), floor(dim 3 of "
                       "'y' x 0.5)]"),
            std::string::npos)
      << error;
}

// torch.onnx's y[:, :, 5:5 + x.size(2), 3:3 + x.size(3)] (pytorch-fcn's Caffe crops): one Slice
// per axis, each ending at the offset plus a dimension of x.
std::vector<NodeDef> crop_to_size_of_x() {
  std::vector<NodeDef> nodes{{"shape_x", "Shape", "", {"x"}, {"sx"}, {}}};
  for (const char* axis : {"2", "3"}) {
    const std::string a = axis, offset = a == "2" ? "five" : "three";
    nodes.push_back({"dim" + a, "Gather", "", {"sx", "scalar" + a}, {"d" + a}, {}});
    nodes.push_back({"end" + a, "Add", "", {"d" + a, "scalar_" + offset}, {"e" + a}, {}});
    nodes.push_back({"ends" + a, "Unsqueeze", "", {"e" + a, "zero"}, {"ends_" + a}, {}});
  }
  nodes.push_back({"crop_h", "Slice", "", {"y", "five", "ends_2", "two", "one"}, {"yh"}, {}});
  nodes.push_back({"crop_w", "Slice", "", {"yh", "three", "ends_3", "three_axis", "one"},
                   {"out"}, {}});
  return nodes;
}

onnx::ModelFile crop_model(std::vector<NodeDef> nodes, const std::string& output = "out") {
  onnx::ModelFile file = model_with(std::move(nodes), output);
  add_slice_bounds(file);
  for (const auto& [name, v] : {std::pair<const char*, int64_t>{"scalar2", 2}, {"scalar3", 3},
                                {"scalar_five", 5}, {"scalar_three", 3}}) {
    TensorData scalar;
    scalar.is_float = false, scalar.ints = {v};
    file.initializers[name] = scalar;
  }
  file.initializers["one"] = ints({1});
  file.initializers["three"] = file.initializers["three_axis"] = ints({3});
  file.initializers["five"] = ints({5});
  return file;
}

TEST(OnnxMapping, SlicesOfHeightAndWidthToAnotherTensorsSizeBecomeOneCrop) {
  const detail::ModelData model = onnx::build_onnx(crop_model(crop_to_size_of_x()), "m.onnx", {});
  ASSERT_EQ(model.graph.nodes.size(), 2u);  // conv, crop
  const graph::Node& crop = model.graph.nodes.back();
  EXPECT_EQ(crop.op, "crop");
  EXPECT_EQ(crop.inputs, (std::vector<std::string>{"y", "x"}));
  EXPECT_EQ(crop.attr_ints("offset"), (graph::Ints{5, 3}));
}

TEST(OnnxMapping, UnsupportedSlicesOfActivationsAreRefusedNamingWhatIsSupported) {
  std::vector<NodeDef> nodes = crop_to_size_of_x();
  onnx::ModelFile file = crop_model(nodes);
  file.initializers["one"] = ints({-1});
  EXPECT_NE(refusal(file).find("node 'crop_h' (Slice): attribute 'steps' = [-1] is not "
                               "supported; supported: 1 on activations"),
            std::string::npos)
      << refusal(file);
  file = crop_model(nodes);
  file.initializers["two"] = ints({1});
  EXPECT_NE(refusal(file).find("node 'crop_h' (Slice): attribute 'axes' = [1] is not supported; "
                               "supported: 2 and 3 (height and width) on activations"),
            std::string::npos)
      << refusal(file);
  // Ends that are not the start plus x's size on that axis: here 5 + dim 3 on axis 2.
  nodes[nodes.size() - 2].inputs[2] = "ends_3";
  EXPECT_NE(refusal(crop_model(nodes)).find("node 'crop_h' (Slice): ends (dim 3 of 'x' + 3) "
                                            "for axis 2: on an activation, a crop to another "
                                            "activation's height and width is supported"),
            std::string::npos)
      << refusal(crop_model(nodes));
  // Half a crop read by anything but the Slice of the other axis.
  nodes = crop_to_size_of_x();
  nodes.back() = {"relu", "Relu", "", {"yh"}, {"out"}, {}};
  EXPECT_NE(refusal(crop_model(nodes)).find("node 'relu' (Relu): input 'yh' is a Slice of one "
                                            "axis of an activation"),
            std::string::npos);
  nodes.pop_back();
  EXPECT_NE(refusal(crop_model(nodes, "yh")).find("the graph output 'yh' is a Slice of one axis"),
            std::string::npos);
}

TEST(OnnxMapping, UnknownAttributeIsRefusedByName) {
  onnx::ModelFile file = model_with({}, "y");
  file.nodes[0].attrs["fancy"] = int_attr(1);
  const std::string error = refusal(file);
  EXPECT_NE(error.find("node 'conv' (Conv): the attribute 'fancy' is not supported for Conv "
                       "(supported: auto_pad, dilations, group, kernel_shape, pads, strides)"),
            std::string::npos)
      << error;
}

TEST(OnnxMapping, SamePaddingAtStrideTwoIsRefused) {
  onnx::ModelFile file = model_with({}, "y");
  file.nodes[0].attrs = {{"auto_pad", string_attr("SAME_UPPER")}, {"strides", ints_attr({2, 2})}};
  EXPECT_NE(refusal(file).find("attribute 'auto_pad' = SAME_UPPER with strides [2, 2] is not "
                               "supported"),
            std::string::npos);
}

TEST(OnnxMapping, FinalArgMaxIsLeftOutAndSaidSo) {
  onnx::ModelFile file = model_with(
      {{"argmax", "ArgMax", "", {"y"}, {"labels"}, {{"axis", int_attr(1)}}}}, "labels");
  const detail::ModelData model = onnx::build_onnx(file, "m.onnx", {});
  EXPECT_EQ(model.graph.outputs, std::vector<std::string>{"y"});
  bool noted = false;
  for (const std::string& note : model.notes) noted |= note.find("ArgMax") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(OnnxMapping, ArgMaxReadByAnotherNodeIsRefused) {
  onnx::ModelFile file =
      model_with({{"argmax", "ArgMax", "", {"y"}, {"labels"}, {{"axis", int_attr(1)}}},
                  {"relu", "Relu", "", {"labels"}, {"out"}, {}}},
                 "out");
  EXPECT_NE(refusal(file).find("node 'relu' (Relu): input 'labels' is an ArgMax's output"),
            std::string::npos);
}

TEST(OnnxMapping, SoftmaxBeforeOpset13IsRefused) {
  onnx::ModelFile file =
      model_with({{"softmax", "Softmax", "", {"y"}, {"p"}, {{"axis", int_attr(1)}}}}, "p", 11);
  EXPECT_NE(refusal(file).find("node 'softmax' (Softmax): Softmax before opset 13"),
            std::string::npos);
}

TEST(OnnxMapping, ConstantOperandsBecomeConstantNodesAndShapesFold) {
  onnx::ModelFile file = model_with(
      {{"shape", "Shape", "", {"bias"}, {"bias_shape"}, {}},
       {"fill", "ConstantOfShape", "", {"bias_shape"}, {"ones"},
        {{"value", [] {
            Attribute a;
            a.kind = Attribute::Kind::Tensor;
            a.t = std::make_shared<TensorData>(floats({1}, 1.0f));
            return a;
          }()}}},
       {"sum", "Add", "", {"bias", "ones"}, {"bias2"}, {}},
       {"add", "Add", "", {"y", "bias2"}, {"out"}, {}}},
      "out");
  file.initializers["bias"] = floats({4, 1, 1}, 0.5f);
  const detail::ModelData model = onnx::build_onnx(file, "m.onnx", {});
  ASSERT_EQ(model.graph.nodes.size(), 3u);  // conv, constant, add
  EXPECT_EQ(model.graph.nodes[1].op, "constant");
  const graph::WeightTensor& value = model.weights.at(model.graph.nodes[1].weight("value"));
  EXPECT_EQ(value.shape, (std::vector<int64_t>{4, 1, 1}));
  EXPECT_EQ(value.values, std::vector<float>(4, 1.5f));
}

TEST(OnnxMapping, GraphsOfManyInputsOrNoChannelsAreRefused) {
  onnx::ModelFile file = model_with({}, "y");
  file.inputs.push_back(file.inputs[0]);
  file.inputs.back().name = "second";
  EXPECT_NE(refusal(file).find("the graph has 2 inputs"), std::string::npos);
  file.inputs.resize(1);
  file.inputs[0].dims[1] = std::nullopt;
  EXPECT_NE(refusal(file).find("with a fixed channel count"), std::string::npos);
}

// Found by fuzz_onnx: repeated axes once read past a scalar's dims.
TEST(OnnxMapping, UnsqueezeWithRepeatedAxesIsRefused) {
  onnx::ModelFile file =
      model_with({{"unsqueeze", "Unsqueeze", "", {"scalar", "axes"}, {"u"}, {}}}, "y");
  TensorData scalar;
  scalar.is_float = false, scalar.ints = {3};
  file.initializers["scalar"] = scalar;
  file.initializers["axes"] = ints({0, 0});
  EXPECT_NE(refusal(file).find("node 'unsqueeze' (Unsqueeze): axes [0, 0] repeat an axis"),
            std::string::npos);
}

TEST(OnnxMapping, AnOutputProducedTwiceIsRefused) {
  onnx::ModelFile file = model_with({{"again", "Relu", "", {"x"}, {"y"}, {}}}, "y");
  EXPECT_NE(refusal(file).find("node 'again' (Relu): its output 'y' is produced twice"),
            std::string::npos);
}

}  // namespace
}  // namespace vkseg::test
