#!/usr/bin/env bash
# Installs what vkseg needs on Debian 12, then configures and builds it.
# Usage: scripts/setup.sh [--runtime] [build-dir]   (default: build)
#   --runtime: only what building the library and the tool and running them needs (no PyTorch,
#              no test data, no test suites built); without it, everything the tests need too.
set -euo pipefail
cd "$(dirname "$0")/.."
runtime_only=false
if [ "${1:-}" = "--runtime" ]; then
  runtime_only=true
  shift
fi
build_dir=${1:-build}

# Building and running: the compiler, Vulkan (Mesa's lavapipe where there is no GPU), shaders,
# the libraries the library links.
packages=(
  cmake ninja-build g++ pkg-config
  libvulkan-dev glslc glslang-tools spirv-tools mesa-vulkan-drivers vulkan-tools
  libfmt-dev nlohmann-json3-dev libzip-dev libstb-dev libpng-dev libjpeg62-turbo-dev libvkfft-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
)
# Testing: the validation layer, GoogleTest, PyTorch and ONNX for references and fixtures, the
# demo's data set and ONNX's backend test data, GLFW and a virtual X server for the viewer; and
# the Python module (pybind11) with Dask.
if ! $runtime_only; then
  packages+=(
    vulkan-validationlayers libgtest-dev libglfw3-dev xvfb xauth
    python3-torch python3-torchvision python3-numpy python3-onnx dataset-fashion-mnist
    libonnx-testdata
    pybind11-dev python3-pybind11 python3-dev python3-distributed
  )
fi
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

if $runtime_only; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVKSEG_BUILD_TESTS=OFF
  cmake --build "$build_dir" --target vkseg_cli
else
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVKSEG_BUILD_TESTS=ON
  cmake --build "$build_dir"
fi
