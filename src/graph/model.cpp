// The .vkseg model file: safetensors holding the weights, with the graph, preprocessing and
// classes as JSON strings in its metadata, so any safetensors reader can open it.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstring>
#include <set>

#include "graph/model_data.hpp"
#include "graph/passes/passes.hpp"
#include "graph/validate.hpp"
#include "io/file_io.hpp"
#include "io/half.hpp"
#include "io/json.hpp"
#include "io/safetensors.hpp"
#include "io/torch_formats.hpp"
#include "vkseg/text.hpp"

namespace vkseg {

namespace detail {

namespace {

constexpr const char* k_voc_names[] = {
    "background", "aeroplane", "bicycle", "bird",  "boat",        "bottle", "bus",
    "car",        "cat",       "chair",   "cow",   "diningtable", "dog",    "horse",
    "motorbike",  "person",    "pottedplant", "sheep", "sofa",    "train",  "tvmonitor"};

nlohmann::ordered_json preprocess_json(const Preprocess& p) {
  nlohmann::ordered_json j;
  j["channel_order"] = p.bgr ? "bgr" : "rgb";
  j["scale"] = p.scale;
  j["mean"] = p.mean;
  j["std"] = p.std;
  return j;
}

// A JSON number that fits a float (a larger double would not convert to one).
float finite_float(const nlohmann::json& v, const char* key) {
  const double d = v.get<double>();
  if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max()) {
    throw Error(fmt::format("preprocess '{}' values must be finite floats", key));
  }
  return float(d);
}

Preprocess parse_preprocess(const nlohmann::json& j) {
  Preprocess p;
  auto triple = [&](const char* key) {
    const auto& v = j.at(key);
    if (!v.is_array() || v.size() != 3) throw Error(fmt::format("preprocess '{}' needs 3 values", key));
    std::array<float, 3> out{};
    for (int i = 0; i < 3; ++i) out[i] = finite_float(v[i], key);
    return out;
  };
  const std::string order = j.at("channel_order").get<std::string>();
  if (order != "rgb" && order != "bgr") throw Error("preprocess channel_order must be rgb or bgr");
  p.bgr = order == "bgr";
  p.scale = finite_float(j.at("scale"), "scale");
  p.mean = triple("mean");
  p.std = triple("std");
  for (float s : p.std) {
    if (!(std::isfinite(s) && s != 0.0f)) throw Error("preprocess std values must be non-zero");
  }
  return p;
}

std::vector<ClassInfo> parse_classes(const nlohmann::json& j) {
  if (!j.is_array() || j.empty() || j.size() > 65536) throw Error("classes must be a non-empty list");
  std::vector<ClassInfo> classes;
  for (const auto& c : j) {
    ClassInfo info;
    info.name = c.at("name").get<std::string>();
    const auto& rgb = c.at("color");
    if (!rgb.is_array() || rgb.size() != 3) throw Error("a class colour needs 3 values");
    for (int i = 0; i < 3; ++i) {
      // Range-checked before any narrowing: get<int>() of 1e20 is undefined behaviour.
      if (!rgb[i].is_number_unsigned() || rgb[i].get<uint64_t>() > 255) {
        throw Error("class colour values must be 0..255");
      }
      info.rgb[i] = uint8_t(rgb[i].get<uint64_t>());
    }
    classes.push_back(std::move(info));
  }
  return classes;
}

std::string metadata_value(const std::map<std::string, std::string>& m, const char* key) {
  const auto it = m.find(key);
  if (it == m.end()) throw Error(fmt::format("metadata lacks '{}'", key));
  return it->second;
}

uint32_t size_metadata(const std::map<std::string, std::string>& m, const char* key) {
  const std::string text = metadata_value(m, key);
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(text) == 0 || std::stoul(text) > 4096) {
    throw Error(fmt::format("metadata '{}' = '{}' is not a size from 1 to 4096", key, printable(text)));
  }
  return uint32_t(std::stoul(text));
}

}  // namespace

std::array<uint8_t, 3> voc_color(uint32_t label) {
  std::array<uint8_t, 3> rgb{0, 0, 0};
  for (int bit = 7; label != 0 && bit >= 0; --bit, label >>= 3) {
    rgb[0] |= uint8_t((label & 1u) << bit);
    rgb[1] |= uint8_t(((label >> 1) & 1u) << bit);
    rgb[2] |= uint8_t(((label >> 2) & 1u) << bit);
  }
  return rgb;
}

std::vector<ClassInfo> default_classes(uint32_t count) {
  std::vector<ClassInfo> classes;
  for (uint32_t i = 0; i < count; ++i) {
    classes.push_back({count == 21 ? k_voc_names[i] : fmt::format("class_{}", i), voc_color(i)});
  }
  return classes;
}

