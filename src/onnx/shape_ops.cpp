// Shape arithmetic at convert time: torch.onnx exports of networks with dynamic height and width
// compute Resize's sizes by Shape -> Gather -> Cast -> Unsqueeze -> Concat (and Slice, Mul, Div,
// Floor, Reshape, Transpose, ConstantOfShape). Each element is a constant or a dimension of an activation
// (times a scale, floored), so the result is resolved without knowing the input's size.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <functional>

#include "onnx/shape_arith.hpp"
#include "vkseg/text.hpp"

namespace vkseg::onnx {

namespace {

using Ints = std::vector<int64_t>;

std::string list(const Ints& v) { return fmt::format("[{}]", fmt::join(v, ", ")); }

size_t count_of(const Ints& dims) {
  size_t n = 1;
  for (int64_t d : dims) n *= size_t(d);
  return n;
}

size_t product(const Ints& dims, size_t from, size_t to) {
  size_t n = 1;
  for (size_t i = from; i < to; ++i) n *= size_t(dims[i]);
  return n;
}

int64_t axis_of(Converter& c, int64_t axis, size_t rank) {
  const int64_t r = int64_t(rank);
  if (axis < -r || axis >= r) {
    c.fail(fmt::format("axis {} is outside a tensor of {} dimensions", axis, rank));
  }
  return axis < 0 ? axis + r : axis;
}

ShapeElem constant_elem(double v) { return ShapeElem{-1, 0, v, false, nullptr}; }

// Expressions are evaluated at a few sample sizes and printed in messages: bounded in size.
constexpr size_t k_max_expr_size = 256;

size_t expr_size(const ShapeElem& e) { return e.expr ? e.expr->size : 1; }

ShapeElem expression(Converter& c, char op, const ShapeElem& a, const ShapeElem& b = {}) {
  const size_t size = 1 + expr_size(a) + (op == 'f' || op == 'c' || op == 't' ? 0 : expr_size(b));
  if (size > k_max_expr_size) {
    c.fail(fmt::format("shape arithmetic of more than {} terms is not supported",
                       k_max_expr_size));
  }
  ShapeElem e;
  e.expr = std::make_shared<const ShapeExpr>(ShapeExpr{op, a, b, size});
  return e;
}

// floor(d x s) for an integer s is d x s: the flag then says nothing.
ShapeElem normalized(ShapeElem e) {
  if (e.is_dim() && e.floored && e.value == std::floor(e.value)) e.floored = false;
  return e;
}

// The integer axes of an attribute (before `input_opset`) or of input 1.
Ints axes_arg(Converter& c, int64_t input_opset, bool required) {
  if (c.opset() < input_opset) {
    return required ? c.attr_ints("axes") : c.attr_ints("axes", Ints{});
  }
  if (!c.has_input(1)) {
    if (required) c.fail("input 1 (axes) is missing");
    return {};
  }
  const TensorData axes = c.constant(1);
  if (axes.is_float) c.fail("input 1 (axes) must be of integers");
  return axes.ints;
}

void constant(Converter& c) {
  if (c.has_attr("value")) return c.set_constant(0, c.attr_tensor("value"));
  TensorData t;
  if (c.has_attr("value_float")) {
    t.floats = {float(c.attr_float("value_float"))};
  } else if (c.has_attr("value_floats")) {
    for (double v : c.attr_floats("value_floats")) t.floats.push_back(float(v));
    t.dims = {int64_t(t.floats.size())};
  } else if (c.has_attr("value_int")) {
    t.is_float = false, t.ints = {c.attr_int("value_int")};
  } else if (c.has_attr("value_ints")) {
    t.is_float = false, t.ints = c.attr_ints("value_ints");
    t.dims = {int64_t(t.ints.size())};
  } else {
    c.fail("only value, value_float(s) and value_int(s) constants are supported");
  }
  c.set_constant(0, std::move(t));
}

void shape(Converter& c) {
  Sym all{{4}, false, {}};
  if (c.is_activation(0)) {
    const int32_t source = c.source_of(c.activation(0));
    for (int32_t axis = 0; axis < 4; ++axis) all.elems.push_back({source, axis, 1.0, false});
  } else {
    const Value& v = c.input(0);
    const Ints dims = v.data ? v.data->dims : v.sym->dims;
    all.dims = {int64_t(dims.size())};
    for (int64_t d : dims) all.elems.push_back(constant_elem(double(d)));
  }
  const int64_t rank = int64_t(all.elems.size());
  auto clamp = [&](int64_t v) {
    if (v < 0) v += rank;
    return std::clamp<int64_t>(v, 0, rank);
  };
  const int64_t start = clamp(c.attr_int("start", 0)), end = clamp(c.attr_int("end", rank));
  Sym out{{std::max<int64_t>(end - start, 0)}, false, {}};
  for (int64_t i = start; i < end; ++i) out.elems.push_back(all.elems[size_t(i)]);
  c.set_sym(0, std::move(out));
}

void gather(Converter& c) {
  const Sym data = c.sym(0);
  const TensorData indices = c.constant(1);
  if (indices.is_float) c.fail("indices must be integers");
  if (data.dims.empty()) c.fail("cannot gather from a scalar");
  const size_t axis = size_t(axis_of(c, c.attr_int("axis", 0), data.dims.size()));
  const int64_t n = data.dims[axis];
  Sym out{{}, data.is_float, {}};
  out.dims.assign(data.dims.begin(), data.dims.begin() + long(axis));
  out.dims.insert(out.dims.end(), indices.dims.begin(), indices.dims.end());
  out.dims.insert(out.dims.end(), data.dims.begin() + long(axis) + 1, data.dims.end());
  c.check_extent(out.dims);
  const size_t outer = product(data.dims, 0, axis);
  const size_t inner = product(data.dims, axis + 1, data.dims.size());
  for (size_t o = 0; o < outer; ++o) {
    for (int64_t k : indices.ints) {
      if (k < -n || k >= n) c.fail(fmt::format("index {} is outside 0..{}", k, n - 1));
      const size_t at = size_t(k < 0 ? k + n : k);
      for (size_t i = 0; i < inner; ++i) {
        out.elems.push_back(data.elems[(o * size_t(n) + at) * inner + i]);
      }
    }
  }
  c.set_sym(0, std::move(out));
}

}  // namespace

void slice_values(Converter& c) {
  const Sym data = c.sym(0);
  Ints starts, ends, axes, steps;
  if (c.opset() < 10) {
    starts = c.attr_ints("starts"), ends = c.attr_ints("ends"), axes = c.attr_ints("axes", Ints{});
  } else {
    starts = c.constant(1).ints, ends = c.constant(2).ints;
    if (c.has_input(3)) axes = c.constant(3).ints;
    if (c.has_input(4)) steps = c.constant(4).ints;
  }
  const size_t rank = data.dims.size();
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size()) {
    c.fail("starts, ends, axes and steps differ in length");
  }
  // Each axis's selected indices; every index of the axes not sliced.
  std::vector<Ints> picks(rank);
  std::vector<bool> sliced(rank, false);
  for (size_t k = 0; k < starts.size(); ++k) {
    const size_t axis = size_t(axis_of(c, axes[k], rank));
    const int64_t dim = data.dims[axis];
    // A step past the axis picks one element either way; clamped, it cannot overflow.
    const int64_t step = std::clamp<int64_t>(steps[k], -(dim + 1), dim + 1);
    if (step == 0 || sliced[axis]) c.fail("a step of 0 or an axis sliced twice");
    sliced[axis] = true;
    int64_t start = starts[k], end = ends[k];
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim), end = std::clamp<int64_t>(end, 0, dim);
      for (int64_t i = start; i < end; i += step) picks[axis].push_back(i);
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1), end = std::clamp<int64_t>(end, -1, dim - 1);
      for (int64_t i = start; i > end; i += step) picks[axis].push_back(i);
    }
  }
  Sym out{{}, data.is_float, {}};
  for (size_t a = 0; a < rank; ++a) {
    if (!sliced[a]) {
      for (int64_t i = 0; i < data.dims[a]; ++i) picks[a].push_back(i);
    }
    out.dims.push_back(int64_t(picks[a].size()));
  }
  const size_t total = count_of(out.dims);
  Ints index(rank, 0);
  for (size_t n = 0; n < total; ++n) {
    size_t flat = 0;
    for (size_t a = 0; a < rank; ++a) flat = flat * size_t(data.dims[a]) + size_t(picks[a][size_t(index[a])]);
    out.elems.push_back(data.elems[flat]);
    for (size_t a = rank; a-- > 0;) {
      if (++index[a] < out.dims[a]) break;
      index[a] = 0;
    }
  }
  c.set_sym(0, std::move(out));
}

