#!/usr/bin/env bash
# Builds the library, the tool and the tests with AddressSanitizer and UndefinedBehaviorSanitizer
# (gcc) in build-asan and runs the whole ctest suite on the Vulkan device (lavapipe without a GPU),
# slow tests included. Any sanitizer report fails the test that caused it, and so this script.
# Usage: scripts/sanitize.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-asan

scripts/setup.sh build  # the packages (and the ordinary build, which CI has already made)

flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# The Python module is left out here: loaded into Debian's uninstrumented interpreter it would
# need the sanitizer runtimes preloaded into Python, NumPy and Dask's worker processes. The
# ordinary build's tests (scripts/test.sh) run it.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DVKSEG_BUILD_PYTHON=OFF
cmake --build "$build"

# The Vulkan loader dlopens Mesa's driver and the validation layer, which are not instrumented and
# keep some allocations until exit. Their leaks are suppressed by library, so a leak with none of
# them on its allocation stack (vkseg's own) is still reported. The loader unloads them before
# LeakSanitizer runs, which would leave their frames nameless: preloading keeps them mapped
# (verify_asan_link_order=0 lets them come before the ASan runtime; the uninstrumented processes,
# ctest and the Python fixture scripts, just carry them unused).
drivers=()
for lib in libvulkan_lvp.so libVkLayer_khronos_validation.so libVkLayer_MESA_device_select.so; do
  path=/usr/lib/$(gcc -print-multiarch)/$lib
  if [ -f "$path" ]; then drivers+=("$path"); fi
done
cat >"$build/lsan.supp" <<'SUPP'
leak:libvulkan.so
leak:libvulkan_lvp.so
leak:libVkLayer_khronos_validation.so
leak:libVkLayer_MESA_device_select.so
leak:libLLVM
SUPP
export ASAN_OPTIONS=detect_leaks=1:verify_asan_link_order=0:strict_string_checks=1:check_initialization_order=1
# print_suppressions=0: a CLI error must stay one line even when suppressed driver leaks exist
# (a hung device leaks its Vulkan objects on purpose).
export LSAN_OPTIONS=suppressions=$PWD/$build/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

LD_PRELOAD=$(IFS=:; echo "${drivers[*]}") ctest --test-dir "$build" --output-on-failure -j"$(nproc)"