namespace {

// validate_model on `graph`, a copy of the model's or the model's own.
void check_model(const ModelData& model, graph::Graph& graph) {
  if (model.input_channels == 0 || model.input_channels > 4) {
    throw Error(fmt::format("the network takes {} input channels; 1 to 4 are supported",
                            model.input_channels));
  }
  const std::vector<int64_t> output_channels =
      graph::validate(graph, model.weights, model.input_channels);
  std::set<std::string> used;
  for (const graph::Node& n : graph.nodes) {
    for (const auto& [role, name] : n.weights) used.insert(name);
  }
  for (const auto& [name, w] : model.weights) {
    if (!used.count(name)) throw Error(fmt::format("tensor '{}' is used by no layer", printable(name)));
  }
  if (model.classes.empty()) throw Error("the model names no classes");
  // Labels index the classes and their colours: one per channel of the logits, exactly.
  if (int64_t(model.classes.size()) != output_channels.front()) {
    throw Error(fmt::format("the model names {} classes but its output '{}' has {} channels",
                            model.classes.size(), printable(graph.outputs.front()),
                            output_channels.front()));
  }
}

}  // namespace

void validate_model(ModelData& model) { check_model(model, model.graph); }

void finish_model(ModelData& model, std::optional<uint32_t> expected, const char* source) {
  graph::Graph copy = model.graph;
  const uint32_t classes =
      uint32_t(graph::validate(copy, model.weights, model.input_channels).front());
  if (expected && *expected != classes) {
    throw Error(fmt::format("the {} scores {} classes, not the {} given by --num-classes", source,
                            classes, *expected));
  }
  model.classes = default_classes(classes);
  validate_model(model);  // fills in default attributes
}

std::vector<std::string> non_finite_weights(const ModelData& model) {
  std::vector<std::string> found;
  for (const auto& [name, w] : model.weights) {
    const size_t bad = size_t(std::count_if(w.values.begin(), w.values.end(),
                                            [](float v) { return !std::isfinite(v); }));
    if (bad) found.push_back(fmt::format("'{}' ({} of {} values)", printable(name), bad, w.values.size()));
  }
  return found;
}

void save_model(const ModelData& model, const std::string& path) {
  graph::Graph graph = model.graph;  // stored with every default attribute filled in
  check_model(model, graph);
  const bool half = model.weight_dtype == "fp16";
  if (!half && model.weight_dtype != "fp32") {
    throw Error(fmt::format("unknown weight dtype '{}' (fp32 or fp16)", model.weight_dtype));
  }
  std::vector<io::SafetensorsTensor> tensors;
  for (const auto& [name, w] : model.weights) {
    io::SafetensorsTensor t{name, half ? "F16" : "F32", w.shape, {}};
    if (half) {
      t.data.resize(w.values.size() * 2);
      for (size_t i = 0; i < w.values.size(); ++i) {
        const uint16_t h = io::float_to_half(w.values[i]);
        std::memcpy(t.data.data() + 2 * i, &h, 2);
      }
    } else {
      t.data.resize(w.values.size() * 4);
      std::memcpy(t.data.data(), w.values.data(), t.data.size());
    }
    tensors.push_back(std::move(t));
  }
  nlohmann::ordered_json classes = nlohmann::ordered_json::array();
  for (const ClassInfo& c : model.classes) {
    classes.push_back({{"name", c.name}, {"color", c.rgb}});
  }
  const std::map<std::string, std::string> metadata{
      {"format", "vkseg"},
      {"format_version", std::to_string(k_model_format_version)},
      {"arch", model.arch},
      {"input_channels", std::to_string(model.input_channels)},
      {"input_multiple", std::to_string(model.input_multiple)},
      {"min_input", std::to_string(model.min_input)},
      {"weight_dtype", model.weight_dtype},
      {"graph", graph::to_json(graph).dump()},
      {"preprocess", preprocess_json(model.preprocess).dump()},
      {"classes", classes.dump()},
      {"notes", nlohmann::json(model.notes).dump()},
  };
  io::write_safetensors(path, tensors, metadata);
}

}  // namespace detail

Model::Model(std::shared_ptr<const detail::ModelData> data) : data_(std::move(data)) {}