namespace {

void unsqueeze(Converter& c) {
  Sym data = c.sym(0);
  const Ints axes = axes_arg(c, 13, true);
  const size_t rank = data.dims.size() + axes.size();
  if (rank > 16) c.fail(fmt::format("{} axes added to {} make too many", axes.size(), data.dims.size()));
  std::vector<bool> added(rank, false);
  for (int64_t a : axes) {
    const size_t axis = size_t(axis_of(c, a, rank));
    if (added[axis]) c.fail(fmt::format("axes {} repeat an axis", list(axes)));
    added[axis] = true;
  }
  Ints dims;
  for (size_t a = 0, from = 0; a < rank; ++a) dims.push_back(added[a] ? 1 : data.dims[from++]);
  data.dims = dims;
  c.set_sym(0, std::move(data));
}

void squeeze(Converter& c) {
  Sym data = c.sym(0);
  const Ints axes = axes_arg(c, 13, false);
  std::vector<bool> removed(data.dims.size(), axes.empty());
  for (int64_t a : axes) {
    const size_t axis = size_t(axis_of(c, a, data.dims.size()));
    if (data.dims[axis] != 1) c.fail(fmt::format("axis {} has {} elements, not 1", a, data.dims[axis]));
    removed[axis] = true;
  }
  Ints dims;
  for (size_t a = 0; a < data.dims.size(); ++a) {
    if (!removed[a] || data.dims[a] != 1) dims.push_back(data.dims[a]);
  }
  data.dims = dims;
  c.set_sym(0, std::move(data));
}

void reshape(Converter& c) {
  Sym data = c.sym(0);
  const TensorData shape = c.constant(1);
  const bool allow_zero = c.attr_int("allowzero", 0) != 0;
  Ints dims;
  int64_t inferred = -1;
  size_t known = 1;
  for (size_t i = 0; i < shape.ints.size(); ++i) {
    int64_t d = shape.ints[i];
    if (d == 0 && !allow_zero) {
      if (i >= data.dims.size()) c.fail("shape copies a dimension the input does not have");
      d = data.dims[i];
    }
    if (d == -1) {
      if (inferred >= 0) c.fail("shape has more than one -1");
      inferred = int64_t(i);
    } else if (d < 0) {
      c.fail(fmt::format("shape {} holds a negative dimension", list(shape.ints)));
    } else {
      known *= size_t(d);
    }
    if (known > data.elems.size() && data.elems.size() > 0) {
      c.fail(fmt::format("shape {} does not hold the input's {} elements", list(shape.ints),
                         data.elems.size()));
    }
    dims.push_back(d);
  }
  if (inferred >= 0) {
    if (known == 0 || data.elems.size() % known) c.fail("shape does not fit the input's elements");
    dims[size_t(inferred)] = int64_t(data.elems.size() / known);
  }
  c.check_extent(dims);
  if (count_of(dims) != data.elems.size()) {
    c.fail(fmt::format("shape {} does not hold the input's {} elements", list(shape.ints),
                       data.elems.size()));
  }
  data.dims = dims;
  c.set_sym(0, std::move(data));
}

// torch.onnx reorders F.pad's pads with Reshape, Slice (step -1) and Transpose.
void transpose(Converter& c) {
  const Sym data = c.sym(0);
  const size_t rank = data.dims.size();
  Ints perm = c.attr_ints("perm", Ints{});
  if (perm.empty()) {
    for (size_t a = rank; a-- > 0;) perm.push_back(int64_t(a));
  }
  std::vector<bool> used(rank, false);
  if (perm.size() != rank) c.fail(fmt::format("perm {} does not fit rank {}", list(perm), rank));
  for (int64_t& p : perm) {
    p = axis_of(c, p, rank);
    if (used[size_t(p)]) c.fail(fmt::format("perm {} repeats an axis", list(perm)));
    used[size_t(p)] = true;
  }
  std::vector<size_t> stride(rank, 1);
  for (size_t a = rank; a-- > 1;) stride[a - 1] = stride[a] * size_t(data.dims[a]);
  Sym out{{}, data.is_float, {}};
  for (int64_t p : perm) out.dims.push_back(data.dims[size_t(p)]);
  Ints index(rank, 0);
  for (size_t n = 0; n < data.elems.size(); ++n) {
    size_t flat = 0;
    for (size_t a = 0; a < rank; ++a) flat += size_t(index[a]) * stride[size_t(perm[a])];
    out.elems.push_back(data.elems[flat]);
    for (size_t a = rank; a-- > 0;) {
      if (++index[a] < out.dims[a]) break;
      index[a] = 0;
    }
  }
  c.set_sym(0, std::move(out));
}

bool is_float_type(int64_t type) { return type == 1 || type == 10 || type == 11 || type == 16; }

void cast(Converter& c) {
  const int64_t to = c.attr_int("to");
  if (c.is_activation(0)) {
    if (to != 1) c.unsupported_attr("to", data_type_name(int32_t(to)), "FLOAT on activations");
    return c.set_output(0, c.input(0));
  }
  Sym data = c.sym(0);
  const bool to_float = is_float_type(to);
  if (!to_float && data.is_float) {
    for (ShapeElem& e : data.elems) {
      if (e.is_constant()) e.value = to == 9 ? double(e.value != 0) : std::trunc(e.value);
      else if (e.expr) e = expression(c, 't', e);
      else e = normalized({e.source, e.axis, e.value, true, nullptr});  // dims are not negative
    }
  }
  data.is_float = to_float;
  c.set_sym(0, std::move(data));
}

void rounding(Converter& c, bool up) {
  Sym data = c.sym(0);
  for (ShapeElem& e : data.elems) {
    if (e.is_constant()) {
      e.value = up ? std::ceil(e.value) : std::floor(e.value);
    } else if (e.expr || (up && e.value != std::floor(e.value))) {
      e = expression(c, up ? 'c' : 'f', e);
    } else if (!up) {
      e = normalized({e.source, e.axis, e.value, true, nullptr});
    }
  }
  c.set_sym(0, std::move(data));
}

void constant_of_shape(Converter& c) {
  const TensorData shape = c.constant(0);
  TensorData value;
  value.floats = {0.0f};
  if (c.has_attr("value")) value = c.attr_tensor("value");
  if (value.size() != 1) c.fail("the value must hold one element");
  for (int64_t d : shape.ints) {
    if (d < 0) c.fail(fmt::format("shape {} holds a negative dimension", list(shape.ints)));
  }
  c.check_extent(shape.ints);
  TensorData out;
  out.dims = shape.ints;
  out.is_float = value.is_float;
  const size_t n = count_of(out.dims);
  if (out.is_float) out.floats.assign(n, value.floats[0]);
  else out.ints.assign(n, value.ints[0]);
  c.set_constant(0, std::move(out));
}

ShapeElem combine(Converter& c, const std::string& op, ShapeElem a, ShapeElem b, bool is_float) {
  if (a.is_constant() && b.is_constant()) {
    const double x = a.value, y = b.value;
    if (op == "Add") return constant_elem(x + y);
    if (op == "Sub") return constant_elem(x - y);
    if (op == "Mul") return constant_elem(x * y);
    if (y == 0 && !is_float) c.fail("an integer division by zero");
    return constant_elem(is_float ? x / y : std::trunc(x / y));
  }
  if (op == "Mul" && a.is_constant()) std::swap(a, b);
  const bool identity = b.is_constant() && (((op == "Add" || op == "Sub") && b.value == 0) ||
                                            ((op == "Mul" || op == "Div") && b.value == 1));
  if (identity) return a;
  // A dimension scaled by a constant (then floored) keeps the simple form Resize's sizes use.
  if (a.is_dim() && !a.floored && b.is_constant() && b.value != 0 &&
      (op == "Mul" || op == "Div")) {
    a.value = op == "Mul" ? a.value * b.value : a.value / b.value;
    if (op == "Div" && !is_float) a.floored = true;
    return normalized(a);
  }
  const char symbol = op == "Add" ? '+' : op == "Sub" ? '-' : op == "Mul" ? '*' : is_float ? '/' : '\\';
  return expression(c, symbol, a, b);
}

}  // namespace

