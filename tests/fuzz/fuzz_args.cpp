// The command line's option parser (tools/vkseg/args.cpp) on argument vectors split from the
// input at NUL bytes, and the value parsers every command applies to what it found.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "args.hpp"
#include "vkseg/error.hpp"
#include "vkseg/precision.hpp"

namespace {

// Every option some command takes, valued and flag alike.
const std::set<std::string> kValued = {
    "-o",      "--output",  "--output-dir", "--arch",   "--num-classes", "--dtype",
    "--mean",  "--std",     "--scale",      "--classes", "--input",      "--device",
    "--alpha", "--precision", "--images",   "--labels", "--ignore",      "--size",
    "--batch", "--iters",   "--warmup"};
const std::set<std::string> kFlags = {"--bgr",   "--rgb",     "--no-fc-relu", "--aligned",
                                      "--force", "--overlay", "--json"};

void parse_values(const vkseg::cli::Args& args) {
  using namespace vkseg::cli;
  for (const char* name : {"--device", "--num-classes", "--ignore", "--batch", "--iters"}) {
    args.uint_value(name, 1, 4096);
  }
  for (const char* name : {"--scale", "--alpha"}) {
    if (const auto text = args.value(name)) parse_number(name, *text);
  }
  for (const char* name : {"--mean", "--std"}) {
    if (const auto text = args.value(name)) parse_triple(name, *text);
  }
  if (const auto size = args.value("--size")) parse_size(*size);
  if (const auto precision = args.value("--precision")) vkseg::parse_precision(*precision);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> arguments(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\0') {
      arguments.emplace_back();
    } else {
      arguments.back() += char(data[i]);
    }
  }
  try {
    const vkseg::cli::Args args(arguments[0], {arguments.begin() + 1, arguments.end()}, kValued,
                                kFlags);
    parse_values(args);
  } catch (const vkseg::Error&) {
  }
  return 0;
}
