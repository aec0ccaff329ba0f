#include "onnx/onnx_file.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include "graph/graph.hpp"
#include "io/file_io.hpp"
#include "io/half.hpp"
#include "vkseg/error.hpp"
#include "vkseg/text.hpp"

namespace vkseg::onnx {

namespace {

namespace fs = std::filesystem;
using ::onnx::TensorProto;

constexpr uint64_t k_max_file_bytes = (uint64_t(1) << 31) - 1;  // protobuf's own limit
constexpr uint64_t k_max_elements = uint64_t(1) << 31;
constexpr size_t k_max_rank = 8;

std::string in_quotes(const std::string& text) { return "'" + printable(text) + "'"; }

// Bytes per element of a type read from raw_data; 0 for types vkseg does not read.
size_t element_bytes(int32_t type) {
  switch (type) {
    case TensorProto::FLOAT: case TensorProto::INT32: return 4;
    case TensorProto::FLOAT16: return 2;
    case TensorProto::DOUBLE: case TensorProto::INT64: return 8;
    case TensorProto::INT8: case TensorProto::UINT8: case TensorProto::BOOL: return 1;
    default: return 0;
  }
}

uint64_t element_count(const std::vector<int64_t>& dims, const std::string& what) {
  if (dims.size() > k_max_rank) {
    throw Error(fmt::format("{} has {} dimensions; at most {} are supported", what, dims.size(),
                            k_max_rank));
  }
  uint64_t count = 1;
  for (int64_t d : dims) {
    if (d < 0 || uint64_t(d) > k_max_elements) {
      throw Error(fmt::format("{} has the dimension {}; 0 to 2^31 are supported", what, d));
    }
    count *= uint64_t(d);
    if (count > k_max_elements) {
      throw Error(fmt::format("{} has more than 2^31 elements", what));
    }
  }
  return count;
}

// The bytes of an externally stored tensor: `location` relative to the model's directory,
// refused when absolute or leaving it.
std::string external_bytes(const TensorProto& t, const fs::path& model_dir,
                           const std::string& what, uint64_t expected) {
  std::string location;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
  for (const auto& entry : t.external_data()) {
    auto number = [&] {
      try {
        size_t used = 0;
        const unsigned long long v = std::stoull(entry.value(), &used);
        if (used != entry.value().size()) throw std::invalid_argument("trailing");
        return uint64_t(v);
      } catch (const std::exception&) {
        throw Error(fmt::format("{}: external data {} {} is not a number", what,
                                in_quotes(entry.key()), in_quotes(entry.value())));
      }
    };
    if (entry.key() == "location") location = entry.value();
    else if (entry.key() == "offset") offset = number();
    else if (entry.key() == "length") length = number();
  }
  const fs::path relative(location);
  bool escapes = location.empty() || relative.is_absolute() || relative.has_root_name();
  for (const fs::path& part : relative.lexically_normal()) escapes |= part == "..";
  if (escapes) {
    throw Error(fmt::format("{}: external data location {} is not a file inside the model's "
                            "directory",
                            what, in_quotes(location)));
  }
  if (length && *length != expected) {
    throw Error(fmt::format("{}: external data length {} does not match its dims ({} bytes)",
                            what, *length, expected));
  }
  const fs::path file = model_dir / relative;
  // A symbolic link inside the directory may point out of it.
  std::error_code ec;
  const fs::path real = fs::weakly_canonical(file, ec);
  const fs::path real_dir = fs::weakly_canonical(model_dir.empty() ? "." : model_dir, ec);
  const auto [dir_end, unused] = std::mismatch(real_dir.begin(), real_dir.end(), real.begin(), real.end());
  if (ec || dir_end != real_dir.end()) {
    throw Error(fmt::format("{}: external data location {} leads out of the model's directory",
                            what, in_quotes(location)));
  }
  std::ifstream in(file, std::ios::binary);
  const uintmax_t size = fs::file_size(file, ec);
  if (!in || ec) {
    throw Error(fmt::format("{}: cannot read its external data file {}", what, in_quotes(location)));
  }
  if (offset > size || size - offset < expected) {
    throw Error(fmt::format("{}: external data file {} holds {} bytes, not {} from offset {}",
                            what, in_quotes(location), size, expected, offset));
  }
  std::string bytes(expected, '\0');
  in.seekg(std::streamoff(offset));
  in.read(bytes.data(), std::streamsize(expected));
  if (!in) throw Error(fmt::format("{}: cannot read {}", what, in_quotes(location)));
  return bytes;
}

template <class T>
T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

TensorData convert_tensor(const TensorProto& t, const fs::path& model_dir,
                          const std::string& what) {
  TensorData out;
  out.dims.assign(t.dims().begin(), t.dims().end());
  const uint64_t count = element_count(out.dims, what);
  const int32_t type = t.data_type();
  const size_t bytes_per = element_bytes(type);
  if (bytes_per == 0) {
    throw Error(fmt::format("{} has data type {}; FLOAT, FLOAT16, DOUBLE, INT64, INT32, INT8, "
                            "UINT8 and BOOL are supported",
                            what, data_type_name(type)));
  }
  out.is_float = type == TensorProto::FLOAT || type == TensorProto::FLOAT16 ||
                 type == TensorProto::DOUBLE;
  std::string external;
  const std::string* raw = t.has_raw_data() ? &t.raw_data() : nullptr;
  if (t.data_location() == TensorProto::EXTERNAL) {
    external = external_bytes(t, model_dir, what, count * bytes_per);
    raw = &external;
  }
  auto put = [&](size_t i, double v) {
    if (out.is_float) out.floats[i] = float(v);
    else out.ints[i] = int64_t(v);
  };
  if (out.is_float) out.floats.resize(count);
  else out.ints.resize(count);
  if (raw) {
    if (raw->size() != count * bytes_per) {
      throw Error(fmt::format("{} stores {} bytes of data; its dims need {}", what, raw->size(),
                              count * bytes_per));
    }
    const char* p = raw->data();
    for (size_t i = 0; i < count; ++i, p += bytes_per) {
      switch (type) {
        case TensorProto::FLOAT: out.floats[i] = load<float>(p); break;
        case TensorProto::FLOAT16: out.floats[i] = io::half_to_float(load<uint16_t>(p)); break;
        case TensorProto::DOUBLE: out.floats[i] = float(load<double>(p)); break;
        case TensorProto::INT64: out.ints[i] = load<int64_t>(p); break;
        case TensorProto::INT32: out.ints[i] = load<int32_t>(p); break;
        case TensorProto::INT8: out.ints[i] = load<int8_t>(p); break;
        default: out.ints[i] = load<uint8_t>(p); break;
      }
    }
    return out;
  }
  // Typed fields: FLOAT in float_data, DOUBLE in double_data, INT64 in int64_data, and the
  // narrower types (FLOAT16 as its bits) in int32_data.
  const size_t stored = type == TensorProto::FLOAT    ? size_t(t.float_data_size())
                        : type == TensorProto::DOUBLE ? size_t(t.double_data_size())
                        : type == TensorProto::INT64  ? size_t(t.int64_data_size())
                                                      : size_t(t.int32_data_size());
  if (stored != count) {
    throw Error(fmt::format("{} stores {} values; its dims need {}", what, stored, count));
  }
  for (size_t i = 0; i < count; ++i) {
    const int n = int(i);
    switch (type) {
      case TensorProto::FLOAT: put(i, t.float_data(n)); break;
      case TensorProto::DOUBLE: put(i, t.double_data(n)); break;
      case TensorProto::INT64: out.ints[i] = t.int64_data(n); break;
      case TensorProto::FLOAT16: put(i, io::half_to_float(uint16_t(t.int32_data(n)))); break;
      default: put(i, t.int32_data(n)); break;
    }
  }
  return out;
}

Attribute convert_attribute(const ::onnx::AttributeProto& a, const fs::path& model_dir,
                            const std::string& what) {
  using ::onnx::AttributeProto;
  Attribute out;
  switch (a.type()) {
    case AttributeProto::INT: out.kind = Attribute::Kind::Int, out.i = a.i(); break;
    case AttributeProto::FLOAT: out.kind = Attribute::Kind::Float, out.f = a.f(); break;
    case AttributeProto::STRING: out.kind = Attribute::Kind::String, out.s = a.s(); break;
    case AttributeProto::INTS:
      out.kind = Attribute::Kind::Ints;
      out.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case AttributeProto::FLOATS:
      out.kind = Attribute::Kind::Floats;
      out.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case AttributeProto::TENSOR:
      out.kind = Attribute::Kind::Tensor;
      out.t = std::make_shared<TensorData>(convert_tensor(a.t(), model_dir, what));
      break;
    default: break;  // graphs, strings lists, sparse tensors: no mapped op takes them
  }
  return out;
}

ValueInfo convert_value_info(const ::onnx::ValueInfoProto& v) {
  ValueInfo out;
  out.name = v.name();
  if (v.type().has_tensor_type()) {
    const auto& tensor = v.type().tensor_type();
    out.elem_type = tensor.elem_type();
    out.has_shape = tensor.has_shape();
    for (const auto& d : tensor.shape().dim()) {
      out.dims.push_back(d.has_dim_value() ? std::optional<int64_t>(d.dim_value()) : std::nullopt);
    }
  }
  return out;
}

template <class Message>
void parse(Message& message, const std::string& path, const char* what) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (!ec && size > k_max_file_bytes) {
    throw Error(fmt::format("{} bytes; ONNX files up to 2 GiB are supported", size));
  }
  const std::vector<uint8_t> bytes = io::read_file(path);
  if (!message.ParseFromArray(bytes.data(), int(bytes.size()))) {
    throw Error(fmt::format("not a valid {} (truncated or not ONNX)", what));
  }
}

ModelFile convert_model(const ::onnx::ModelProto& m, const fs::path& model_dir) {
  ModelFile out;
  out.ir_version = m.ir_version();
  out.producer = m.producer_name();
  bool has_default_domain = false;
  for (const auto& op_set : m.opset_import()) {
    if (op_set.domain().empty() || op_set.domain() == "ai.onnx") {
      out.opset = op_set.version(), has_default_domain = true;
    }
  }
  if (!m.has_graph()) throw Error("the ONNX model has no graph");
  if (!has_default_domain && out.ir_version < 3) out.opset = 1;  // IR 1-2 had no opset_import
  if (out.opset < k_min_opset || out.opset > k_max_opset) {
    throw Error(fmt::format("the model uses ONNX opset {}; opsets {} to {} are supported (convert "
                            "it with onnx.version_converter or export with another opset_version)",
                            out.opset, k_min_opset, k_max_opset));
  }
  const ::onnx::GraphProto& g = m.graph();
  if (size_t(g.node_size()) > graph::k_max_nodes) {
    throw Error(fmt::format("the graph has {} nodes; at most {} are supported", g.node_size(),
                            graph::k_max_nodes));
  }
  if (g.sparse_initializer_size() > 0) {
    throw Error("the graph has sparse initializers, which are not supported");
  }
  for (const auto& t : g.initializer()) {
    const std::string what = "initializer " + in_quotes(t.name());
    if (t.name().empty()) throw Error("an initializer has no name");
    if (!out.initializers.emplace(t.name(), convert_tensor(t, model_dir, what)).second) {
      throw Error(fmt::format("{} is given twice", what));
    }
  }
  for (const auto& v : g.input()) {
    if (!out.initializers.count(v.name())) out.inputs.push_back(convert_value_info(v));
  }
  for (const auto& v : g.output()) out.outputs.push_back(v.name());
  out.nodes.reserve(size_t(g.node_size()));
  for (const auto& n : g.node()) {
    NodeDef node;
    node.name = n.name();
    node.op_type = n.op_type();
    node.domain = n.domain() == "ai.onnx" ? "" : n.domain();
    node.inputs.assign(n.input().begin(), n.input().end());
    node.outputs.assign(n.output().begin(), n.output().end());
    const std::string what = fmt::format("node {} ({})", in_quotes(n.name()), printable(n.op_type()));
    for (const auto& a : n.attribute()) {
      node.attrs[a.name()] = convert_attribute(a, model_dir, what + " attribute " + in_quotes(a.name()));
    }
    out.nodes.push_back(std::move(node));
  }
  return out;
}

}  // namespace

