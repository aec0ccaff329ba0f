#include "commands.hpp"

namespace vkseg::cli {

ContextOptions context_options(const Args& args) {
  ContextOptions options;
  options.device_index = args.uint_value("--device", 0, 1000);
  options.cache_dir = default_cache_dir();
  options.autotune = true;
  return options;
}

}  // namespace vkseg::cli
