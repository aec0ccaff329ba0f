#pragma once
// An ONNX model file read into plain data: the protobuf ModelProto is parsed (by libprotobuf and
// Debian's onnx_proto) and checked here, so nothing past this file sees protobuf. Limits: files
// up to 2 GiB, at most graph::k_max_nodes nodes, tensors of rank <= 8 with at most 2^31 elements
// whose stored data matches their dims, opsets 7 to 17 of the default domain.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vkseg::onnx {

constexpr int64_t k_min_opset = 7, k_max_opset = 17;

// A tensor's values: FLOAT, FLOAT16 and DOUBLE as float; INT64, INT32, INT8, UINT8 and BOOL as
// int64 (shape arithmetic).
struct TensorData {
  std::vector<int64_t> dims;
  bool is_float = true;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  size_t size() const { return is_float ? floats.size() : ints.size(); }
  double at(size_t i) const { return is_float ? double(floats[i]) : double(ints[i]); }
};

struct Attribute {
  enum class Kind { Int, Float, String, Ints, Floats, Tensor, Other };
  Kind kind = Kind::Other;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::shared_ptr<const TensorData> t;
};

struct NodeDef {
  std::string name, op_type, domain;
  std::vector<std::string> inputs, outputs;  // "" for an omitted optional input
  std::map<std::string, Attribute> attrs;
};

struct ValueInfo {
  std::string name;
  int32_t elem_type = 0;                    // TensorProto.DataType; 0 when not given
  std::vector<std::optional<int64_t>> dims;  // nullopt: a symbolic or unknown dimension
  bool has_shape = false;
};

struct ModelFile {
  int64_t ir_version = 0;
  int64_t opset = 0;  // of the default ("" or "ai.onnx") domain
  std::string producer;
  std::vector<NodeDef> nodes;  // in file order
  std::map<std::string, TensorData> initializers;
  std::vector<ValueInfo> inputs;  // graph inputs that are not initializers
  std::vector<std::string> outputs;
};

// Whether the file's first bytes look like a ModelProto (ir_version as its first field), not a
// PyTorch checkpoint; read_onnx decides for certain.
bool looks_like_onnx(const std::string& path);

// Reads and checks `path`. External tensor data is read from files inside the model's directory
// only. Throws Error "<path>: <problem>" (names from the file escaped) for anything unreadable,
// truncated or outside the limits.
ModelFile read_onnx(const std::string& path);

// A serialized TensorProto (the ONNX test data's input_0.pb, output_0.pb).
TensorData read_tensor_file(const std::string& path);

// ONNX's TensorProto.DataType name ("FLOAT", "INT64", ...) for messages.
std::string data_type_name(int32_t type);

}  // namespace vkseg::onnx
