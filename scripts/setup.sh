#!/usr/bin/env bash
# Installs what vkseg needs to build and test on Debian 12, then configures and builds it.
# Usage: scripts/setup.sh [build-dir]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}

packages=(
  cmake ninja-build g++ pkg-config
  libvulkan-dev glslc glslang-tools spirv-tools
  mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  libgtest-dev libfmt-dev nlohmann-json3-dev libzip-dev libstb-dev libpng-dev libjpeg62-turbo-dev libvkfft-dev
  python3-torch python3-torchvision python3-numpy dataset-fashion-mnist
  libonnx-dev libonnx-testdata libprotobuf-dev protobuf-compiler python3-onnx
  pybind11-dev python3-pybind11 python3-dev python3-distributed
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir"
