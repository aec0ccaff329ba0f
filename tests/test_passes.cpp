// Each graph pass on small graphs: what it rewrites (and what it must leave alone), and that the
// rewritten network computes what the original does on the device, within fp32 rounding
// (relative 1e-4 plus 1e-5 absolute: folding reorders one multiply per weight).
#include <fmt/format.h>

#include "graph/model_data.hpp"
#include "graph/passes/passes.hpp"
#include "graph/validate.hpp"
#include "harness.hpp"

namespace vkseg::test {
namespace {

using graph::Ints;
using graph::make_node;
using graph::Node;

graph::WeightTensor weight(std::vector<int64_t> shape, float lo = -1.0f, float hi = 1.0f) {
  size_t count = 1;
  for (int64_t d : shape) count *= size_t(d);
  return {std::move(shape), random_floats(count, lo, hi)};
}

detail::ModelData model_of(std::vector<Node> nodes, graph::Weights weights,
                           uint32_t input_channels = 3) {
  detail::ModelData m;
  m.arch = "test";
  m.graph.input = "image";
  m.graph.nodes = std::move(nodes);
  m.graph.outputs = {m.graph.nodes.back().outputs[0]};
  m.weights = std::move(weights);
  m.input_channels = input_channels;
  graph::Graph copy = m.graph;
  m.classes = detail::default_classes(
      uint32_t(graph::validate(copy, m.weights, input_channels).front()));
  return m;
}

// The graph's ops in order, "name:op".
std::vector<std::string> ops_of(const detail::ModelData& m) {
  std::vector<std::string> ops;
  for (const Node& n : m.graph.nodes) ops.push_back(n.name + ":" + n.op);
  return ops;
}

std::vector<float> run_model(const detail::ModelData& m, const std::vector<float>& x,
                             uint32_t n, uint32_t h, uint32_t w) {
  const Model model = detail::ModelAccess::make(std::make_shared<detail::ModelData>(m));
  Network network(context(), model);
  Session session(network, n, h, w);
  const Shape4 out = session.output_shape();
  std::vector<float> y(size_t(out[0]) * out[1] * out[2] * out[3]);
  session.run(x.data(), y.data());
  return y;
}

// Validates `raw`, optimises a copy, and expects both to give the same outputs on a random
// 2 x C x 9 x 11 input. Returns the optimised model.
detail::ModelData expect_same_outputs(detail::ModelData raw) {
  detail::validate_model(raw);
  detail::ModelData optimised = raw;
  graph::optimize(optimised);
  const std::vector<float> x = random_floats(2 * raw.input_channels * 9 * 11, -2.0f, 2.0f);
  EXPECT_TRUE(all_close(run_model(optimised, x, 2, 9, 11), run_model(raw, x, 2, 9, 11), 1e-4f,
                        1e-5f));
  return optimised;
}

Node conv(const std::string& name, const std::string& input, Ints pads = {1, 1, 1, 1}) {
  return make_node(name, "conv2d", {input}, {{"pads", pads}},
                   {{"weight", name + ".w"}, {"bias", name + ".b"}});
}

Node batch_norm(const std::string& name, const std::string& input) {
  return make_node(name, "batch_norm", {input}, {{"epsilon", 1e-3}},
                   {{"mean", name + ".mean"}, {"var", name + ".var"}, {"scale", name + ".scale"},
                    {"bias", name + ".bias"}});
}

void add_batch_norm_weights(graph::Weights& w, const std::string& name, int64_t c) {
  w[name + ".mean"] = weight({c});
  w[name + ".var"] = weight({c}, 0.1f, 2.0f);
  w[name + ".scale"] = weight({c});
  w[name + ".bias"] = weight({c});
}

TEST(GraphPasses, RemoveIdentitiesPointsReadersAtTheSource) {
  graph::Weights w{{"a.w", weight({4, 3, 3, 3})}, {"a.b", weight({4})}};
  detail::ModelData m = model_of({conv("a", "image"), make_node("drop", "dropout", {"a"}),
                                  make_node("id", "identity", {"drop"}),
                                  make_node("act", "relu", {"id"}),
                                  make_node("out", "identity", {"act"})},
                                 w);
  const detail::ModelData optimised = expect_same_outputs(m);
  // The relu then went into the convolution, which now writes the graph's output itself.
  EXPECT_EQ(ops_of(optimised), (std::vector<std::string>{"a:conv2d"}));
  EXPECT_EQ(optimised.graph.nodes[0].outputs[0], "out");
  // An identity of the graph's input is the only way to name that output: it stays.
  detail::ModelData passthrough = model_of({make_node("out", "identity", {"image"})}, {});
  detail::validate_model(passthrough);
  graph::remove_identities(passthrough);
  EXPECT_EQ(ops_of(passthrough), (std::vector<std::string>{"out:identity"}));
}

TEST(GraphPasses, FoldBatchNormIntoConvolutionsWithAndWithoutBias) {
  graph::Weights w{{"a.w", weight({5, 3, 3, 3})}, {"a.b", weight({5})},
                   {"b.w", weight({4, 5, 1, 1})}, {"b.b", weight({4})}};
  add_batch_norm_weights(w, "bn_a", 5);
  add_batch_norm_weights(w, "bn_b", 4);
  Node b = conv("b", "bn_a", {0, 0, 0, 0});
  b.weights.erase("bias");
  w.erase("b.b");
  const detail::ModelData optimised = expect_same_outputs(model_of(
      {conv("a", "image"), batch_norm("bn_a", "a"), b, batch_norm("bn_b", "b"),
       make_node("act", "relu", {"bn_b"})},
      w));
  EXPECT_EQ(ops_of(optimised), (std::vector<std::string>{"a:conv2d", "b:conv2d"}));
  EXPECT_EQ(optimised.graph.nodes[1].attr_string("activation"), "relu");
  EXPECT_FALSE(optimised.graph.nodes[1].weight("bias").empty());  // created for the shift
  EXPECT_EQ(optimised.weights.count("bn_a.mean"), 0u);            // unused weights dropped
}

TEST(GraphPasses, FoldBatchNormIntoGroupedTransposedConvolution) {
  graph::Weights w{{"pre.w", weight({6, 3, 3, 3})}, {"pre.b", weight({6})},
                   {"up.w", weight({6, 2, 4, 4})}, {"up.b", weight({6})}};
  add_batch_norm_weights(w, "bn", 6);
  Node up = make_node("up", "conv_transpose2d", {"pre"},
                      {{"stride", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}, {"groups", int64_t(3)}},
                      {{"weight", "up.w"}, {"bias", "up.b"}});
  const detail::ModelData optimised =
      expect_same_outputs(model_of({conv("pre", "image"), up, batch_norm("bn", "up")}, w));
  EXPECT_EQ(ops_of(optimised), (std::vector<std::string>{"pre:conv2d", "up:conv_transpose2d"}));
}

TEST(GraphPasses, FoldBatchNormLeavesWhatItCannotFold) {
  graph::Weights w{{"a.w", weight({4, 3, 3, 3})}, {"a.b", weight({4})}};
  add_batch_norm_weights(w, "bn", 4);
  add_batch_norm_weights(w, "bn2", 3);
  // The convolution's output is read twice (by the batch norm and the sum), and a batch norm
  // follows the input itself: neither folds.
  const detail::ModelData optimised = expect_same_outputs(model_of(
      {conv("a", "image"), batch_norm("bn", "a"), make_node("sum", "add", {"bn", "a"}),
       batch_norm("bn2", "image"), make_node("c", "concat", {"sum", "bn2"})},
      w));
  EXPECT_EQ(ops_of(optimised), (std::vector<std::string>{"a:conv2d", "bn:batch_norm", "sum:add",
                                                         "bn2:batch_norm", "c:concat"}));
}

TEST(GraphPasses, FoldingNeverChangesAWeightAnotherNodeShares) {
  graph::Weights w{{"shared.w", weight({3, 3, 3, 3})}, {"shared.b", weight({3})}};
  add_batch_norm_weights(w, "bn", 3);
  Node a = conv("a", "image"), b = conv("b", "image");
  for (Node* n : {&a, &b}) n->weights = {{"weight", "shared.w"}, {"bias", "shared.b"}};
  const detail::ModelData optimised = expect_same_outputs(
      model_of({a, batch_norm("bn", "a"), b, make_node("sum", "add", {"bn", "b"})}, w));
  EXPECT_EQ(ops_of(optimised), (std::vector<std::string>{"a:conv2d", "b:conv2d", "sum:add"}));
  EXPECT_NE(optimised.graph.nodes[0].weight("weight"), optimised.graph.nodes[1].weight("weight"));
  EXPECT_EQ(optimised.weights.at("shared.w").values, w.at("shared.w").values);
}

TEST(GraphPasses, FoldConstantsScalingBeforeConvolutions) {
  // x * c (per input channel) read by a grouped and a plain convolution; then x / 4.
  graph::Weights w{{"k", weight({3, 1, 1}, 0.5f, 2.0f)}, {"four", {{}, {4.0f}}},
                   {"a.w", weight({6, 1, 3, 3})}, {"a.b", weight({6})},
                   {"b.w", weight({2, 3, 1, 1})}, {"b.b", weight({2})}};
  Node a = conv("a", "scaled");
  a.attrs["groups"] = int64_t(3);
  const detail::ModelData optimised = expect_same_outputs(model_of(
      {make_node("k", "constant", {}, {}, {{"value", "k"}}), make_node("scaled", "mul", {"k", "image"}),
       a, make_node("four", "constant", {}, {}, {{"value", "four"}}),
       make_node("quarter", "div", {"scaled", "four"}), conv("b", "quarter", {0, 0, 0, 0}),
       make_node("out", "concat", {"a", "b"})},
      w));
  // The division stays: its reader would fold it, but its input is the multiplication, which
  // another convolution reads too; the multiplication stays for the same reason.
  EXPECT_EQ(ops_of(optimised),
            (std::vector<std::string>{"k:constant", "scaled:mul", "a:conv2d", "b:conv2d", "out:concat"}));
  // FCN8sAtOnce's shape: x * 0.01 read by one convolution only folds away entirely.
  graph::Weights w2{{"f", {{}, {0.01f}}}, {"s.w", weight({4, 3, 1, 1})}, {"s.b", weight({4})}};
  const detail::ModelData at_once = expect_same_outputs(model_of(
      {make_node("f", "constant", {}, {}, {{"value", "f"}}), make_node("x", "mul", {"image", "f"}),
       conv("s", "x", {0, 0, 0, 0})},
      w2));
  EXPECT_EQ(ops_of(at_once), (std::vector<std::string>{"s:conv2d"}));
}

TEST(GraphPasses, FoldConstantsArithmeticAfterConvolutions) {
  for (const std::string op : {"add", "sub", "mul", "div"}) {
    for (const bool constant_first : {false, true}) {
      SCOPED_TRACE(fmt::format("{} constant first {}", op, constant_first));
      graph::Weights w{{"a.w", weight({4, 3, 3, 3})}, {"a.b", weight({4})},
                       {"c", weight({1, 4, 1, 1}, 0.5f, 2.0f)}};
      const std::vector<std::string> in =
          constant_first ? std::vector<std::string>{"c", "a"} : std::vector<std::string>{"a", "c"};
      const detail::ModelData optimised = expect_same_outputs(
          model_of({conv("a", "image"), make_node("c", "constant", {}, {}, {{"value", "c"}}),
                    make_node("y", op, in)},
                   w));
      const bool folds = !(op == "div" && constant_first);  // c / conv is not linear
      EXPECT_EQ(ops_of(optimised).size(), folds ? 1u : 3u) << fmt::format("{}", ops_of(optimised).back());
    }
  }
}

TEST(GraphPasses, FoldConstantsEvaluatesArithmeticOnConstants) {
  graph::Weights w{{"r", weight({1, 3, 1, 11})}, {"c", weight({2, 1, 9, 1})}};
  detail::ModelData m = model_of(
      {make_node("r", "constant", {}, {}, {{"value", "r"}}),
       make_node("c", "constant", {}, {}, {{"value", "c"}}), make_node("outer", "mul", {"r", "c"}),
       make_node("y", "add", {"image", "outer"})},
      w);
  m.graph.nodes.back().attrs["activation"] = std::string("relu");
  const detail::ModelData optimised = expect_same_outputs(m);
  EXPECT_EQ(ops_of(optimised), (std::vector<std::string>{"outer:constant", "y:add"}));
  EXPECT_EQ(optimised.weights.at(optimised.graph.nodes[0].weight("value")).shape,
            (std::vector<int64_t>{2, 3, 9, 11}));
}

TEST(GraphPasses, FuseActivationsIntoConvolutionsAndArithmetic) {
  graph::Weights w{{"a.w", weight({4, 3, 3, 3})}, {"a.b", weight({4})},
                   {"b.w", weight({4, 3, 3, 3})}, {"b.b", weight({4})}};
  const detail::ModelData optimised = expect_same_outputs(model_of(
      {conv("a", "image"), make_node("ra", "leaky_relu", {"a"}, {{"alpha", 0.2}}),
       conv("b", "image"), make_node("sum", "add", {"ra", "b"}), make_node("r6", "clip", {"sum"},
                                                                          {{"min", 0.0}, {"max", 6.0}}),
       // b is read twice: its own activation cannot go into it.
       make_node("rb", "sigmoid", {"b"}), make_node("out", "mul", {"r6", "rb"})},
      w));
  EXPECT_EQ(ops_of(optimised), (std::vector<std::string>{"a:conv2d", "b:conv2d", "sum:add",
                                                         "rb:sigmoid", "out:mul"}));
  EXPECT_EQ(optimised.graph.nodes[0].attr_string("activation"), "leaky_relu");
  EXPECT_EQ(optimised.graph.nodes[2].attr_string("activation"), "clip");
}

TEST(GraphPasses, FuseConvTransposeCropEveryWay) {
  auto up = [](const std::string& name, const std::string& in) {
    return make_node(name, "conv_transpose2d", {in}, {{"stride", Ints{2, 2}}},
                     {{"weight", name + ".w"}});
  };
  // Upsampling weights for `ups`, 3x3 convolution weights (with biases) for `convs`.
  auto weights = [](std::vector<std::string> ups, std::vector<std::string> convs) {
    graph::Weights w;
    for (const std::string& u : ups) w[u + ".w"] = weight({3, 3, 4, 4});
    for (const std::string& c : convs) w[c + ".w"] = weight({3, 3, 3, 3}), w[c + ".b"] = weight({3});
    return w;
  };
  // A crop of the upsampled map (FCN's score): 20x24 cut to the 9x11 input.
  const detail::ModelData crop = expect_same_outputs(model_of(
      {up("u", "image"), make_node("out", "crop", {"u", "image"}, {{"offset", Ints{1, 1}}})},
      weights({"u"}, {})));
  EXPECT_EQ(ops_of(crop), (std::vector<std::string>{"u:conv_transpose2d"}));
  EXPECT_EQ(crop.graph.nodes[0].attr_string("fuse"), "crop");
  // The upsampled map as the cropped source of a sum (FCN-8s's score_pool4 side, inverted).
  const detail::ModelData source = expect_same_outputs(model_of(
      {conv("p", "image"), up("a", "image"),
       make_node("out", "crop_add", {"a", "p"}, {{"offset", Ints{2, 3}}})},
      weights({"a"}, {"p"})));
  EXPECT_EQ(ops_of(source), (std::vector<std::string>{"p:conv2d", "a:conv_transpose2d"}));
  EXPECT_EQ(source.graph.nodes[1].attr_string("fuse"), "crop_add");
  // The upsampled map as the addend of a cropped sum (FCN's fuse_pool4).
  const detail::ModelData addend = expect_same_outputs(model_of(
      {make_node("small", "max_pool2d", {"image"}, {{"kernel", Ints{2, 2}}, {"stride", Ints{2, 2}}}),
       up("q", "small"), conv("r", "image", {5, 5, 5, 5}),
       make_node("out", "crop_add", {"r", "q"}, {{"offset", Ints{1, 2}}})},
      weights({"q"}, {"r"})));
  EXPECT_EQ(ops_of(addend), (std::vector<std::string>{"small:max_pool2d", "r:conv2d",
                                                      "q:conv_transpose2d"}));
  EXPECT_EQ(addend.graph.nodes[2].attr_string("fuse"), "add_cropped");
  EXPECT_EQ(addend.graph.nodes[2].outputs[0], "out");
}

}  // namespace
}  // namespace vkseg::test