std::string elem_text(const Converter& c, const ShapeElem& e) {
  if (e.is_constant()) return fmt::format("{}", e.value);
  if (e.expr) {
    const ShapeExpr& x = *e.expr;
    switch (x.op) {
      case 'f': return "floor(" + elem_text(c, x.a) + ")";
      case 'c': return "ceil(" + elem_text(c, x.a) + ")";
      case 't': return "trunc(" + elem_text(c, x.a) + ")";
      default: return fmt::format("({} {} {})", elem_text(c, x.a), x.op == '\\' ? "div" : std::string(1, x.op), elem_text(c, x.b));
    }
  }
  std::string text =
      fmt::format("dim {} of '{}'", e.axis, printable(c.source_name(e.source)));
  if (e.value != 1) text = fmt::format("{} x {}", text, e.value);
  return e.floored ? "floor(" + text + ")" : text;
}

double evaluate(const ShapeElem& e, const std::function<double(int32_t, int32_t)>& dim) {
  if (e.is_constant()) return e.value;
  if (!e.expr) {
    const double v = dim(e.source, e.axis) * e.value;
    return e.floored ? std::floor(v) : v;
  }
  const ShapeExpr& x = *e.expr;
  const double a = evaluate(x.a, dim);
  switch (x.op) {
    case 'f': return std::floor(a);
    case 'c': return std::ceil(a);
    case 't': return std::trunc(a);
    default: break;
  }
  const double b = evaluate(x.b, dim);
  switch (x.op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return a / b;
    default: return b == 0 ? NAN : std::trunc(a / b);
  }
}