Model Model::load(const std::string& path) {
  io::with_path_in_errors(path, [&] {
    const std::vector<uint8_t> prefix = io::read_file_prefix(path, sizeof io::kLegacyMagic);
    const bool zip = prefix.size() >= 4 && std::memcmp(prefix.data(), "PK\x03\x04", 4) == 0;
    const bool legacy = prefix.size() == sizeof io::kLegacyMagic &&
                        std::equal(prefix.begin(), prefix.end(), std::begin(io::kLegacyMagic));
    if (zip || legacy) {
      throw Error("a PyTorch checkpoint, not a vkseg model: convert it with `vkseg convert`");
    }
  });
  const io::SafetensorsFile file = io::read_safetensors(path);
  return io::with_path_in_errors(path, [&] {
    auto model = std::make_shared<detail::ModelData>();
    const auto& meta = file.metadata;
    if (!meta.count("format") || meta.at("format") != "vkseg") {
      throw Error("a safetensors file but not a vkseg model (convert a checkpoint with "
                  "`vkseg convert`)");
    }
    const std::string version = detail::metadata_value(meta, "format_version");
    if (version != "1" && version != std::to_string(detail::k_model_format_version)) {
      throw Error(fmt::format("model format version '{}' is not supported (this vkseg reads 1 to "
                              "{})",
                              printable(version), detail::k_model_format_version));
    }
    model->arch = detail::metadata_value(meta, "arch");
    model->weight_dtype = detail::metadata_value(meta, "weight_dtype");
    if (model->weight_dtype != "fp32" && model->weight_dtype != "fp16") {
      throw Error(fmt::format("weight_dtype '{}' is not fp32 or fp16", printable(model->weight_dtype)));
    }
    // save_model stores every tensor in the model's weight dtype.
    const bool half = model->weight_dtype == "fp16";
    const std::string stored_dtype = half ? "F16" : "F32";
    const std::string channels = detail::metadata_value(meta, "input_channels");
    if (channels.size() != 1 || channels[0] < '1' || channels[0] > '4') {
      throw Error(fmt::format("input_channels '{}' is not 1 to 4", printable(channels)));
    }
    model->input_channels = uint32_t(channels[0] - '0');
    model->input_multiple = detail::size_metadata(meta, "input_multiple");
    model->min_input = detail::size_metadata(meta, "min_input");
    for (const io::SafetensorsTensor& t : file.tensors) {
      if (t.dtype != stored_dtype) {
        throw Error(fmt::format("tensor '{}' has dtype {}; this {} model holds {}", printable(t.name),
                                printable(t.dtype),
                                model->weight_dtype, stored_dtype));
      }
      // No layer has an empty weight or bias, and the byte count bounds no dimension of an empty
      // tensor (0 x 2^62 takes 0 bytes), so the graph checks could overflow on one.
      if (t.data.empty()) throw Error(fmt::format("tensor '{}' holds no values", printable(t.name)));
      detail::WeightTensor w{t.shape, {}};
      uint64_t count = 1;
      for (int64_t d : t.shape) count *= uint64_t(d);
      w.values.resize(count);
      if (half) {
        for (uint64_t i = 0; i < count; ++i) {
          uint16_t h;
          std::memcpy(&h, t.data.data() + 2 * i, 2);
          w.values[i] = io::half_to_float(h);
        }
      } else {
        std::memcpy(w.values.data(), t.data.data(), count * 4);
      }
      model->weights[t.name] = std::move(w);
    }
    try {
      model->graph = graph::graph_from_json(
          io::parse_json(detail::metadata_value(meta, "graph"), "metadata 'graph'"),
          std::stoi(version));
      model->preprocess =
          detail::parse_preprocess(io::parse_json(detail::metadata_value(meta, "preprocess"),
                                                 "metadata 'preprocess'"));
      model->classes =
          detail::parse_classes(io::parse_json(detail::metadata_value(meta, "classes"),
                                               "metadata 'classes'"));
      if (meta.count("notes")) {  // absent from files older than the notes
        const nlohmann::json notes = io::parse_json(meta.at("notes"), "metadata 'notes'");
        if (!notes.is_array()) throw Error("metadata 'notes' must be a list of strings");
        for (const auto& note : notes) {
          if (!note.is_string()) throw Error("metadata 'notes' must be a list of strings");
          model->notes.push_back(note.get<std::string>());
        }
      }
    } catch (const nlohmann::json::exception& e) {
      throw Error(fmt::format("malformed model metadata: {}", printable(e.what())));
    }
    detail::validate_model(*model);
    graph::optimize(*model);
    return Model(std::move(model));
  });
}

const std::string& Model::arch() const { return data_->arch; }
const Preprocess& Model::preprocess() const { return data_->preprocess; }
const std::vector<ClassInfo>& Model::classes() const { return data_->classes; }
uint32_t Model::input_channels() const { return data_->input_channels; }
uint32_t Model::input_multiple() const { return data_->input_multiple; }
uint32_t Model::min_input() const { return data_->min_input; }
const std::string& Model::weight_dtype() const { return data_->weight_dtype; }
const std::vector<std::string>& Model::notes() const { return data_->notes; }

uint64_t Model::parameter_count() const {
  if (data_->weights_released) return data_->released_parameters;
  uint64_t total = 0;
  for (const auto& [name, w] : data_->weights) total += w.values.size();
  return total;
}

Model detail::ModelAccess::without_weights(const Model& model) {
  auto data = std::make_shared<ModelData>();
  static_cast<ModelDescription&>(*data) = *model.data_;
  data->weights_released = true;
  data->released_parameters = model.parameter_count();
  return Model(std::move(data));
}

}  // namespace vkseg
