#!/usr/bin/env bash
# The one test command: installs dependencies, builds, and runs every test on the Vulkan device
# (lavapipe on a machine without a GPU) with the Khronos validation layer enabled.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
ctest --test-dir build --output-on-failure -j"$(nproc)"
