// ONNX layer ops (on the image's activations) mapped onto the op registry's ops. Arithmetic,
// Concat and Identity on values known at convert time go to shape arithmetic instead.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cfloat>
#include <cstdint>
#include <optional>
#include <set>

#include "onnx/converter.hpp"
#include "onnx/shape_arith.hpp"

namespace vkseg::onnx {

namespace {

using graph::AttrValue;
using graph::Floats;
using graph::Ints;

std::string list(const std::vector<int64_t>& v) { return fmt::format("[{}]", fmt::join(v, ", ")); }

// Resize and Upsample's input index for an operand their opset does not have.
constexpr size_t k_no_input = SIZE_MAX;

// A 2-D attribute (strides, dilations, kernel_shape, output_padding) of 2 values in
// min..65536 (the ops' own ranges are narrower; this keeps the arithmetic below exact).
Ints pair_attr(Converter& c, const std::string& name, std::optional<Ints> fallback,
               int64_t min = 1) {
  const Ints v = c.attr_ints(name, fallback);
  if (v.size() != 2) {
    c.fail(fmt::format("attribute '{}' = {} must hold 2 values: only 2-D (NCHW) is supported",
                       name, list(v)));
  }
  for (int64_t x : v) {
    if (x < min || x > 65536) {
      c.fail(fmt::format("attribute '{}' = {}: values {} to 65536 are supported", name, list(v),
                         min));
    }
  }
  return v;
}

// ONNX pads [top, left, bottom, right] (x1_begin, x2_begin, x1_end, x2_end), as vkseg's, from
// `pads` or `auto_pad`. SAME padding depends on the input's size unless the stride is 1 (or, for
// transposed convolutions, `same_total` gives it).
Ints window_pads(Converter& c, const Ints& kernel, const Ints& strides, const Ints& dilations,
                 const std::function<int64_t(size_t)>& same_total = nullptr) {
  const std::string auto_pad = c.attr_string("auto_pad", "NOTSET");
  if (auto_pad == "NOTSET") {
    const Ints pads = c.attr_ints("pads", Ints{0, 0, 0, 0});
    if (pads.size() != 4) c.fail(fmt::format("attribute 'pads' = {} must hold 4 values", list(pads)));
    for (int64_t p : pads) {
      if (p < 0) c.fail(fmt::format("attribute 'pads' = {} is negative", list(pads)));
    }
    return pads;
  }
  if (auto_pad == "VALID") return {0, 0, 0, 0};
  if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER") {
    c.unsupported_attr("auto_pad", auto_pad, "NOTSET, VALID, SAME_UPPER, SAME_LOWER");
  }
  Ints pads(4);
  for (size_t axis = 0; axis < 2; ++axis) {
    if (!same_total && strides[axis] != 1) {
      c.unsupported_attr("auto_pad", auto_pad + " with strides " + list(strides),
                         "SAME_* with stride 1 (other strides pad by the input's size)");
    }
    const int64_t total =
        same_total ? same_total(axis) : dilations[axis] * (kernel[axis] - 1);
    if (total < 0) c.unsupported_attr("auto_pad", auto_pad, "SAME_* that pads, not crops");
    const int64_t small = total / 2, large = total - total / 2;
    pads[axis] = auto_pad == "SAME_UPPER" ? small : large;
    pads[axis + 2] = auto_pad == "SAME_UPPER" ? large : small;
  }
  return pads;
}

TensorData conv_weight(Converter& c) {
  const TensorData w = c.constant(1);
  if (w.dims.size() != 4) {
    c.fail(fmt::format("weight of shape {}: only 2-D convolutions (4-D weights) are supported",
                       list(w.dims)));
  }
  const Ints kernel = pair_attr(c, "kernel_shape", Ints{w.dims[2], w.dims[3]});
  if (kernel[0] != w.dims[2] || kernel[1] != w.dims[3]) {
    c.fail(fmt::format("kernel_shape {} differs from the weight's {}", list(kernel), list(w.dims)));
  }
  return w;
}

std::map<std::string, std::string> conv_weights(Converter& c) {
  std::map<std::string, std::string> weights{{"weight", c.weight(1)}};
  if (c.has_input(2)) weights["bias"] = c.weight(2);
  return weights;
}

void conv(Converter& c) {
  const std::string x = c.activation(0);
  const TensorData w = conv_weight(c);
  const Ints strides = pair_attr(c, "strides", Ints{1, 1});
  const Ints dilations = pair_attr(c, "dilations", Ints{1, 1});
  const Ints pads = window_pads(c, {w.dims[2], w.dims[3]}, strides, dilations);
  c.emit("conv2d", {x},
         {{"stride", strides}, {"pads", pads}, {"dilation", dilations},
          {"groups", c.attr_int("group", 1)}},
         conv_weights(c));
}

void conv_transpose(Converter& c) {
  const std::string x = c.activation(0);
  const TensorData w = conv_weight(c);
  const Ints strides = pair_attr(c, "strides", Ints{1, 1});
  const Ints dilations = pair_attr(c, "dilations", Ints{1, 1});
  const Ints output_padding = pair_attr(c, "output_padding", Ints{0, 0}, 0);
  if (c.node().attrs.count("output_shape")) {
    c.unsupported_attr("output_shape", list(c.attr_ints("output_shape")),
                       "pads or auto_pad (output_shape fixes the input's size)");
  }
  // SAME: output = input * stride, whatever the input's size.
  const Ints pads = window_pads(c, {w.dims[2], w.dims[3]}, strides, dilations, [&](size_t a) {
    return output_padding[a] + dilations[a] * (w.dims[2 + a] - 1) + 1 - strides[a];
  });
  c.emit("conv_transpose2d", {x},
         {{"stride", strides}, {"pads", pads}, {"dilation", dilations},
          {"output_padding", output_padding}, {"groups", c.attr_int("group", 1)}},
         conv_weights(c));
}

void pool(Converter& c, const std::string& op) {
  std::string x = c.activation(0);
  const Ints kernel = pair_attr(c, "kernel_shape", std::nullopt);
  const Ints strides = pair_attr(c, "strides", Ints{1, 1});
  const Ints dilations = pair_attr(c, "dilations", Ints{1, 1});
  Ints pads = window_pads(c, kernel, strides, dilations);
  const int64_t ceil_mode = c.attr_int("ceil_mode", 0);
  std::map<std::string, AttrValue> attrs{{"kernel", kernel}, {"stride", strides},
                                          {"ceil_mode", ceil_mode}};
  const bool is_max = op == "max_pool2d";
  if (is_max) {
    attrs["dilation"] = dilations;
    if (c.attr_int("storage_order", 0) != 0) {
      c.unsupported_attr("storage_order", "1", "0 (the indices output is not supported)");
    }
  } else {
    if (dilations != Ints{1, 1}) c.unsupported_attr("dilations", list(dilations), "[1, 1]");
    attrs["count_include_pad"] = c.attr_int("count_include_pad", 0);
  }
  // The pools take pads up to half the kernel, as PyTorch's do; ONNX allows more. Where padding
  // first computes the same (the lowest float for max, zeros counted for average; without
  // ceil_mode, whose last window depends on where the padding is), it is a pad node.
  const bool wide = std::max(pads[0], pads[2]) > kernel[0] / 2 ||
                    std::max(pads[1], pads[3]) > kernel[1] / 2;
  if (wide && ceil_mode == 0 && (is_max || std::get<int64_t>(attrs["count_include_pad"]))) {
    x = c.add_node(c.output_name(0) + ".pad", "pad", {x},
                   {{"pads", pads}, {"value", is_max ? -double(FLT_MAX) : 0.0}});
    pads = {0, 0, 0, 0};
  }
  attrs["pads"] = pads;
  c.emit(op, {x}, attrs);
}

void batch_norm(Converter& c) {
  const std::string x = c.activation(0);
  if (c.attr_int("spatial", 1) != 1) c.unsupported_attr("spatial", "0", "1");
  if (c.attr_int("training_mode", 0) != 0) c.unsupported_attr("training_mode", "1", "0");
  c.attr_float("momentum", 0.9);  // training only
  c.emit("batch_norm", {x}, {{"epsilon", c.attr_float("epsilon", 1e-5)}},
         {{"scale", c.weight(1)}, {"bias", c.weight(2)}, {"mean", c.weight(3)},
          {"var", c.weight(4)}});
}

void prelu(Converter& c) {
  const std::string x = c.activation(0);
  const TensorData slope = c.constant(1);
  const std::vector<int64_t>& d = slope.dims;
  // ONNX broadcasts from the right: [C] would be per column, so channels need [C, 1, 1].
  const bool per_channel = d.size() >= 3 && d[d.size() - 1] == 1 && d[d.size() - 2] == 1 &&
                           (d.size() == 3 || d[0] == 1);
  if (slope.size() != 1 && !per_channel) {
    c.fail(fmt::format("slope of shape {}: one slope or [C, 1, 1] / [1, C, 1, 1] are supported",
                       list(d)));
  }
  c.emit("prelu", {x}, {}, {{"slope", c.weight(1)}});
}

double scalar_input(Converter& c, size_t i, double fallback) {
  if (!c.has_input(i)) return fallback;
  const TensorData t = c.constant(i);
  if (t.size() != 1) c.fail(fmt::format("input {} must be a scalar", i));
  return t.at(0);
}

void clip(Converter& c) {
  const std::string x = c.activation(0);
  double lo = -FLT_MAX, hi = FLT_MAX;
  if (c.opset() < 11) {
    lo = c.attr_float("min", lo), hi = c.attr_float("max", hi);
  } else {
    lo = scalar_input(c, 1, lo), hi = scalar_input(c, 2, hi);
  }
  c.emit("clip", {x}, {{"min", lo}, {"max", hi}});
}

// The axis of a 4-D activation's op that vkseg computes over the channels only.
void expect_channel_axis(Converter& c, int64_t axis) {
  if (axis != 1 && axis != -3) {
    c.unsupported_attr("axis", std::to_string(axis), "1 (the channels of NCHW)");
  }
}

void concat(Converter& c) {
  size_t activations = 0;
  for (size_t i = 0; i < c.node().inputs.size(); ++i) activations += c.is_activation(i);
  if (activations == 0) return concat_values(c);
  const int64_t axis = c.attr_int("axis");
  expect_channel_axis(c, axis);
  std::vector<std::string> inputs;
  for (size_t i = 0; i < c.node().inputs.size(); ++i) inputs.push_back(c.operand(i));
  c.emit("concat", inputs, {{"axis", int64_t(1)}});
}

void softmax(Converter& c) {
  const std::string x = c.activation(0);
  if (c.opset() < 13) {
    c.fail("Softmax before opset 13 flattens the tensor from its axis; opset 13 and later with "
           "axis 1 (the channels) are supported");
  }
  expect_channel_axis(c, c.attr_int("axis", -1));
  c.emit("softmax", {x}, {{"axis", int64_t(1)}});
}

// torch.onnx's F.pad(x, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2]) where dx, dy are what x
// lacks of another activation's size (U-Net's skip): the pads centre x on that activation, as
// vkseg's pad with a second input does. Checked at sample sizes; nullopt when they differ.
std::optional<std::string> centring_reference(Converter& c, const Sym& pads, int32_t input) {
  std::set<int32_t> others;
  bool spatial = true;
  for (const size_t i : {2, 3, 6, 7}) {
    visit_dims(pads.elems[i], [&](int32_t source, int32_t axis) {
      spatial &= axis == 2 || axis == 3;
      if (source != input) others.insert(source);
    });
  }
  if (!spatial || others.size() != 1) return std::nullopt;
  const int32_t reference = *others.begin();
  for (const int64_t h : {5, 6, 9}) {
    for (const int64_t extra : {0, 1, 2, 3, 8}) {
      const int64_t w = h + 4, extra_w = (3 * extra + 1) % 7;  // 1, 4, 0, 3, 4
      const auto dim = [&](int32_t source, int32_t axis) {
        const double own = axis == 2 ? double(h) : double(w);
        return source == input ? own : own + double(axis == 2 ? extra : extra_w);
      };
      const double expect[] = {double(extra / 2), double(extra_w / 2), double(extra - extra / 2),
                               double(extra_w - extra_w / 2)};
      const size_t at[] = {2, 3, 6, 7};
      for (size_t k = 0; k < 4; ++k) {
        if (evaluate(pads.elems[at[k]], dim) != expect[k]) return std::nullopt;
      }
    }
  }
  return c.source_name(reference);
}

void pad(Converter& c) {
  const std::string x = c.activation(0);
  const std::string mode = c.attr_string("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge") {
    c.unsupported_attr("mode", mode, "constant, reflect, edge");
  }
  Sym pads;
  double value = 0;
  if (c.opset() < 11) {
    const Ints given = c.attr_ints("pads");
    pads.dims = {int64_t(given.size())};
    for (int64_t p : given) pads.elems.push_back(ShapeElem{-1, 0, double(p), false, nullptr});
    value = c.attr_float("value", 0.0);
  } else {
    pads = c.sym(1);
    if (pads.is_float) c.fail("input 1 (pads) must be of integers");
    value = scalar_input(c, 2, 0.0);
  }
  const auto text = [&] {
    std::vector<std::string> parts;
    for (const ShapeElem& e : pads.elems) parts.push_back(elem_text(c, e));
    return fmt::format("[{}]", fmt::join(parts, ", "));
  };
  const auto zero = [&](size_t i) { return pads.elems[i].is_constant() && pads.elems[i].value == 0; };
  if (pads.elems.size() != 8 || !zero(0) || !zero(1) || !zero(4) || !zero(5)) {
    c.fail(fmt::format("pads {}: padding of the height and width of a 4-D tensor is supported",
                       text()));
  }
  const std::map<std::string, AttrValue> attrs{{"mode", mode}, {"value", value}};
  if (pads.is_constant()) {
    Ints spatial;
    for (const size_t i : {2, 3, 6, 7}) spatial.push_back(to_int(pads.elems[i].value));
    for (int64_t p : spatial) {
      if (p < 0) c.fail(fmt::format("pads {}: negative pads (crops) are not supported", text()));
    }
    auto with_pads = attrs;
    with_pads["pads"] = spatial;
    c.emit("pad", {x}, with_pads);
    return;
  }
  const std::optional<std::string> reference = centring_reference(c, pads, c.source_of(x));
  if (!reference) {
    c.fail(fmt::format("pads {} are supported as constants or as centring on another "
                       "activation's size (F.pad by half the difference), not otherwise",
                       text()));
  }
  c.emit("pad", {x, *reference}, attrs);
}

void depth_to_space(Converter& c) {
  const std::string x = c.activation(0);
  const std::string mode = c.attr_string("mode", "DCR");
  if (mode != "DCR" && mode != "CRD") c.unsupported_attr("mode", mode, "DCR, CRD");
  c.emit("depth_to_space", {x}, {{"blocksize", c.attr_int("blocksize")}, {"mode", mode}});
}

void dropout(Converter& c) {
  if (c.opset() >= 12 && c.has_input(2) && scalar_input(c, 2, 0) != 0) {
    c.fail("training_mode must be false");
  }
  c.attr_float("ratio", 0.5);
  c.attr_int("seed", 0);
  c.set_output(0, c.input(0));
}

void argmax(Converter& c) {
  const std::string x = c.activation(0);
  expect_channel_axis(c, c.attr_int("axis", 0));
  c.attr_int("keepdims", 1);
  c.attr_int("select_last_index", 0);
  Value v{x, {}, {}};
  v.dropped_argmax = true;
  c.set_output(0, v);
}

void resize_to(Converter& c, const std::string& x, std::map<std::string, AttrValue> attrs,
               size_t scales_input, size_t sizes_input) {
  if (c.has_input(scales_input) && c.constant(scales_input).size() > 0) {
    const TensorData s = c.constant(scales_input);
    if (s.size() != 4 || s.at(0) != 1 || s.at(1) != 1) {
      c.fail("scales must be [1, 1, height scale, width scale] (NCHW)");
    }
    attrs["scale"] = Floats{s.at(2), s.at(3)};
    c.emit("resize", {x}, attrs);
    return;
  }
  if (!c.has_input(sizes_input)) c.fail("neither scales nor sizes are given");
  const Sym sizes = c.sym(sizes_input);
  if (sizes.elems.size() != 4) c.fail("sizes must hold 4 values (NCHW)");
  const ShapeElem& h = sizes.elems[2];
  const ShapeElem& w = sizes.elems[3];
  if (h.is_constant() && w.is_constant()) {
    attrs["size"] = Ints{to_int(h.value), to_int(w.value)};
    c.emit("resize", {x}, attrs);
    return;
  }
  // torch.onnx's F.interpolate(x, size=y.shape[-2:]) with dynamic axes: y's height and width.
  if (h.is_dim() && w.is_dim() && h.source == w.source && h.axis == 2 && w.axis == 3 && h.value == 1 &&
      w.value == 1 && !h.floored && !w.floored) {
    c.emit("resize", {x, c.source_name(h.source)}, attrs);
    return;
  }
  c.fail(fmt::format("sizes [{}, {}] for the height and width are supported as constants or as "
                     "another activation's height and width (dims 2 and 3), not otherwise",
                     elem_text(c, h), elem_text(c, w)));
}

std::map<std::string, AttrValue> resize_attrs(const std::string& mode, const std::string& transform,
                                              const std::string& rounding) {
  return {{"mode", mode}, {"coordinate_transformation", transform}, {"nearest_mode", rounding}};
}

std::string resize_mode(Converter& c) {
  std::string mode = c.attr_string("mode", "nearest");
  if (mode == "bilinear") mode = "linear";  // Upsample-7's spelling
  if (mode != "nearest" && mode != "linear") c.unsupported_attr("mode", mode, "nearest, linear");
  return mode;
}

void resize(Converter& c) {
  const std::string x = c.activation(0);
  const std::string mode = resize_mode(c);
  if (c.opset() < 11) {  // Resize-10: Upsample's asymmetric coordinates
    return resize_to(c, x, resize_attrs(mode, "asymmetric", "floor"), 1, k_no_input);
  }
  const std::string transform = c.attr_string("coordinate_transformation_mode", "half_pixel");
  if (transform != "half_pixel" && transform != "pytorch_half_pixel" &&
      transform != "align_corners" && transform != "asymmetric") {
    c.unsupported_attr("coordinate_transformation_mode", transform,
                       "half_pixel, pytorch_half_pixel, align_corners, asymmetric");
  }
  const std::string rounding = c.attr_string("nearest_mode", "round_prefer_floor");
  if (rounding != "round_prefer_floor" && rounding != "round_prefer_ceil" && rounding != "floor" &&
      rounding != "ceil") {
    c.unsupported_attr("nearest_mode", rounding, "round_prefer_floor, round_prefer_ceil, floor, ceil");
  }
  if (c.attr_int("exclude_outside", 0) != 0) c.unsupported_attr("exclude_outside", "1", "0");
  c.attr_float("cubic_coeff_a", -0.75);        // cubic mode only
  c.attr_float("extrapolation_value", 0.0);  // tf_crop_and_resize only
  resize_to(c, x, resize_attrs(mode, transform, rounding), 2, 3);
}

void upsample(Converter& c) {
  const std::string x = c.activation(0);
  const auto attrs = resize_attrs(resize_mode(c), "asymmetric", "floor");
  if (c.opset() >= 9) return resize_to(c, x, attrs, 1, k_no_input);
  const Floats s = c.attr_floats("scales");
  if (s.size() != 4 || s[0] != 1 || s[1] != 1) {
    c.fail("scales must be [1, 1, height scale, width scale] (NCHW)");
  }
  auto with_scale = attrs;
  with_scale["scale"] = Floats{s[2], s[3]};
  c.emit("resize", {x}, with_scale);
}

// Add, Sub, Mul, Div: on activations (a constant operand becomes a constant node), or shape
// arithmetic when neither operand is an activation.
Mapper binary(const std::string& op) {
  return [op](Converter& c) {
    if (!c.is_activation(0) && !c.is_activation(1)) return arithmetic_values(c);
    c.emit(op, {c.operand(0), c.operand(1)});
  };
}

Mapper unary(const std::string& op, std::vector<std::pair<std::string, double>> params = {}) {
  return [op, params](Converter& c) {
    const std::string x = c.activation(0);
    std::map<std::string, AttrValue> attrs;
    for (const auto& [name, fallback] : params) attrs[name] = c.attr_float(name, fallback);
    c.emit(op, {x}, attrs);
  };
}

}  // namespace

