#include <set>
#include <unordered_map>

#include "graph/passes/pass_util.hpp"
#include "graph/passes/passes.hpp"

namespace vkseg::graph {

// identity and dropout (inference) read as their input: every use of the output is pointed at
// the input, and the node is recorded in its input's producer.
void remove_identities(detail::ModelData& model) {
  Graph& g = model.graph;
  std::unordered_map<std::string, std::string> renamed;  // an identity's output -> its source
  auto resolve = [&](const std::string& name) {
    const auto it = renamed.find(name);
    return it == renamed.end() ? name : it->second;
  };
  for (const Node& n : g.nodes) {
    if (n.op == "identity" || n.op == "dropout") renamed[n.outputs[0]] = resolve(n.inputs[0]);
  }
  // A graph output an identity passes on becomes its source's name; one that is the graph input
  // itself, or two outputs of one source, keep their identities (nothing else could name them).
  std::set<std::string> sources;
  for (const std::string& out : g.outputs) {
    const std::string source = resolve(out);
    if (source == g.input || !sources.insert(source).second) return;
  }
  std::unordered_map<std::string, std::string> output_name;  // source -> graph output name
  for (const std::string& out : g.outputs) {
    if (resolve(out) != out) output_name[resolve(out)] = out;
  }
  auto final_name = [&](const std::string& name) {
    const std::string source = resolve(name);
    const auto it = output_name.find(source);
    return it == output_name.end() ? source : it->second;
  };
  std::unordered_map<std::string, size_t> producer;
  std::vector<bool> removed(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& n = g.nodes[i];
    for (std::string& in : n.inputs) in = final_name(in);
    if (n.op == "identity" || n.op == "dropout") {
      removed[i] = true;
      if (const auto p = producer.find(n.inputs[0]); p != producer.end()) {
        absorb(g.nodes[p->second], n);
      }
      continue;
    }
    for (std::string& out : n.outputs) {
      out = final_name(out);
      producer[out] = i;
    }
  }
  erase_nodes(g, removed);
}

}  // namespace vkseg::graph
