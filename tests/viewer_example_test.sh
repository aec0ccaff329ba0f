#!/bin/bash
# Runs examples/viewer in a window on a virtual X server (Xvfb) with validation and
# synchronization validation on, and compares its screenshot (the last presented swapchain image)
# with examples/offscreen's composite of the same picture: still, and panned as the viewer pans
# it (3 pixels a frame, wrapping around).
#
#   viewer_example_test.sh VIEWER OFFSCREEN SOURCE_DIR
set -euo pipefail
viewer=$1 offscreen=$2 source=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/vkseg-viewer-XXXXXX")
trap 'rm -rf "$work"' EXIT
export VKSEG_CACHE_DIR=$work/cache  # never the user's cache
model=$source/weights/demo/demo_fcn8s.vkseg
/usr/bin/python3 "$source/tests/make_odd_sized_image.py" "$source/weights/demo/samples/sample_1.png" \
  90 130 "$work/odd.png"

show() {  # show FRAMES SCREENSHOT [viewer options]
  local frames=$1 shot=$2
  shift 2
  xvfb-run -a -s "-screen 0 320x240x24" "$viewer" "$model" "$work/odd.png" --frames "$frames" \
    --screenshot "$shot" --validation "$@" 2>"$work/err.txt" || { cat "$work/err.txt"; exit 1; }
  if [ -s "$work/err.txt" ]; then echo "stderr was not empty:"; cat "$work/err.txt"; exit 1; fi
}

show 2 "$work/still.png"
"$offscreen" "$model" "$work/odd.png" "$work/still_expected.png" >/dev/null
cmp "$work/still.png" "$work/still_expected.png" || { echo "the still frame differs"; exit 1; }
echo "ok: the viewer's frame equals the offscreen composite"

# The 5th frame (n = 4) is panned by 12 pixels: pixel x shows the picture's x + 12.
show 5 "$work/panned.png" --animate
/usr/bin/python3 - "$work/odd.png" "$work/panned_input.png" <<'PY'
import sys
import numpy as np
from PIL import Image
picture = np.asarray(Image.open(sys.argv[1]).convert("RGB"))
Image.fromarray(np.roll(picture, -12, axis=1)).save(sys.argv[2])
PY
"$offscreen" "$model" "$work/panned_input.png" "$work/panned_expected.png" >/dev/null
cmp "$work/panned.png" "$work/panned_expected.png" || { echo "the panned frame differs"; exit 1; }
echo "ok: the panned frame equals the offscreen composite of the panned picture"