void visit_dims(const ShapeElem& e, const std::function<void(int32_t, int32_t)>& visit) {
  if (e.is_dim()) visit(e.source, e.axis);
  if (!e.expr) return;
  visit_dims(e.expr->a, visit);
  if (e.expr->op != 'f' && e.expr->op != 'c' && e.expr->op != 't') visit_dims(e.expr->b, visit);
}

void arithmetic_values(Converter& c) {
  const std::string& op = c.node().op_type;
  const Sym a = c.sym(0), b = c.sym(1);
  // NumPy broadcasting, from the right.
  const size_t rank = std::max(a.dims.size(), b.dims.size());
  Ints dims(rank), a_dims(rank, 1), b_dims(rank, 1);
  std::copy(a.dims.begin(), a.dims.end(), a_dims.end() - long(a.dims.size()));
  std::copy(b.dims.begin(), b.dims.end(), b_dims.end() - long(b.dims.size()));
  for (size_t i = 0; i < rank; ++i) {
    if (a_dims[i] != b_dims[i] && a_dims[i] != 1 && b_dims[i] != 1) {
      c.fail(fmt::format("shapes {} and {} do not broadcast", list(a.dims), list(b.dims)));
    }
    dims[i] = a_dims[i] == 1 ? b_dims[i] : a_dims[i];
  }
  c.check_extent(dims);
  Sym out{dims, a.is_float || b.is_float, {}};
  const size_t total = count_of(dims);
  Ints index(rank, 0);
  for (size_t n = 0; n < total; ++n) {
    size_t ia = 0, ib = 0;
    for (size_t d = 0; d < rank; ++d) {
      ia = ia * size_t(a_dims[d]) + size_t(a_dims[d] == 1 ? 0 : index[d]);
      ib = ib * size_t(b_dims[d]) + size_t(b_dims[d] == 1 ? 0 : index[d]);
    }
    out.elems.push_back(combine(c, op, a.elems[ia], b.elems[ib], out.is_float));
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < dims[d]) break;
      index[d] = 0;
    }
  }
  c.set_sym(0, std::move(out));
}

