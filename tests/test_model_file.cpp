// The .vkseg loader refuses every inconsistent file with a one-line reason naming the file.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <algorithm>
#include <iterator>
#include <map>

#include <nlohmann/json.hpp>

#include "graph/model_data.hpp"
#include "harness.hpp"
#include "io/safetensors.hpp"

namespace vkseg::test {
namespace {

namespace fs = std::filesystem;

// A tiny valid model: conv 3->4 (3x3, pad 1, ReLU), then a crop back to the input size.
detail::ModelData tiny_model() {
  detail::ModelData m;
  m.arch = "test";
  m.graph.input = "image";
  m.graph.nodes = {
      graph::make_node("conv", "conv2d", {"image"},
                       {{"pads", graph::Ints{2, 2, 2, 2}}, {"activation", std::string("relu")}},
                       {{"weight", "conv.weight"}, {"bias", "conv.bias"}}),
      graph::make_node("score", "crop", {"conv", "image"}, {{"offset", graph::Ints{1, 1}}})};
  m.graph.outputs = {"score"};
  m.weights["conv.weight"] = {{4, 3, 3, 3}, random_floats(108)};
  m.weights["conv.bias"] = {{4}, random_floats(4)};
  m.classes = detail::default_classes(4);
  return m;
}

std::string temp_path(const std::string& name) {
  return (temp_dir() / name).string();
}

// The message of the Error that loading `path` throws: one line, starting with the path.
std::string load_error_of(const std::string& path) {
  try {
    Model::load(path);
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_EQ(message.rfind(path, 0), 0u) << "the message does not start with the path: " << message;
    return message;
  }
  ADD_FAILURE() << path << " loaded";
  return {};
}

// Saves the tiny model, lets `tamper` edit the raw safetensors content, and loads the result.
std::string load_error(const std::function<void(io::SafetensorsFile&)>& tamper) {
  const std::string path = temp_path("tampered.vkseg");
  detail::save_model(tiny_model(), path);
  io::SafetensorsFile file = io::read_safetensors(path);
  tamper(file);
  io::write_safetensors(path, file.tensors, file.metadata);
  return load_error_of(path);
}

void edit_graph(io::SafetensorsFile& f, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json graph = nlohmann::json::parse(f.metadata.at("graph"));
  edit(graph);
  f.metadata["graph"] = graph.dump();
}

TEST(ModelFile, RoundTripsAndRuns) {
  const std::string path = temp_path("tiny.vkseg");
  detail::ModelData m = tiny_model();
  m.weight_dtype = "fp16";
  detail::save_model(m, path);
  const Model model = Model::load(path);
  EXPECT_EQ(model.arch(), "test");
  EXPECT_EQ(model.weight_dtype(), "fp16");
  EXPECT_EQ(model.parameter_count(), 112u);
  EXPECT_EQ(model.classes().size(), 4u);
  EXPECT_EQ(model.classes()[1].rgb, (std::array<uint8_t, 3>{128, 0, 0}));
  Network network(context(), model);
  Session session(network, 2, 5, 7);
  EXPECT_EQ(session.output_shape(), (Shape4{2, 4, 5, 7}));
}

// A network keeps no host copy of the weights: one made from a model that is then dropped runs as
// one whose model is kept, and its own model describes the network but cannot make another.
TEST(ModelFile, NetworkRunsWithoutTheHostWeights) {
  const std::string path = temp_path("tiny.vkseg");
  detail::save_model(tiny_model(), path);
  const Model kept = Model::load(path);
  Network reference(context(), kept);
  Network network(context(), Model::load(path));
  EXPECT_EQ(network.model().parameter_count(), 112u);
  EXPECT_EQ(network.model().arch(), "test");
  EXPECT_EQ(network.model().classes().size(), 4u);
  EXPECT_EQ(kept.parameter_count(), 112u);
  const std::vector<float> x = random_floats(2 * 3 * 5 * 7);
  std::vector<float> expected(2 * 4 * 5 * 7), got(expected.size());
  Session(reference, 2, 5, 7).run(x.data(), expected.data());
  Session(network, 2, 5, 7).run(x.data(), got.data());
  EXPECT_EQ(got, expected);
  EXPECT_CONTAINS(error_of([&] { Network another(context(), network.model()); }),
                  "load the model file again");
  Network again(context(), kept);  // the caller's model still holds them
}

// Files of format version 1 (the bundled demo model, and every file converted before the graph
// engine) load, upgraded to today's ops, and save again as version 2 with the same graph.
TEST(ModelFile, ReadsFormatVersion1) {
  const std::string demo = std::string(VKSEG_SOURCE_DIR) + "/weights/demo/demo_fcn8s.vkseg";
  EXPECT_EQ(io::read_safetensors(demo).metadata.at("format_version"), "1");
  const Model v1 = Model::load(demo);
  EXPECT_EQ(v1.arch(), "fcn8s");
  std::map<std::string, std::string> ops;
  for (const graph::Node& n : detail::ModelAccess::data(v1).graph.nodes) ops[n.name] = n.op;
  EXPECT_EQ(ops.at("conv1_1"), "conv2d");
  EXPECT_EQ(ops.at("pool5"), "max_pool2d");
  const graph::Node& conv = *std::find_if(detail::ModelAccess::data(v1).graph.nodes.begin(),
                                          detail::ModelAccess::data(v1).graph.nodes.end(),
                                          [](const graph::Node& n) { return n.name == "conv1_1"; });
  EXPECT_EQ(conv.attr_string("activation"), "relu");
  EXPECT_EQ(conv.attr_ints("pads"), (graph::Ints{1, 1, 1, 1}));
  detail::ModelData copy = detail::ModelAccess::data(v1);
  const std::string path = temp_path("demo_v2.vkseg");
  detail::save_model(copy, path);
  EXPECT_EQ(io::read_safetensors(path).metadata.at("format_version"), "2");
  const Model v2 = Model::load(path);
  const std::vector<float> x = random_floats(3 * 64 * 64);
  auto logits = [&](const Model& model) {
    Network network(context(), model);
    Session session(network, 1, 64, 64);
    std::vector<float> out(session.logits_range().size / 4);
    session.run(x.data(), out.data());
    return out;
  };
  EXPECT_EQ(logits(v1), logits(v2));
}

TEST(ModelFile, RefusesFilesThatAreNotModels) {
  const std::string garbage = temp_path("garbage.vkseg");
  { std::ofstream(garbage) << "not a model at all"; }
  EXPECT_CONTAINS(load_error_of(garbage), "safetensors header length");
  EXPECT_CONTAINS(load_error_of(temp_path("missing.vkseg")), "no such file");
  EXPECT_CONTAINS(load_error([](auto& f) { f.metadata.erase("format"); }), "not a vkseg model");
  EXPECT_CONTAINS(load_error([](auto& f) { f.metadata["format_version"] = "3"; }), "version '3'");
  EXPECT_CONTAINS(load_error([](auto& f) { f.metadata["graph"] = "{nodes: "; }),
                  "metadata 'graph' is not valid JSON");
  EXPECT_CONTAINS(load_error([](auto& f) { f.metadata.erase("classes"); }), "classes");
  EXPECT_CONTAINS(load_error([](auto& f) { f.metadata["input_channels"] = "9"; }),
                  "input_channels");
  // Preprocessing numbers must be floats: 1e39 would become infinity (converting it is UB).
  auto with_preprocess = [](const char* key, double value) {
    return [=](io::SafetensorsFile& f) {
      nlohmann::json p = nlohmann::json::parse(f.metadata.at("preprocess"));
      if (p[key].is_array()) p[key][1] = value; else p[key] = value;
      f.metadata["preprocess"] = p.dump();
    };
  };
  EXPECT_CONTAINS(load_error(with_preprocess("mean", 1e39)), "'mean' values must be finite floats");
  EXPECT_CONTAINS(load_error(with_preprocess("std", -1e300)), "'std' values must be finite floats");
  EXPECT_CONTAINS(load_error(with_preprocess("scale", 1e39)), "'scale' values must be finite floats");
  EXPECT_CONTAINS(load_error(with_preprocess("std", 0)), "std values must be non-zero");
}

// A graph, preprocessing or class list nested far deeper than any model needs is refused before
// it is parsed; a copy or dump of the parsed value would recurse once per level.
TEST(HostileInput, DeepNestingInModelMetadataIsRefused) {
  const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  for (const char* key : {"graph", "preprocess", "classes"}) {
    EXPECT_CONTAINS(load_error([&](auto& f) { f.metadata[key] = deep; }),
                    fmt::format("metadata '{}' nests arrays and objects deeper than 64 levels", key));
  }
  // An object naming a key twice would keep only one of the values.
  EXPECT_CONTAINS(load_error([](auto& f) {
    f.metadata["graph"].insert(1, R"("input":"image",)");
  }), "metadata 'graph' names 'input' twice in one object");
}

// Every prefix of a valid model, the empty file included.
TEST(ModelFile, RefusesTruncatedFiles) {
  const std::string whole = temp_path("whole.vkseg");
  detail::save_model(tiny_model(), whole);
  std::ifstream in(whole, std::ios::binary);
  const std::string bytes(std::istreambuf_iterator<char>(in), {});
  const std::string path = temp_path("truncated.vkseg");
  for (size_t length = 0; length < bytes.size(); ++length) {
    SCOPED_TRACE(length);
    { std::ofstream(path, std::ios::binary) << bytes.substr(0, length); }
    load_error_of(path);
  }
}

TEST(ModelFile, RefusesGraphsThatCannotRun) {
  EXPECT_CONTAINS(load_error([](auto& f) {
    edit_graph(f, [](auto& g) { g["nodes"][0]["op"] = "gelu"; });
  }), "unknown op 'gelu'");
  EXPECT_CONTAINS(load_error([](auto& f) {  // the conv reads the crop's output: a cycle
    edit_graph(f, [](auto& g) { g["nodes"][0]["inputs"][0] = "score"; });
  }), "cycle");
  EXPECT_CONTAINS(load_error([](auto& f) {
    edit_graph(f, [](auto& g) { g["nodes"][1]["inputs"][0] = "nowhere"; });
  }), "'nowhere'");
  EXPECT_CONTAINS(load_error([](auto& f) {
    edit_graph(f, [](auto& g) { g["nodes"][1]["outputs"][0] = "conv"; });
  }), "produced twice");
  EXPECT_CONTAINS(load_error([](auto& f) {
    edit_graph(f, [](auto& g) { g["nodes"][1]["name"] = "conv"; });
  }), "another node has the same name");
  EXPECT_CONTAINS(load_error([](auto& f) {
    edit_graph(f, [](auto& g) { g["outputs"][0] = "ghost"; });
  }), "output 'ghost'");
  EXPECT_CONTAINS(load_error([](auto& f) {
    edit_graph(f, [](auto& g) { g["nodes"][0]["attrs"]["stride"] = {0, 1}; });
  }), "'stride' value 0 is outside");
  EXPECT_CONTAINS(load_error([](auto& f) {
    edit_graph(f, [](auto& g) { g["nodes"][0]["attrs"]["stride"] = {1, 1, 1}; });
  }), "'stride' must hold 2 values");
  EXPECT_CONTAINS(load_error([](auto& f) {
    edit_graph(f, [](auto& g) { g["nodes"][0]["attrs"]["stride"] = "wide"; });
  }), "'stride' has the wrong type");
  EXPECT_CONTAINS(load_error([](auto& f) {
    edit_graph(f, [](auto& g) { g["nodes"][0]["attrs"]["activation"] = "swish"; });
  }), "'activation' is 'swish'; supported: none, relu");
  EXPECT_CONTAINS(load_error([](auto& f) {
    edit_graph(f, [](auto& g) { g["nodes"][0]["attrs"]["groups"] = 3; });
  }), "groups");
  EXPECT_CONTAINS(load_error([](auto& f) {  // 2^32 + 3 must not wrap to a valid 3
    edit_graph(f, [](auto& g) { g["nodes"][0]["attrs"]["dilation"] = {4294967299ull, 3}; });
  }), "outside");
  EXPECT_CONTAINS(load_error([](auto& f) {
    edit_graph(f, [](auto& g) { g["nodes"][0]["attrs"]["groups"] = 4294967297ull; });
  }), "'groups' value 4294967297 is outside");
  EXPECT_CONTAINS(load_error([](auto& f) {
    edit_graph(f, [](auto& g) { g["nodes"][0]["attrs"]["kernel"] = {5, 5}; });
  }), "unknown attribute 'kernel'");
  EXPECT_CONTAINS(load_error([](auto& f) {
    edit_graph(f, [](auto& g) { g["nodes"][0]["weights"]["weight"] = "missing.weight"; });
  }), "'missing.weight' is not in the file");
  EXPECT_CONTAINS(load_error([](auto& f) {
    edit_graph(f, [](auto& g) { g["nodes"][0]["weights"]["scale"] = "conv.bias"; });
  }), "unknown weight role 'scale'");
  EXPECT_CONTAINS(load_error([](auto& f) {
    edit_graph(f, [](auto& g) { g["nodes"][1]["inputs"].push_back("conv"); });
  }), "takes 2 input(s), not 3");
  // Channel counts that do not follow from layer to layer are refused at load too.
  EXPECT_CONTAINS(load_error([](auto& f) { f.metadata["input_channels"] = "2"; }),
                  "weight 'conv.weight' takes 3 channels but its input 'image' has 2");
  EXPECT_CONTAINS(load_error([](auto& f) {  // adds the 3-channel image to the 4-channel conv
    edit_graph(f, [](auto& g) { g["nodes"][1]["op"] = "crop_add"; });
  }), "graph node 'score' (crop_add): its inputs have 4 and 3 channels");
  // Attributes no input size makes possible are refused at load, not when a network is built.
  EXPECT_CONTAINS(load_error([](auto& f) {
    edit_graph(f, [](auto& g) {
      g["nodes"].push_back({{"name", "pool"}, {"op", "max_pool2d"}, {"inputs", {"conv"}},
                            {"outputs", {"pool"}},
                            {"attrs", {{"kernel", {2, 2}}, {"stride", {2, 2}},
                                       {"pads", {2, 0, 2, 0}}}}});
    });
  }), "graph node 'pool' (max_pool2d): 'pads' 2x0x2x0 exceed half the 2x2 kernel");
  EXPECT_CONTAINS(load_error([](auto& f) {
    edit_graph(f, [](auto& g) {
      g["nodes"][0]["op"] = "conv_transpose2d";
      for (const char* a : {"activation", "activation_alpha", "activation_beta"}) {
        g["nodes"][0]["attrs"].erase(a);
      }
      g["nodes"][0]["attrs"]["output_padding"] = {0, 1};
    });
  }), "graph node 'conv' (conv_transpose2d): 'output_padding' 0x1 must be smaller than the "
      "stride 1x1 or the dilation");
  EXPECT_CONTAINS(load_error([](auto& f) {  // refused before it is parsed
    f.metadata["graph"] = std::string(100000, '[') + std::string(100000, ']');
  }), "metadata 'graph' nests arrays and objects deeper than 64 levels");
  EXPECT_CONTAINS(load_error([](auto& f) {
    edit_graph(f, [](auto& g) { g["nodes"][0]["weights"].erase("bias"); });
  }), "used by no layer");
}

TEST(ModelFile, RefusesWeightsThatDoNotFit) {
  EXPECT_CONTAINS(load_error([](auto& f) {
    for (auto& t : f.tensors) {
      if (t.name == "conv.bias") {
        t.shape = {2};
        t.data.resize(8);
      }
    }
  }), "bias 'conv.bias' must hold 4 values");
  // An empty tensor's other dimensions are not bounded by its byte count: this one made the bias
  // check multiply 2^62 by 65536 groups past int64 (UBSan: signed integer overflow), and copying
  // its values passed memcpy a null pointer.
  EXPECT_CONTAINS(load_error([](auto& f) {
    for (auto& t : f.tensors) {
      if (t.name == "conv.weight") {
        t.shape = {0, int64_t(1) << 62, 3, 3};
        t.data.clear();
      }
    }
    edit_graph(f, [](auto& g) {
      g["nodes"][0]["op"] = "conv_transpose2d";
      for (const char* a : {"activation", "activation_alpha", "activation_beta"}) {
        g["nodes"][0]["attrs"].erase(a);
      }
      g["nodes"][0]["attrs"]["groups"] = 65536;
    });
  }), "tensor 'conv.weight' holds no values");
  // Every tensor is stored in the model's weight dtype, which is fp32 or fp16.
  EXPECT_CONTAINS(load_error([](auto& f) {
    for (auto& t : f.tensors) {
      if (t.name == "conv.bias") {
        t.dtype = "F16";
        t.data.resize(8);
      }
    }
  }), "tensor 'conv.bias' has dtype F16; this fp32 model holds F32");
  EXPECT_CONTAINS(load_error([](auto& f) { f.metadata["weight_dtype"] = "fp64"; }),
                  "weight_dtype 'fp64' is not fp32 or fp16");
  // The writer only writes float dtypes: relabel the bias as I32 (same size) in the raw header.
  const std::string path = temp_path("int_bias.vkseg");
  detail::save_model(tiny_model(), path);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const size_t at = bytes.find("\"conv.bias\":{\"dtype\":\"F32\"");
  ASSERT_NE(at, std::string::npos);
  bytes.replace(bytes.find("F32", at), 3, "I32");
  { std::ofstream(path, std::ios::binary) << bytes; }
  try {
    Model::load(path);
    ADD_FAILURE() << "an integer bias was accepted";
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), "dtype I32");
  }
}

TEST(ModelFile, SessionRefusesInputsTooSmallForTheCrop) {
  detail::ModelData m = tiny_model();
  // A window 3 rows down does not fit a 5-row map + 2 padding.
  m.graph.nodes[1].attrs["offset"] = graph::Ints{3, 0};
  const std::string path = temp_path("offset.vkseg");
  detail::save_model(m, path);
  Network network(context(), Model::load(path));
  try {
    Session(network, 1, 5, 5);
    ADD_FAILURE() << "an impossible crop was planned";
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), "layer 'score'");
  }
}

}  // namespace
}  // namespace vkseg::test
