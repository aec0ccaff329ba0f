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

# The dense CRF (DeepLab v2's VOC settings, untuned) on the first 100 test canvases: it sharpens
# the garments' outlines, lifting mean IoU by about 4.5 points there (53.55% to 58.10%; over all
# 500, 53.89% to 57.81%). A CRF that no longer helps by at least a point is a regression.
mkdir -p "$work/subset/images" "$work/subset/labels"
canvases=("$work"/split/images/*.png)  # sorted
for image in "${canvases[@]:0:100}"; do
  cp "$image" "$work/subset/images/"
  cp "$work/split/labels/$(basename "$image")" "$work/subset/labels/"
done
"$vkseg" eval "$root/weights/demo/demo_fcn8s.vkseg" --images "$work/subset/images" \
  --labels "$work/subset/labels" --json >"$work/plain.json"
"$vkseg" eval "$root/weights/demo/demo_fcn8s.vkseg" --images "$work/subset/images" \
  --labels "$work/subset/labels" --json --crf >"$work/crf.json"
/usr/bin/python3 - "$work/plain.json" "$work/crf.json" <<'PY'
import json, sys
plain, crf = (json.load(open(p))["mean_iou"] for p in sys.argv[1:3])
print(f"demo model mean IoU on 100 canvases: {plain:.2f} without, {crf:.2f} with --crf")
assert crf >= plain + 1.0, "the dense CRF no longer improves the demo model's mean IoU"
PY
