#!/usr/bin/env bash
# The bundled demo model: `vkseg eval` on its test split (recomposed from Debian's
# dataset-fashion-mnist by tools/train_demo.py) gives the mean IoU PyTorch measured, to 0.1 point.
# Usage: demo_eval_test.sh VKSEG REPO_ROOT
set -euo pipefail
vkseg=$1
root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Tuning results and the pipeline cache go to this run's own directory, never the user's.
export VKSEG_CACHE_DIR="$work/cache"
/usr/bin/python3 "$root/tools/train_demo.py" --export-test "$work/split" >/dev/null
"$vkseg" eval "$root/weights/demo/demo_fcn8s.vkseg" --images "$work/split/images" \
  --labels "$work/split/labels" --json >"$work/eval.json"
/usr/bin/python3 - "$work/eval.json" "$root/weights/demo/metrics.json" <<'PY'
import json, sys
vkseg, torch = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
expected = torch["mean_iou_from_png"]
print(f"demo model mean IoU: vkseg {vkseg['mean_iou']:.2f}, PyTorch {expected:.2f}")
assert abs(vkseg["mean_iou"] - expected) <= 0.1, "vkseg eval differs from PyTorch's figure"
PY
