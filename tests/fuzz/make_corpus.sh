#!/usr/bin/env bash
# Seeds for the fuzzers: the test fixtures (small files only) plus tiny FCN checkpoints made here,
# in every format, and their conversions into .vkseg models.
# Usage: tests/fuzz/make_corpus.sh FIXTURES_DIR VKSEG_CLI OUT_DIR
#   FIXTURES_DIR  what tests/fixtures/*.py wrote (checkpoints/, fcn/, images/)
#   VKSEG_CLI     a built `vkseg` command (its `convert` makes the model seeds)
# Writes OUT_DIR/{pickle,checkpoint,safetensors,model,image}/, replacing what was there.
set -euo pipefail
fixtures=$1 cli=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
# libFuzzer truncates inputs to 1 MiB unless told otherwise, which breaks a zip or safetensors
# seed; the tiny checkpoints below stand in for the larger fixtures.
max_seed_bytes=$((1 << 20))

rm -rf "$out"
mkdir -p "$out"/{pickle,checkpoint,safetensors,model,image} "$out/tiny"

# seed TARGET FILE...: copies the files that exist and are small enough into TARGET's corpus.
seed() {
  local target=$1 file
  shift
  for file in "$@"; do
    if [ -f "$file" ] && [ "$(stat -c %s "$file")" -le "$max_seed_bytes" ]; then
      cp "$file" "$out/$target/"
    fi
  done
}

# Tiny networks (2 channels per layer, 2 classes): every structure the converter knows, in a
# few kilobytes, so mutations land in headers and pickles rather than in weight bytes.
/usr/bin/python3 - "$here/../fixtures" "$out/tiny" <<'PY'
import os, sys
import torch
sys.path.insert(0, sys.argv[1])
from make_fcn_fixtures import FCN, STYLES, canonical_layers, save_all_formats, state_dict
out = sys.argv[2]
torch.manual_seed(0)
tiny = dict(widths=[2, 2, 2, 2, 2], fc=4, classes=2)
for variant in ("fcn32s", "fcn16s", "fcn8s"):
    layers = canonical_layers(FCN(variant, **tiny))
    for style, rename in STYLES.items():
        save_all_formats(out, f"{variant}_{style}_tiny", state_dict(rename(layers)))
aligned = FCN("fcn8s", **tiny, aligned=True)
torch.save(aligned.state_dict(), os.path.join(out, "fcn8s_tiny_aligned.pth"))
PY

"$cli" convert "$out/tiny/fcn8s_pytorchfcn_tiny.safetensors" -o "$out/model/fcn8s.vkseg" >/dev/null
"$cli" convert "$out/tiny/fcn16s_blocks_tiny.pth" -o "$out/model/fcn16s_fp16.vkseg" --dtype fp16 \
  --classes sky,ground >/dev/null
"$cli" convert "$out/tiny/fcn32s_features_tiny.legacy.pth" -o "$out/model/fcn32s_rgb.vkseg" --rgb \
  --mean 0.5,0.5,0.5 --std 0.25,0.25,0.25 --scale 0.00392 >/dev/null
"$cli" convert "$out/tiny/fcn8s_tiny_aligned.pth" -o "$out/model/fcn8s_aligned.vkseg" --aligned \
  --no-fc-relu >/dev/null

mapfile -t checkpoint_fixtures < <(find "$fixtures/checkpoints" -type f ! -name expected.json)
mapfile -t fcn_checkpoints < <(find "$fixtures/fcn" -type f \( -name '*.pth' -o -name '*.safetensors' \))
seed checkpoint "${checkpoint_fixtures[@]}" "${fcn_checkpoints[@]}" "$out"/tiny/*
seed safetensors "$fixtures/checkpoints/state_dict_safetensors.bin" "$fixtures"/fcn/*.safetensors \
  "$out"/tiny/*.safetensors "$out"/model/*
seed image "$fixtures"/images/*.png "$fixtures"/images/*.jpg "$fixtures"/images/*.bmp

# The unpickler's seeds: the object pickles inside the zip checkpoints, and the legacy files
# (a stream of pickles; the first is the magic number, the fuzzer finds its way to the rest).
/usr/bin/python3 - "$out/pickle" "$out"/checkpoint/* <<'PY'
import os, sys, zipfile
out = sys.argv[1]
for path in sys.argv[2:]:
    name = os.path.basename(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for entry in z.namelist():
                if entry.endswith("data.pkl"):
                    with open(os.path.join(out, name + ".data.pkl"), "wb") as f:
                        f.write(z.read(entry))
    elif name.endswith((".pt", ".pth")) and os.path.getsize(path) < 65536:
        with open(path, "rb") as src, open(os.path.join(out, name), "wb") as f:
            f.write(src.read())
PY
rm -rf "$out/tiny"

for target in pickle checkpoint safetensors model image; do
  echo "corpus $target: $(find "$out/$target" -type f | wc -l) seeds, $(du -sh "$out/$target" | cut -f1)"
done
