#!/usr/bin/env bash
# Installs what the library and the tool need (no PyTorch, no test data), builds them, and
# segments a sample image with the bundled demo model: writes demo-output/sample_0_mask.png
# (palette PNG) and demo-output/sample_0_overlay.png.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --runtime build
mkdir -p demo-output
build/vkseg segment weights/demo/demo_fcn8s.vkseg weights/demo/samples/sample_0.png \
  -o demo-output --overlay --force
echo "demo: wrote demo-output/sample_0_mask.png and demo-output/sample_0_overlay.png"