void concat_values(Converter& c) {
  std::vector<Sym> parts;
  for (size_t i = 0; i < c.node().inputs.size(); ++i) {
    if (c.has_input(i)) parts.push_back(c.sym(i));
  }
  if (parts.empty()) c.fail("no inputs");
  const size_t rank = parts[0].dims.size();
  if (rank == 0) c.fail("cannot concatenate scalars");
  const size_t axis = size_t(axis_of(c, c.attr_int("axis"), rank));
  Sym out{parts[0].dims, parts[0].is_float, {}};
  out.dims[axis] = 0;
  for (const Sym& p : parts) {
    bool fits = p.dims.size() == rank;
    for (size_t d = 0; fits && d < rank; ++d) fits = d == axis || p.dims[d] == parts[0].dims[d];
    if (!fits) {
      c.fail(fmt::format("inputs of shapes {} and {} do not concatenate on axis {}",
                         list(parts[0].dims), list(p.dims), axis));
    }
    out.dims[axis] += p.dims[axis];
    c.check_extent(out.dims);
  }
  const size_t outer = product(parts[0].dims, 0, axis);
  for (size_t o = 0; o < outer; ++o) {
    for (const Sym& p : parts) {
      const size_t chunk = product(p.dims, axis, rank);
      out.elems.insert(out.elems.end(), p.elems.begin() + long(o * chunk),
                       p.elems.begin() + long((o + 1) * chunk));
    }
  }
  c.set_sym(0, std::move(out));
}

void add_shape_ops(std::map<std::string, Mapper>& m) {
  m["Constant"] = constant;
  m["Shape"] = shape;
  m["Gather"] = gather;
  m["Unsqueeze"] = unsqueeze;
  m["Squeeze"] = squeeze;
  m["Reshape"] = reshape;
  m["Transpose"] = transpose;
  m["Cast"] = cast;
  m["Floor"] = [](Converter& c) { rounding(c, false); };
  m["Ceil"] = [](Converter& c) { rounding(c, true); };
  m["ConstantOfShape"] = constant_of_shape;
  m["Identity"] = [](Converter& c) { c.set_output(0, c.input(0)); };
}

}  // namespace vkseg::onnx
