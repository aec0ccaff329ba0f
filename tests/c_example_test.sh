#!/bin/bash
# Runs examples/c_segment with the validation layer on and checks its mask against `vkseg
# segment`'s, that it refuses to overwrite without --force, and that a bad model path fails with
# a one-line message.
#
#   c_example_test.sh EXAMPLE VKSEG_CLI SOURCE_DIR
set -euo pipefail
example=$1 cli=$2 source=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/vkseg-c-example-XXXXXX")
trap 'rm -rf "$work"' EXIT
export VKSEG_CACHE_DIR=$work/cache  # never the user's cache
model=$source/weights/demo/demo_fcn8s.vkseg

/usr/bin/python3 "$source/tests/make_odd_sized_image.py" "$source/weights/demo/samples/sample_3.png" \
  90 130 "$work/odd.png"
"$cli" segment "$model" "$work/odd.png" -o "$work/cli" --no-autotune >/dev/null
VKSEG_VALIDATION=1 "$example" "$model" "$work/odd.png" "$work/mask.png" >"$work/out.txt" \
  2>"$work/err.txt" || { cat "$work/err.txt"; exit 1; }
if [ -s "$work/err.txt" ]; then echo "stderr was not empty:"; cat "$work/err.txt"; exit 1; fi
cat "$work/out.txt"
/usr/bin/python3 "$source/tests/compare_labels.py" "$work/cli/odd_mask.png" "$work/mask.png"
# Per-class counts: one line per class present, summing to the pixel count.
total=$(awk 'NR > 1 { sum += $1 } END { print sum }' "$work/out.txt")
[ "$total" = $((90 * 130)) ] || { echo "class counts sum to $total, not $((90 * 130))"; exit 1; }

cp "$work/mask.png" "$work/before.png"
if "$example" "$model" "$work/odd.png" "$work/mask.png" 2>"$work/err.txt"; then
  echo "an existing mask was overwritten without --force"; exit 1
fi
grep -q "exists; pass --force" "$work/err.txt" || { cat "$work/err.txt"; exit 1; }
cmp "$work/mask.png" "$work/before.png"
"$example" "$model" "$work/odd.png" "$work/mask.png" --force >/dev/null
if ls "$work"/mask.png.*.tmp >/dev/null 2>&1; then echo "a temporary file was left"; exit 1; fi

if "$example" "$work/missing.vkseg" "$work/odd.png" "$work/other.png" 2>"$work/err.txt"; then
  echo "a missing model was accepted"; exit 1
fi
[ "$(wc -l <"$work/err.txt")" = 1 ] && grep -q "missing.vkseg" "$work/err.txt" \
  || { echo "expected one line naming the model:"; cat "$work/err.txt"; exit 1; }
[ ! -e "$work/other.png" ] || { echo "a mask was written for a failed run"; exit 1; }
echo "the C example gives vkseg segment's mask"
