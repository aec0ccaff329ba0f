// ONNX Slice. Of a value known at convert time it is shape arithmetic (shape_ops.cpp); of an
// activation, a crop of its height and width to another activation's size at constant offsets,
// the registry's crop op. That is how torch.onnx exports pytorch-fcn's Caffe crops,
// h[:, :, 19:19 + x.size(2), 19:19 + x.size(3)]: one Slice per axis, each ending at the offset
// plus a dimension of the reference that shape arithmetic resolves.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <optional>
#include <set>
#include <utility>

#include "onnx/converter.hpp"
#include "onnx/shape_arith.hpp"
#include "vkseg/text.hpp"

namespace vkseg::onnx {

namespace {

using Ints = std::vector<int64_t>;

std::string list(const Ints& v) { return fmt::format("[{}]", fmt::join(v, ", ")); }

// The crop op's offset range.
constexpr int64_t k_max_offset = int64_t(1) << 20;

// The source whose dimension `axis` is `end` - `start`, checked at sample sizes; nullopt when
// `end` is anything else.
std::optional<int32_t> crop_reference(const ShapeElem& end, int64_t start, int32_t axis) {
  std::set<std::pair<int32_t, int32_t>> dims;
  visit_dims(end, [&](int32_t source, int32_t a) { dims.insert({source, a}); });
  if (dims.size() != 1 || dims.begin()->second != axis) return std::nullopt;
  for (const double size : {1.0, 2.0, 7.0, 64.0, 1001.0}) {
    if (evaluate(end, [&](int32_t, int32_t) { return size; }) != double(start) + size) {
      return std::nullopt;
    }
  }
  return dims.begin()->first;
}

// Slice's starts, ends, axes and steps (attributes before opset 10, inputs since).
struct SliceArgs {
  Ints starts, axes, steps;
  Sym ends;
};

SliceArgs slice_args(Converter& c) {
  SliceArgs s;
  const auto integers = [&](size_t i) {
    const TensorData t = c.constant(i);
    if (t.is_float) c.fail(fmt::format("input {} must be of integers", i));
    return t.ints;
  };
  if (c.opset() < 10) {
    s.starts = c.attr_ints("starts");
    const Ints ends = c.attr_ints("ends");
    s.ends.dims = {int64_t(ends.size())};
    for (int64_t e : ends) s.ends.elems.push_back(ShapeElem{-1, 0, double(e), false, nullptr});
    s.axes = c.attr_ints("axes", Ints{});
  } else {
    s.starts = integers(1);
    s.ends = c.sym(2);
    if (s.ends.is_float) c.fail("input 2 (ends) must be of integers");
    if (c.has_input(3)) s.axes = integers(3);
    if (c.has_input(4)) s.steps = integers(4);
  }
  if (s.axes.empty()) {
    for (size_t i = 0; i < s.starts.size(); ++i) s.axes.push_back(int64_t(i));
  }
  if (s.steps.empty()) s.steps.assign(s.starts.size(), 1);
  if (s.ends.elems.size() != s.starts.size() || s.axes.size() != s.starts.size() ||
      s.steps.size() != s.starts.size()) {
    c.fail("starts, ends, axes and steps differ in length");
  }
  return s;
}

void slice_activation(Converter& c) {
  const Value& in = c.input_or_axis_crop(0);
  const SliceArgs s = slice_args(c);
  // Each spatial axis's crop: the one a Slice before this began, and this one's.
  std::optional<AxisCrop> crops[2];
  if (in.axis_crop) crops[in.axis_crop->axis - 2] = in.axis_crop;
  for (size_t k = 0; k < s.starts.size(); ++k) {
    const int64_t axis = s.axes[k] < 0 ? s.axes[k] + 4 : s.axes[k];  // activations are NCHW
    if (axis != 2 && axis != 3) {
      c.unsupported_attr("axes", list(s.axes), "2 and 3 (height and width) on activations");
    }
    if (s.steps[k] != 1) c.unsupported_attr("steps", list(s.steps), "1 on activations");
    if (s.starts[k] < 0 || s.starts[k] > k_max_offset) {
      c.unsupported_attr("starts", list(s.starts),
                         fmt::format("0 to {} on activations", k_max_offset));
    }
    const ShapeElem& end = s.ends.elems[k];
    const std::optional<int32_t> reference = crop_reference(end, s.starts[k], int32_t(axis));
    if (!reference) {
      c.fail(fmt::format("ends {} for axis {}: on an activation, a crop to another activation's "
                         "height and width is supported (ends = starts + that activation's dims "
                         "2 and 3, as FCN's Caffe crops export), not otherwise",
                         elem_text(c, end), axis));
    }
    std::optional<AxisCrop>& crop = crops[axis - 2];
    if (crop) {
      c.fail(fmt::format("axis {} is cropped twice{}; one crop of each of height and width is "
                         "supported",
                         axis, in.axis_crop ? " (here and by the Slice before)" : ""));
    }
    crop = AxisCrop{int32_t(axis), s.starts[k], *reference};
  }
  if (!crops[0] && !crops[1]) return c.set_output(0, in);  // nothing sliced
  if (!crops[0] || !crops[1]) {
    // Half a crop: the Slice of the other axis completes it (anything else refuses it).
    const AxisCrop& half = crops[0] ? *crops[0] : *crops[1];
    Value out{in.activation, {}, {}};
    out.axis_crop = half;
    return c.set_output(0, out);
  }
  if (crops[0]->reference != crops[1]->reference) {
    c.fail(fmt::format("the height is cropped to the size of '{}', the width to that of '{}'; "
                       "a crop to one activation's height and width is supported",
                       printable(c.source_name(crops[0]->reference)),
                       printable(c.source_name(crops[1]->reference))));
  }
  // ONNX clamps the window to the input; vkseg's crop refuses a window that does not fit when
  // the sizes are known (FCN's padding of 100 makes its windows fit at any input size).
  c.emit("crop", {in.activation, c.source_name(crops[0]->reference)},
         {{"offset", Ints{crops[0]->offset, crops[1]->offset}}});
}

void slice(Converter& c) {
  if (c.input_or_axis_crop(0).activation.empty()) return slice_values(c);
  slice_activation(c);
}

}  // namespace

void add_crop_ops(std::map<std::string, Mapper>& m) { m["Slice"] = slice; }

}  // namespace vkseg::onnx
