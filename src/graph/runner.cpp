// Network (a model on a device) and Session (one input size, planned and recorded once).
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "graph/network_state.hpp"
#include "graph/planner.hpp"
#include "io/half.hpp"
#include "ops/conv2d_tuner.hpp"
#include "ops/dispatch.hpp"
#include "vk/context_state.hpp"
#include "vk/recorder.hpp"

namespace vkseg {

namespace detail {

struct SessionState {
  NetworkState& network;
  ops::Shape input_shape;
  ops::Shape output_shape;
  std::vector<Session::Layer> layers;
  uint64_t naive_bytes = 0;
  vk::Buffer arena;
  vk::Buffer workspace;  // scratch of the layers that need one, used by one layer at a time
  vk::Buffer labels;
  ops::Tensor input, logits, label_map;  // input and logits are fp32 at every precision
  std::unique_ptr<vk::Recorder> recorder;
};

}  // namespace detail

namespace {

using detail::NetworkState;
using detail::Operator;
using graph::Node;
using graph::OpKind;

Operator make_operator(Context& ctx, const Node& n, const detail::ModelData& model,
                       Precision precision) {
  switch (n.op) {
    case OpKind::Conv2d: {
      const auto& w = model.weights.at(n.weight).shape;
      ops::Conv2dParams p;
      p.out_channels = uint32_t(w[0]);
      p.in_channels = uint32_t(w[1]) * n.groups;
      p.kernel_h = n.kernel[0], p.kernel_w = n.kernel[1];
      p.stride_h = n.stride[0], p.stride_w = n.stride[1];
      p.pad_h = n.pad[0], p.pad_w = n.pad[1];
      p.dilation_h = n.dilation[0], p.dilation_w = n.dilation[1];
      p.groups = n.groups;
      p.bias = !n.bias.empty();
      p.relu = n.relu;
      p.precision = precision;
      if (ctx.state().autotune) p.variant = ops::tuned_variant(ctx, p);
      return ops::Conv2d(ctx, p);
    }
    case OpKind::ConvTranspose2d: {
      const auto& w = model.weights.at(n.weight).shape;
      ops::ConvTranspose2dParams p;
      p.in_channels = uint32_t(w[0]);
      p.out_channels = uint32_t(w[1]) * n.groups;
      p.kernel_h = n.kernel[0], p.kernel_w = n.kernel[1];
      p.stride_h = n.stride[0], p.stride_w = n.stride[1];
      p.pad_h = n.pad[0], p.pad_w = n.pad[1];
      p.output_pad_h = n.output_pad[0], p.output_pad_w = n.output_pad[1];
      p.dilation_h = n.dilation[0], p.dilation_w = n.dilation[1];
      p.groups = n.groups;
      p.bias = !n.bias.empty();
      p.precision = precision;
      return ops::ConvTranspose2d(ctx, p);
    }
    case OpKind::MaxPool2d: {
      ops::MaxPool2dParams p;
      p.kernel_h = n.kernel[0], p.kernel_w = n.kernel[1];
      p.stride_h = n.stride[0], p.stride_w = n.stride[1];
      p.pad_h = n.pad[0], p.pad_w = n.pad[1];
      p.dilation_h = n.dilation[0], p.dilation_w = n.dilation[1];
      p.ceil_mode = n.ceil_mode;
      p.precision = precision;
      return ops::MaxPool2d(ctx, p);
    }
    case OpKind::Crop: return ops::CropAdd(ctx, false, precision);
    case OpKind::CropAdd: return ops::CropAdd(ctx, true, precision);
    case OpKind::Relu: return ops::Relu(ctx, precision);
  }
  throw Error("internal error: unknown op");
}

ops::Shape infer_shape(const Node& n, const Operator& op, const std::vector<ops::Shape>& in) {
  switch (n.op) {
    case OpKind::Conv2d: return std::get<ops::Conv2d>(op).output_shape(in[0]);
    case OpKind::ConvTranspose2d: return std::get<ops::ConvTranspose2d>(op).output_shape(in[0]);
    case OpKind::MaxPool2d: return std::get<ops::MaxPool2d>(op).output_shape(in[0]);
    case OpKind::Relu: return in[0];
    case OpKind::Crop:
    case OpKind::CropAdd: {
      const ops::Shape& src = in[0];
      const ops::Shape& ref = in[1];
      const ops::Shape out{src.n, src.c, ref.h, ref.w};
      if (n.op == OpKind::CropAdd && (src.n != ref.n || src.c != ref.c)) {
        throw Error(fmt::format("cannot add {} to {}", ref.str(), src.str()));
      }
      if (uint64_t(n.offset[0]) + out.h > src.h || uint64_t(n.offset[1]) + out.w > src.w) {
        throw Error(fmt::format("a {}x{} window at offset ({}, {}) does not fit in {}x{}; the "
                                "input is too small for this network",
                                out.h, out.w, n.offset[0], n.offset[1], src.h, src.w));
      }
      return out;
    }
  }
  throw Error("internal error: unknown op");
}

void record_node(vk::Recorder& r, size_t index, const Node& n, const Operator& op,
                 const NetworkState& net, const std::vector<ops::Tensor>& in,
                 const ops::Tensor& out, const ops::Tensor& workspace) {
  switch (n.op) {
    case OpKind::Conv2d:
    case OpKind::ConvTranspose2d: {
      const ops::Tensor* b = n.bias.empty() ? nullptr : &net.weight_tensors.at(n.bias);
      if (n.op == OpKind::Conv2d) {
        std::get<ops::Conv2d>(op).record(r, in[0], net.conv_weights.at(index), b, out, &workspace);
      } else {
        std::get<ops::ConvTranspose2d>(op).record(r, in[0], net.weight_tensors.at(n.weight), b,
                                                  out);
      }
      return;
    }
    case OpKind::MaxPool2d: std::get<ops::MaxPool2d>(op).record(r, in[0], out); return;
    case OpKind::Relu: std::get<ops::Relu>(op).record(r, in[0], out); return;
    case OpKind::Crop:
      std::get<ops::CropAdd>(op).record(r, in[0], nullptr, out, n.offset[0], n.offset[1]);
      return;
    case OpKind::CropAdd:
      std::get<ops::CropAdd>(op).record(r, in[0], &in[1], out, n.offset[0], n.offset[1]);
      return;
  }
}

Shape4 to_shape4(const ops::Shape& s) { return {s.n, s.c, s.h, s.w}; }

// A transposed convolution that computes the crop or crop+add reading its output (FCN
// upsampling) as part of itself, at the crop's step: the crop records nothing and the
// convolution's own output is never materialised.
struct Fusion {
  size_t conv = 0, crop = 0;
  bool crops_conv = false;  // the crop's window is of the convolution's output (else of the addend)
};

std::vector<Fusion> find_fusions(const graph::Graph& g) {
  std::map<std::string, int> readers;
  for (const Node& n : g.nodes) {
    for (const std::string& name : n.inputs) ++readers[name];
  }
  for (const std::string& name : g.outputs) ++readers[name];
  std::map<std::string, size_t> producer;
  for (size_t i = 0; i < g.nodes.size(); ++i) producer[g.nodes[i].output] = i;
  std::vector<Fusion> fusions;
  for (size_t j = 0; j < g.nodes.size(); ++j) {
    const Node& crop = g.nodes[j];
    if (crop.op != OpKind::Crop && crop.op != OpKind::CropAdd) continue;
    for (size_t k = 0; k < crop.inputs.size(); ++k) {
      const auto it = producer.find(crop.inputs[k]);
      if (it == producer.end() || g.nodes[it->second].op != OpKind::ConvTranspose2d ||
          readers[crop.inputs[k]] != 1) {
        continue;
      }
      fusions.push_back({it->second, j, k == 0});
      break;
    }
  }
  return fusions;
}

uint64_t layer_flops(const Node& n, const std::vector<ops::Shape>& in, const ops::Shape& out) {
  const uint64_t taps = uint64_t(n.kernel[0]) * n.kernel[1];
  switch (n.op) {
    case OpKind::Conv2d: return 2 * out.count() * (in[0].c / n.groups) * taps;
    case OpKind::ConvTranspose2d: return 2 * in[0].count() * (out.c / n.groups) * taps;
    case OpKind::MaxPool2d: return out.count() * taps;
    case OpKind::CropAdd:
    case OpKind::Relu: return out.count();
    case OpKind::Crop: return 0;
  }
  return 0;
}

// `precision`, once the device is known to support it (before any op says so in its own words).
Precision supported(const Context& context, Precision precision) {
  ops::require_precision(context, "network", precision);
  return precision;
}

}  // namespace

Network::Network(Context& context, const Model& model, Precision precision)
    : state_(new NetworkState{context, model, supported(context, precision), {}, {}, {}, {},
                              ops::Argmax(context, precision), std::nullopt}) {
  if (precision == Precision::Fp16) state_->convert.emplace(context);
  const detail::ModelData& data = *model.data();
  std::set<std::string> biases;
  for (const Node& n : data.graph.nodes) {
    if (!n.bias.empty()) biases.insert(n.bias);
    try {
      state_->operators.push_back(make_operator(context, n, data, precision));
    } catch (const Error& e) {
      throw Error(fmt::format("layer '{}': {}", n.name, e.what()));
    }
  }
  // One buffer, one upload, every tensor at an aligned offset: weights in the storage type
  // (converted to fp16 here for an fp16 network), biases in fp32, each convolution's weights as
  // its variant reads them. Sizes first; then each tensor is written into the blob in turn.
  const ops::DType storage = ops::storage_type(precision);
  uint64_t total = 0;
  auto place = [&](const ops::Shape& shape, ops::DType type) {
    const ops::Tensor t{shape, {VK_NULL_HANDLE, total, shape.bytes(type)}, type};
    total = ops::align_to_binding(context.info(), total + shape.bytes(type));
    return t;
  };
  std::set<std::string> conv_weights;
  for (size_t i = 0; i < data.graph.nodes.size(); ++i) {
    const Node& n = data.graph.nodes[i];
    if (n.op != OpKind::Conv2d) continue;
    const auto& conv = std::get<ops::Conv2d>(state_->operators[i]);
    state_->conv_weights[i] = place(conv.prepared_weight_shape(), conv.prepared_weight_type());
    conv_weights.insert(n.weight);
  }
  for (const auto& [name, w] : data.weights) {
    if (conv_weights.count(name)) continue;
    ops::Shape shape{1, uint32_t(w.values.size()), 1, 1};
    if (w.shape.size() == 4) {
      shape = {uint32_t(w.shape[0]), uint32_t(w.shape[1]), uint32_t(w.shape[2]),
               uint32_t(w.shape[3])};
    }
    state_->weight_tensors[name] = place(shape, biases.count(name) ? ops::DType::F32 : storage);
  }
  std::vector<char> blob(std::max<uint64_t>(total, 4));
  auto write = [&](const ops::Tensor& t, const std::vector<float>& values) {
    char* dst = blob.data() + t.view.offset;
    if (t.dtype == ops::DType::F16) {
      for (size_t i = 0; i < values.size(); ++i) {
        const uint16_t h = io::float_to_half(values[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
    } else {
      std::memcpy(dst, values.data(), values.size() * sizeof(float));
    }
  };
  for (auto& [index, t] : state_->conv_weights) {
    const Node& n = data.graph.nodes[index];
    try {
      write(t, std::get<ops::Conv2d>(state_->operators[index])
                   .prepare_weights(data.weights.at(n.weight).values));
    } catch (const Error& e) {
      throw Error(fmt::format("layer '{}': {}", n.name, e.what()));
    }
  }
  for (const auto& [name, t] : state_->weight_tensors) write(t, data.weights.at(name).values);
  state_->weights = vk::Buffer(context, blob.size());
  vk::upload(context, state_->weights, 0, blob.data(), blob.size());
  for (auto& [name, t] : state_->weight_tensors) {
    t.view = state_->weights.view(t.view.offset, t.view.size);
  }
  for (auto& [index, t] : state_->conv_weights) {
    t.view = state_->weights.view(t.view.offset, t.view.size);
  }
}

Network::~Network() = default;
const Model& Network::model() const { return state_->model; }
Precision Network::precision() const { return state_->precision; }
Context& Network::context() const { return state_->context; }
uint64_t Network::weight_bytes() const { return state_->weights.size(); }

Session::Session(Network& network, uint32_t batch, uint32_t height, uint32_t width) {
  NetworkState& net = network.state();
  const detail::ModelData& data = *net.model.data();
  const graph::Graph& g = data.graph;
  if (batch == 0 || height == 0 || width == 0) {
    throw Error(fmt::format("input size {}x{} with batch {} is empty", height, width, batch));
  }
  state_.reset(new detail::SessionState{net, {batch, data.input_channels, height, width}});
  detail::SessionState& s = *state_;

  // Shapes and lifetimes. Step 0 writes the input and node i runs at step i + first_node; an
  // fp16 network narrows its fp32 input at step 1 and widens its logits into fp32 at the end.
  const bool fp16 = net.precision == Precision::Fp16;
  const ops::DType type = ops::storage_type(net.precision);
  const int first_node = fp16 ? 2 : 1;
  const int end_step = int(g.nodes.size()) + first_node;  // argmax (and widening) after the nodes
  std::map<std::string, size_t> index{{g.input, 0}};
  std::vector<graph::Lifetime> lifetimes{
      {g.input, s.input_shape.bytes(type), first_node - 1, first_node - 1}};
  std::vector<ops::Shape> shapes{s.input_shape};
  uint64_t workspace_bytes = 0;
  const std::vector<Fusion> fusions = find_fusions(g);
  std::map<size_t, const Fusion*> fused_conv, fused_crop;  // by node index
  for (const Fusion& f : fusions) fused_conv[f.conv] = fused_crop[f.crop] = &f;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    // A fused convolution runs at its crop's step, so its input lives until then.
    const size_t step = fused_conv.count(i) ? fused_conv.at(i)->crop : i;
    std::vector<ops::Shape> in;
    for (const std::string& name : n.inputs) {
      const size_t t = index.at(name);
      in.push_back(shapes[t]);
      lifetimes[t].last = std::max(lifetimes[t].last, int(step) + first_node);
    }
    ops::Shape out;
    try {
      out = infer_shape(n, net.operators[i], in);
      if (n.op == OpKind::Conv2d) {
        workspace_bytes = std::max(
            workspace_bytes, std::get<ops::Conv2d>(net.operators[i]).workspace_bytes(in[0]));
      }
    } catch (const Error& e) {
      throw Error(fmt::format("layer '{}' at input {}x{}: {}", n.name, height, width, e.what()));
    }
    index[n.output] = shapes.size();
    shapes.push_back(out);
    const uint64_t bytes = fused_conv.count(i) ? 0 : out.bytes(type);  // never materialised
    lifetimes.push_back({n.output, bytes, int(i) + first_node, int(i) + first_node});
    s.layers.push_back({n.name, graph::op_name(n.op), to_shape4(out), layer_flops(n, in, out),
                        fused_crop.count(i) ? g.nodes[fused_crop.at(i)->conv].name : ""});
  }
  const size_t logits_index = index.at(g.outputs.front());
  s.output_shape = shapes[logits_index];
  // Read back (or widened, then read back) after the last node.
  lifetimes[logits_index].last = end_step;
  // The graph's tensors, then (fp16 only) the fp32 input and logits the host sees.
  std::vector<ops::Shape> all_shapes = shapes;
  std::vector<ops::DType> all_types(shapes.size(), type);
  const size_t input_fp32_index = shapes.size(), logits_fp32_index = shapes.size() + 1;
  if (fp16) {
    lifetimes.push_back({"input_fp32", s.input_shape.bytes(), 0, 1});
    lifetimes.push_back({"logits_fp32", s.output_shape.bytes(), end_step, end_step + 1});
    all_shapes.insert(all_shapes.end(), {s.input_shape, s.output_shape});
    all_types.insert(all_types.end(), {ops::DType::F32, ops::DType::F32});
  }
  for (const graph::Lifetime& l : lifetimes) s.naive_bytes += l.bytes;

  Context& ctx = net.context;
  const graph::MemoryPlan plan = graph::plan_memory(lifetimes, ops::binding_alignment(ctx.info()));
  s.arena = vk::Buffer(ctx, plan.arena_bytes);
  s.workspace = vk::Buffer(ctx, std::max<uint64_t>(workspace_bytes, 16));
  const ops::Tensor workspace{{1, 1, 1, 1}, s.workspace.view(), ops::DType::F32};
  std::vector<ops::Tensor> tensors;
  for (size_t t = 0; t < all_shapes.size(); ++t) {
    const uint64_t bytes = std::min(all_shapes[t].bytes(all_types[t]), lifetimes[t].bytes);
    tensors.push_back({all_shapes[t], s.arena.view(plan.offsets[t], bytes), all_types[t]});
  }
  s.input = tensors[fp16 ? input_fp32_index : 0];
  s.logits = tensors[fp16 ? logits_fp32_index : logits_index];
  const ops::Shape label_shape = net.argmax.output_shape(s.output_shape);
  s.labels = vk::Buffer(ctx, label_shape.bytes(ops::DType::U32));
  s.label_map = {label_shape, s.labels.view(0, label_shape.bytes(ops::DType::U32)),
                 ops::DType::U32};

  auto record = [&](vk::Recorder& r) {
    r.begin();
    if (fp16) {
      r.set_scope("input_to_fp16");
      net.convert->record(r, s.input, tensors[0]);
    }
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      if (fused_conv.count(i)) continue;
      if (fused_crop.count(i)) {
        const Fusion& f = *fused_crop.at(i);
        const Node& conv = g.nodes[f.conv];
        const ops::Tensor& other = tensors[index.at(n.inputs[f.crops_conv ? 1 : 0])];
        ops::ConvTransposeFusion fusion;
        if (f.crops_conv) fusion.crop_y = n.offset[0], fusion.crop_x = n.offset[1];
        if (n.op == OpKind::CropAdd) {
          fusion.addend = &other;
          if (!f.crops_conv) fusion.addend_y = n.offset[0], fusion.addend_x = n.offset[1];
        }
        r.set_scope(conv.name);
        const ops::Tensor* bias = conv.bias.empty() ? nullptr : &net.weight_tensors.at(conv.bias);
        std::get<ops::ConvTranspose2d>(net.operators[f.conv])
            .record(r, tensors[index.at(conv.inputs[0])], net.weight_tensors.at(conv.weight), bias,
                    tensors[index.at(n.output)], fusion);
        continue;
      }
      std::vector<ops::Tensor> in;
      for (const std::string& name : n.inputs) in.push_back(tensors[index.at(name)]);
      r.set_scope(n.name);
      record_node(r, i, n, net.operators[i], net, in, tensors[index.at(n.output)], workspace);
    }
    if (fp16) {
      r.set_scope("logits_to_fp32");
      net.convert->record(r, tensors[logits_index], s.logits);
    }
    // Argmax of the fp16 logits equals argmax of their exact fp32 widening.
    r.set_scope("argmax");
    net.argmax.record(r, tensors[logits_index], s.label_map);
    r.end();
  };
  // Layers may take many dispatches (weight chunks, multi-pass algorithms, workspace chunks):
  // recorded again with room for all of them when the first guess is too small, so that every
  // dispatch is timed.
  constexpr uint32_t k_timed_dispatches = 4096;
  s.recorder = std::make_unique<vk::Recorder>(ctx, k_timed_dispatches);
  record(*s.recorder);
  if (s.recorder->dispatch_count() > k_timed_dispatches && ctx.info().timestamps) {
    s.recorder = std::make_unique<vk::Recorder>(ctx, s.recorder->dispatch_count());
    record(*s.recorder);
  }
}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

Shape4 Session::input_shape() const { return to_shape4(state_->input_shape); }
Shape4 Session::output_shape() const { return to_shape4(state_->output_shape); }
uint64_t Session::activation_bytes() const { return state_->arena.size(); }
uint64_t Session::workspace_bytes() const { return state_->workspace.size(); }
uint64_t Session::naive_activation_bytes() const { return state_->naive_bytes; }

const std::vector<Session::Layer>& Session::layers() const { return state_->layers; }

std::vector<Session::LayerTime> Session::last_run_times() const {
  std::vector<LayerTime> result;
  for (const vk::DispatchTime& t : state_->recorder->timings()) {
    if (result.empty() || result.back().name != t.scope) result.push_back({t.scope, 0.0});
    result.back().milliseconds += t.milliseconds;
  }
  return result;
}

std::vector<Session::KernelTime> Session::last_kernel_times() const {
  std::vector<KernelTime> result;
  for (const vk::DispatchTime& t : state_->recorder->timings()) {
    result.push_back({t.scope, t.label, t.milliseconds});
  }
  return result;
}

DeviceRange Session::input_range() const {
  const vk::BufferView& v = state_->input.view;
  return {v.buffer, v.offset, v.size};
}
DeviceRange Session::logits_range() const {
  const vk::BufferView& v = state_->logits.view;
  return {v.buffer, v.offset, v.size};
}
DeviceRange Session::labels_range() const {
  const vk::BufferView& v = state_->label_map.view;
  return {v.buffer, v.offset, v.size};
}

void Session::run_on_device() { state_->recorder->submit(); }

void Session::read_labels(uint32_t* labels) {
  detail::SessionState& s = *state_;
  vk::download(s.network.context, s.labels, 0, labels, s.label_map.bytes());
}

void Session::write_input(const float* input) {
  detail::SessionState& s = *state_;
  vk::upload(s.network.context, s.arena, s.input.view.offset, input, s.input_shape.bytes());
}

void Session::run(const float* input, float* logits) {
  detail::SessionState& s = *state_;
  write_input(input);
  run_on_device();
  vk::download(s.network.context, s.arena, s.logits.view.offset, logits, s.output_shape.bytes());
}

void Session::run_labels(const float* input, uint32_t* labels) {
  write_input(input);
  run_on_device();
  read_labels(labels);
}

}  // namespace vkseg
