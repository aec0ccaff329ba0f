#include "commands.hpp"

namespace vkseg::cli {

ContextOptions context_options(const Args& args) {
  ContextOptions options;
  options.device_index = args.uint_value("--device", 0, 1000);
  options.cache_dir = default_cache_dir();
  // Convolution shaders chosen by timing (kept in the cache), unless --no-autotune.
  options.autotune = !args.has("--no-autotune");
  return options;
}

}  // namespace vkseg::cli