void add_layer_ops(std::map<std::string, Mapper>& m) {
  m["Conv"] = conv;
  m["ConvTranspose"] = conv_transpose;
  m["MaxPool"] = [](Converter& c) { pool(c, "max_pool2d"); };
  m["AveragePool"] = [](Converter& c) { pool(c, "avg_pool2d"); };
  m["GlobalAveragePool"] = unary("global_avg_pool");
  m["GlobalMaxPool"] = unary("global_max_pool");
  m["BatchNormalization"] = batch_norm;
  m["Relu"] = unary("relu");
  m["LeakyRelu"] = unary("leaky_relu", {{"alpha", 0.01}});
  m["PRelu"] = prelu;
  m["Clip"] = clip;
  m["Sigmoid"] = unary("sigmoid");
  m["HardSigmoid"] = unary("hard_sigmoid", {{"alpha", 0.2}, {"beta", 0.5}});
  m["HardSwish"] = unary("hard_swish");
  m["Tanh"] = unary("tanh");
  m["Add"] = binary("add");
  m["Sub"] = binary("sub");
  m["Mul"] = binary("mul");
  m["Div"] = binary("div");
  m["Concat"] = concat;
  m["Resize"] = resize;
  m["Upsample"] = upsample;
  m["Pad"] = pad;
  m["Softmax"] = softmax;
  m["DepthToSpace"] = depth_to_space;
  m["Dropout"] = dropout;
  m["ArgMax"] = argmax;
}

}  // namespace vkseg::onnx
