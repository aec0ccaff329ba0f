#!/bin/bash
# Runs examples/offscreen (an application owning its device, vkseg recorded into its frame) with
# validation and synchronization validation on, and checks that its composited frame is the
# very PNG `vkseg segment --overlay` writes, at two overlay weights, and that it refuses to
# overwrite without --force.
#
#   offscreen_example_test.sh EXAMPLE VKSEG_CLI SOURCE_DIR
set -euo pipefail
example=$1 cli=$2 source=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/vkseg-offscreen-XXXXXX")
trap 'rm -rf "$work"' EXIT
export VKSEG_CACHE_DIR=$work/cache  # never the user's cache
model=$source/weights/demo/demo_fcn8s.vkseg

/usr/bin/python3 "$source/tests/make_odd_sized_image.py" "$source/weights/demo/samples/sample_1.png" \
  90 130 "$work/odd.png"
for alpha in 0.5 0.8; do
  "$cli" segment "$model" "$work/odd.png" -o "$work/cli" --overlay --alpha "$alpha" --force \
    --no-autotune >/dev/null
  "$example" "$model" "$work/odd.png" "$work/frame.png" --alpha "$alpha" --validation --force \
    >/dev/null 2>"$work/err.txt" || { cat "$work/err.txt"; exit 1; }
  if [ -s "$work/err.txt" ]; then echo "stderr was not empty:"; cat "$work/err.txt"; exit 1; fi
  cmp "$work/frame.png" "$work/cli/odd_overlay.png" \
    || { echo "the frame differs from vkseg segment --overlay --alpha $alpha"; exit 1; }
done
echo "ok: the composited frame equals vkseg segment --overlay's PNG"

if "$example" "$model" "$work/odd.png" "$work/frame.png" 2>"$work/err.txt"; then
  echo "an existing output was overwritten without --force"; exit 1
fi
grep -q "exists; pass --force" "$work/err.txt" || { cat "$work/err.txt"; exit 1; }
echo "ok: refuses to overwrite without --force"
