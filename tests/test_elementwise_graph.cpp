// add, sub, mul, div, prelu, batch_norm, constant, identity and dropout in model graphs: each op
// refuses a malformed node at load with a one-line message naming the node and what does not
// fit, and a network using all of them (constants broadcast against activations, add + ReLU fused
// by the graph passes, a save and load round trip) matches a CPU reference in double.
// Tolerance of the whole network: fp32 relative 1e-5 plus 1e-5 absolute (each op is exact to a
// few fp32 ulps, see the ops' own suites); fp16 relative and absolute 1e-2, as each of the seven
// stored intermediates (values up to about 10) rounds to fp16 (2^-11 relative) and sub and add
// may cancel them: still two orders of magnitude below a wrong operand or broadcast.
#include <fmt/format.h>

#include <cmath>

#include "graph/model_data.hpp"
#include "graph/passes/passes.hpp"
#include "harness.hpp"

namespace vkseg::test {
namespace {

using graph::make_node;

// A model whose graph is `nodes` on a 3-channel input "image", its output the last node's, with
// one class per output channel.
detail::ModelData model_of(std::vector<graph::Node> nodes, graph::Weights weights,
                           uint32_t classes = 3) {
  detail::ModelData m;
  m.arch = "test";
  m.graph.input = "image";
  m.graph.outputs = {nodes.back().output()};
  m.graph.nodes = std::move(nodes);
  m.weights = std::move(weights);
  m.classes = detail::default_classes(classes);
  return m;
}

graph::WeightTensor weight(std::vector<int64_t> shape, float lo = -1.0f, float hi = 1.0f) {
  size_t count = 1;
  for (int64_t d : shape) count *= size_t(d);
  return {std::move(shape), random_floats(count, lo, hi)};
}

// The one-line message validate_model refuses `m` with.
std::string refusal(detail::ModelData m) {
  try {
    detail::validate_model(m);
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  }
  ADD_FAILURE() << "the model was accepted";
  return {};
}

#define EXPECT_REFUSED(model, part) \
  do { \
    const std::string message = refusal(model); \
    EXPECT_NE(message.find(part), std::string::npos) << message; \
  } while (0)

TEST(ElementwiseGraph, BinaryOpsRefuseMalformedNodes) {
  for (const char* op : {"add", "sub", "mul", "div"}) {
    SCOPED_TRACE(op);
    EXPECT_REFUSED(model_of({make_node("y", op, {"image"})}, {}),
                   fmt::format("graph node 'y' ({}): takes 2 input(s), not 1", op));
    EXPECT_REFUSED(model_of({make_node("k", "constant", {}, {}, {{"value", "k"}}),
                             make_node("y", op, {"image", "k"})},
                            {{"k", weight({2, 1, 1})}}),
                   "inputs 'image' (3 channels) and 'k' (2) do not broadcast: channels must be "
                   "equal or 1 in one of them");
    EXPECT_REFUSED(
        model_of({make_node("y", op, {"image", "image"}, {{"activation", std::string("gelu")}})},
                 {}),
        "attribute 'activation' is 'gelu'; supported: none, relu");
  }
}

TEST(ElementwiseGraph, PReluRefusesMalformedNodes) {
  auto prelu = [](std::vector<int64_t> shape) {
    return model_of({make_node("p", "prelu", {"image"}, {}, {{"slope", "s"}})},
                    {{"s", weight(std::move(shape))}});
  };
  EXPECT_REFUSED(prelu({2}), "graph node 'p' (prelu): slope 's' must be of shape [C], [1], "
                             "[C,1,1] or [1,C,1,1] with C the input's 3 channels");
  EXPECT_REFUSED(prelu({3, 2}), "slope 's' must be of shape");
  EXPECT_REFUSED(prelu({1, 3, 1, 2}), "slope 's' must be of shape");
  EXPECT_REFUSED(model_of({make_node("p", "prelu", {"image"})}, {}),
                 "graph node 'p' (prelu): needs a 'slope' weight");
  for (std::vector<int64_t> fits : {std::vector<int64_t>{1}, {3}, {3, 1, 1}, {1, 3, 1, 1}}) {
    detail::ModelData m = prelu(fits);
    EXPECT_NO_THROW(detail::validate_model(m));
  }
}

TEST(ElementwiseGraph, BatchNormRefusesMalformedNodes) {
  auto bn = [](double epsilon, std::vector<int64_t> mean_shape, float var_low) {
    return model_of({make_node("bn", "batch_norm", {"image"}, {{"epsilon", epsilon}},
                               {{"mean", "m"}, {"var", "v"}, {"scale", "g"}})},
                    {{"m", weight(std::move(mean_shape))},
                     {"v", weight({3}, var_low, 1.0f)},
                     {"g", weight({3})}});
  };
  EXPECT_REFUSED(bn(0.0, {3}, 0.0f), "graph node 'bn' (batch_norm): 'epsilon' is 0; it must be "
                                     "positive");
  EXPECT_REFUSED(bn(-1e-5, {3}, 0.0f), "'epsilon' is -1e-05");
  EXPECT_REFUSED(bn(1e-5, {4}, 0.0f), "mean 'm' must hold one value per channel of its input (3)");
  EXPECT_REFUSED(bn(1e-5, {3, 1, 1}, 0.0f), "mean 'm' must hold one value per channel");
  EXPECT_REFUSED(bn(1e-5, {3}, -3.0f), "var + epsilon must be positive");
  EXPECT_REFUSED(model_of({make_node("bn", "batch_norm", {"image"}, {}, {{"mean", "m"}})},
                          {{"m", weight({3})}}),
                 "graph node 'bn' (batch_norm): needs a 'var' weight");
  detail::ModelData fits = bn(1e-5, {3}, 0.0f);
  EXPECT_NO_THROW(detail::validate_model(fits));
}

TEST(ElementwiseGraph, ConstantRefusesMalformedNodes) {
  auto constant = [](std::vector<std::string> inputs, std::vector<int64_t> shape) {
    return model_of({make_node("k", "constant", std::move(inputs), {}, {{"value", "k"}})},
                    {{"k", weight(std::move(shape))}});
  };
  EXPECT_REFUSED(constant({"image"}, {}), "graph node 'k' (constant): takes 0 input(s), not 1");
  EXPECT_REFUSED(constant({}, {1, 3, 1, 1, 1}),
                 "a tensor of shape [1, 3, 1, 1, 1] has 5 dimensions; at most 4 (NCHW) are "
                 "supported");
  EXPECT_REFUSED(constant({}, {3, 0}), "a tensor of shape [3, 0] has an extent outside");
  EXPECT_REFUSED(model_of({make_node("k", "constant", {})}, {}),
                 "graph node 'k' (constant): needs a 'value' weight");
}

TEST(ElementwiseGraph, IdentityAndDropoutRefuseMalformedNodes) {
  EXPECT_REFUSED(model_of({make_node("i", "identity", {"image", "image"})}, {}),
                 "graph node 'i' (identity): takes 1 input(s), not 2");
  EXPECT_REFUSED(model_of({make_node("d", "dropout", {"image"}, {{"ratio", 1.5}})}, {}),
                 "graph node 'd' (dropout): 'ratio' is 1.5; a dropout ratio is in [0, 1)");
  EXPECT_REFUSED(model_of({make_node("d", "dropout", {"image"}, {{"ratio", -0.1}})}, {}),
                 "'ratio' is -0.1");
  EXPECT_REFUSED(model_of({make_node("d", "dropout", {}, {})}, {}), "takes 1 input(s), not 0");
}

// Every op of this change in one network on a 2x3x5x4 input x:
//   y = relu(div(sub(dropout(prelu(batch_norm(x))), k), s) + row * col)
// with k a per-channel constant (1x3x1x1), s a scalar, row 1x3x1x4 and col 2x1x5x1 (their
// product broadcasts both ways), then an identity.
constexpr uint32_t k_n = 2, k_c = 3, k_h = 5, k_w = 4;

detail::ModelData every_op_model() {
  graph::Weights w{{"bn.mean", weight({3})},         {"bn.var", weight({3}, 0.2f, 2.0f)},
                   {"bn.scale", weight({3})},        {"bn.bias", weight({3})},
                   {"slope", weight({3}, 0.0f, 0.5f)}, {"k", weight({3, 1, 1})},
                   {"s", weight({}, 0.5f, 2.0f)},    {"row", weight({1, 3, 1, 4})},
                   {"col", weight({2, 1, 5, 1})}};
  return model_of(
      {make_node("bn", "batch_norm", {"image"}, {{"epsilon", 1e-3}},
                 {{"mean", "bn.mean"}, {"var", "bn.var"}, {"scale", "bn.scale"},
                  {"bias", "bn.bias"}}),
       make_node("pr", "prelu", {"bn"}, {}, {{"slope", "slope"}}),
       make_node("drop", "dropout", {"pr"}, {{"ratio", 0.3}}),
       make_node("k", "constant", {}, {}, {{"value", "k"}}),
       make_node("centred", "sub", {"drop", "k"}),
       make_node("s", "constant", {}, {}, {{"value", "s"}}),
       make_node("scaled", "div", {"centred", "s"}),
       make_node("row", "constant", {}, {}, {{"value", "row"}}),
       make_node("col", "constant", {}, {}, {{"value", "col"}}),
       make_node("outer", "mul", {"row", "col"}),
       make_node("sum", "add", {"scaled", "outer"}),
       make_node("act", "relu", {"sum"}),
       make_node("out", "identity", {"act"})},
      std::move(w));
}

std::vector<float> reference_every_op(const graph::Weights& w, const std::vector<float>& x) {
  auto v = [&](const char* name, size_t i) { return double(w.at(name).values[i]); };
  std::vector<float> y;
  for (uint32_t n = 0; n < k_n; ++n)
    for (uint32_t c = 0; c < k_c; ++c)
      for (uint32_t h = 0; h < k_h; ++h)
        for (uint32_t col = 0; col < k_w; ++col) {
          const double xi = x[((n * k_c + c) * k_h + h) * k_w + col];
          const double bn = (xi - v("bn.mean", c)) / std::sqrt(v("bn.var", c) + 1e-3) *
                                v("bn.scale", c) +
                            v("bn.bias", c);
          const double pr = bn >= 0 ? bn : v("slope", c) * bn;
          const double sum =
              (pr - v("k", c)) / v("s", 0) + v("row", c * k_w + col) * v("col", n * k_h + h);
          y.push_back(float(std::max(sum, 0.0)));
        }
  return y;
}

void check_every_op_network(const Model& model, Precision precision, const graph::Weights& weights) {
  SCOPED_TRACE(precision_name(precision));
  if (precision == Precision::Fp16 && !context().info().fp16_storage) return;
  Network network(context(), model, precision);
  Session session(network, k_n, k_h, k_w);
  ASSERT_EQ(session.output_shape(), (Shape4{k_n, k_c, k_h, k_w}));
  const std::vector<float> x = random_floats(k_n * k_c * k_h * k_w, -3.0f, 3.0f);
  std::vector<float> y(x.size());
  session.run(x.data(), y.data());
  const bool fp16 = precision == Precision::Fp16;
  EXPECT_TRUE(all_close(y, reference_every_op(weights, x), fp16 ? 1e-2f : 1e-5f,
                        fp16 ? 1e-2f : 1e-5f));
}

TEST(ElementwiseGraph, EveryOpNetworkMatchesReference) {
  auto m = std::make_shared<detail::ModelData>(every_op_model());
  detail::validate_model(*m);
  const Model model = detail::ModelAccess::make(m);
  for (Precision p : {Precision::Fp32, Precision::Fp16}) {
    check_every_op_network(model, p, m->weights);
  }
}

TEST(ElementwiseGraph, GraphPassesFoldAndFuseAndTheRoundTripRuns) {
  const std::string path = (temp_dir() / "every_op.vkseg").string();
  const detail::ModelData original = every_op_model();
  detail::save_model(original, path);
  const Model model = Model::load(path);  // validates and runs the graph passes
  const std::vector<graph::Node>& nodes = detail::ModelAccess::data(model).graph.nodes;
  // dropout and identity are gone, row * col became one constant, the relu went into the add.
  std::vector<std::string> ops;
  for (const graph::Node& n : nodes) ops.push_back(n.name + ":" + n.op);
  EXPECT_EQ(ops, (std::vector<std::string>{"bn:batch_norm", "pr:prelu", "k:constant",
                                           "centred:sub", "s:constant", "scaled:div",
                                           "outer:constant", "sum:add"}));
  const auto sum = std::find_if(nodes.begin(), nodes.end(),
                                [](const graph::Node& n) { return n.name == "sum"; });
  ASSERT_NE(sum, nodes.end());
  EXPECT_EQ(sum->attr_string("activation"), "relu");
  EXPECT_EQ(sum->output(), "out");
  EXPECT_TRUE(nodes[2].inputs.empty());  // the constant k kept no inputs through the file
  for (Precision p : {Precision::Fp32, Precision::Fp16}) {
    check_every_op_network(model, p, original.weights);
  }
}

}  // namespace
}  // namespace vkseg::test