std::string data_type_name(int32_t type) {
  if (::onnx::TensorProto_DataType_IsValid(type)) {
    return ::onnx::TensorProto_DataType_Name(::onnx::TensorProto_DataType(type));
  }
  return fmt::format("{} (unknown)", type);
}

bool looks_like_onnx(const std::string& path) {
  std::vector<uint8_t> head;
  try {
    head = io::read_file_prefix(path, 16);
  } catch (const Error&) {
    return false;
  }
  // ModelProto's fields 1 (ir_version, a varint) then 2-8 or 14 (strings, model_version, graph,
  // opset_import). A safetensors header (8 length bytes, then '{') can start with 0x08 too.
  if (head.size() < 3 || head[0] != 0x08 || head[1] == 0 || head[1] > 0x7f) return false;
  if (head.size() > 8 && head[8] == '{') return false;
  const uint8_t tag = head[2];
  return tag == 0x12 || tag == 0x1a || tag == 0x22 || tag == 0x28 || tag == 0x32 ||
         tag == 0x3a || tag == 0x42 || tag == 0x72;
}

ModelFile read_onnx(const std::string& path) {
  return io::with_path_in_errors(path, [&] {
    ::onnx::ModelProto proto;
    parse(proto, path, "ONNX ModelProto");
    return convert_model(proto, fs::path(path).parent_path());
  });
}

TensorData read_tensor_file(const std::string& path) {
  return io::with_path_in_errors(path, [&] {
    TensorProto proto;
    parse(proto, path, "ONNX TensorProto");
    return convert_tensor(proto, fs::path(path).parent_path(), "the tensor");
  });
}

}  // namespace vkseg::onnx
