#!/usr/bin/env bash
# Seeds for the fuzzers: the test fixtures (small files only) plus tiny FCN checkpoints made here,
# in every format, and their conversions into .vkseg models; .npy arrays; argument vectors; and
# hostile inputs of the kinds that once crashed or exhausted a reader (deep nesting, a zip bomb,
# an expanded view), made here so that no large file is ever committed.
# Usage: tests/fuzz/make_corpus.sh FIXTURES_DIR VKSEG_CLI OUT_DIR
#   FIXTURES_DIR  what tests/fixtures/*.py wrote (checkpoints/, fcn/, images/, onnx/)
#   VKSEG_CLI     a built `vkseg` command (its `convert` makes the model seeds)
# Writes OUT_DIR/{pickle,checkpoint,safetensors,model,image,npy,onnx,args}/, replacing what was there.
set -euo pipefail
fixtures=$1 cli=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
# libFuzzer truncates inputs to 1 MiB unless told otherwise, which breaks a zip or safetensors
# seed; the tiny checkpoints below stand in for the larger fixtures.
max_seed_bytes=$((1 << 20))

rm -rf "$out"
mkdir -p "$out"/{pickle,checkpoint,safetensors,model,image,npy,onnx,args} "$out/tiny"

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
seed npy "$fixtures"/fcn/*.npy "$fixtures"/images/*.npy
# ONNX: the small exports and their hostile variants, and the ONNX node tests' models (each
# named after its test).
seed onnx "$fixtures"/onnx/*.onnx
for model in /usr/share/libonnx-testdata/data/node/test_{conv,maxpool,averagepool,resize,batchnorm}*/model.onnx; do
  [ -f "$model" ] && cp "$model" "$out/onnx/$(basename "$(dirname "$model")").onnx"
done

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

# .npy header forms beyond what the fixtures hold: version 2.0, float64 and float16, a scalar.
/usr/bin/python3 - "$out/npy" <<'PY'
import os, sys
import numpy as np
out = sys.argv[1]
with open(os.path.join(out, "v2.npy"), "wb") as f:
    np.lib.format.write_array(f, np.arange(6, dtype="<f4").reshape(2, 3), version=(2, 0))
np.save(os.path.join(out, "f8.npy"), np.linspace(0, 1, 5))
np.save(os.path.join(out, "f2.npy"), np.ones((1, 3, 2, 2), dtype="<f2"))
np.save(os.path.join(out, "scalar.npy"), np.float32(1.5))
PY

# Argument vectors, one per file, NUL between arguments: the command name, then its arguments.
args_seed() {
  local name=$1
  shift
  printf '%s\0' "$@" | head -c -1 >"$out/args/$name"
}
args_seed convert convert ckpt.pth -o m.vkseg --arch fcn8s --num-classes 21 --dtype fp16 \
  --mean 0.485,0.456,0.406 --std=0.229,0.224,0.225 --scale 0.00392 --rgb --aligned \
  --classes a,b,c --force
args_seed segment segment m.vkseg a.png b.jpg -o out --overlay --alpha 0.4 --precision fp16 \
  --json --device 0
args_seed bench bench m.vkseg --size 512x384 --batch 2 --iters 10 --warmup=1 --json
args_seed eval eval m.vkseg --images imgs --labels labels --ignore 255

# Seeds that would have found the faults of issue 11: JSON nested 200000 deep (overflowed the
# stack while copied), a torch zip whose data.pkl inflates to 896 MiB (allocated before reading),
# a view repeating one element 2^28 times (1 GiB of floats from 4 bytes), a deep pickle.
/usr/bin/python3 - "$out" <<'PY'
import json, os, struct, sys, zipfile
import torch
out = sys.argv[1]
deep = "[" * 200000 + "]" * 200000

def safetensors(path, header_text, data=b""):
    text = header_text.encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)

header = '{"a":' + deep + ',"b":1,"c":2,"d":3}'
for target in ("safetensors", "checkpoint", "model"):
    safetensors(os.path.join(out, target, "deep_nesting.safetensors"), header)

# A converted model whose graph metadata nests deep (a string in the header, parsed later).
model = open(os.path.join(out, "model", "fcn8s.vkseg"), "rb").read()
length = struct.unpack("<Q", model[:8])[0]
parsed = json.loads(model[8:8 + length])
parsed["__metadata__"]["graph"] = deep
safetensors(os.path.join(out, "model", "deep_graph.vkseg"), json.dumps(parsed),
            model[8 + length:])

with zipfile.ZipFile(os.path.join(out, "checkpoint", "zip_bomb.pt"), "w",
                     zipfile.ZIP_DEFLATED) as archive:
    with archive.open("bomb/data.pkl", "w", force_zip64=True) as record:
        zeros = bytes(16 << 20)
        for _ in range(56):
            record.write(zeros)
    archive.writestr("bomb/data/0", bytes(4))

torch.save({"w": torch.zeros(1).expand(1 << 28)}, os.path.join(out, "checkpoint", "expanded_view.pt"))

with open(os.path.join(out, "pickle", "deep_tuples.pkl"), "wb") as f:
    f.write(b"\x80\x02N" + b"\x85" * 100000 + b".")
PY

for target in pickle checkpoint safetensors model image npy args; do
  echo "corpus $target: $(find "$out/$target" -type f | wc -l) seeds, $(du -sh "$out/$target" | cut -f1)"
done
