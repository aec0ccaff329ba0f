#!/usr/bin/env bash
# Installs, builds and shows what vkseg sees: the Vulkan devices and their features.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
build/vkseg devices
