#!/usr/bin/env bash
# End to end through the vkseg binary: convert and run a checkpoint against PyTorch's output, and
# every user error exits with status 1 and a one-line message, touching nothing it should not.
# Usage: cli_test.sh VKSEG FIXTURE_DIR
set -euo pipefail
vkseg=$1
fixtures=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Tuning results and the pipeline cache go to this run's own directory, never the user's.
export VKSEG_CACHE_DIR="$work/cache"
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_error PATTERN COMMAND...: exit status 1, exactly one line on stderr, matching PATTERN.
expect_error() {
  local pattern=$1
  shift
  local status=0
  "$@" >"$work/stdout" 2>"$work/stderr" || status=$?
  [ "$status" -eq 1 ] || fail "'$*' exited $status, expected 1"
  [ "$(wc -l <"$work/stderr")" -eq 1 ] || fail "'$*' printed: $(cat "$work/stderr")"
  grep -q -- "$pattern" "$work/stderr" || fail "'$*' said '$(cat "$work/stderr")', expected /$pattern/"
  echo "ok: $(cat "$work/stderr")"
}

"$vkseg" convert "$fixtures/fcn/fcn16s_blocks.legacy.pth" -o "$work/fcn16s.vkseg"
"$vkseg" run "$work/fcn16s.vkseg" --input "$fixtures/fcn/input_96x64b2.npy" --output "$work/out.npy"
/usr/bin/python3 - "$work/out.npy" "$fixtures/fcn/fcn16s_out_96x64b2.npy" <<'PY'
import sys
import numpy as np
out, ref = np.load(sys.argv[1]), np.load(sys.argv[2])
assert out.shape == ref.shape, (out.shape, ref.shape)
err = np.abs(out - ref).max() / ref.std()
agree = (out.argmax(1) == ref.argmax(1)).mean()
print(f"ok: vkseg run matches PyTorch: max error {err:.2e} of std, argmax agreement {agree:.6f}")
assert err <= 1e-3 and agree >= 0.9999
PY

# A link planted at the temporary name writers once used is not written through.
echo precious >"$work/victim"
ln -s "$work/victim" "$work/planted.npy.tmp"
"$vkseg" run "$work/fcn16s.vkseg" --input "$fixtures/fcn/input_32x32.npy" --output "$work/planted.npy" \
  >/dev/null
[ "$(cat "$work/victim")" = precious ] || fail "an output was written through a planted symlink"
[ -f "$work/planted.npy" ] && [ ! -L "$work/planted.npy" ] || fail "the output was not written"

# Outputs are never overwritten without --force, and stay intact.
before=$(md5sum <"$work/out.npy")
expect_error "exists; pass --force" "$vkseg" run "$work/fcn16s.vkseg" \
  --input "$fixtures/fcn/input_32x32.npy" --output "$work/out.npy"
[ "$(md5sum <"$work/out.npy")" = "$before" ] || fail "an existing output was changed"
expect_error "exists; pass --force" "$vkseg" convert "$fixtures/fcn/fcn8s_features.pth" \
  -o "$work/fcn16s.vkseg"

expect_error "forbidden pickle global" "$vkseg" convert \
  "$fixtures/checkpoints/malicious_os_system.pt" -o "$work/evil.vkseg"
[ ! -e "$work/evil.vkseg" ] || fail "a refused conversion left a file"
# Hostile checkpoints: the error line names the file, then the problem.
evil=$fixtures/checkpoints/malicious_eval_protocol4.pt
expect_error "^vkseg: error: $evil: forbidden pickle global 'builtins.eval'" "$vkseg" convert \
  "$evil" -o "$work/evil.vkseg"
head -c 2000 "$fixtures/checkpoints/state_dict_zip.pt" >"$work/truncated.pt"
expect_error "^vkseg: error: $work/truncated.pt: not a readable zip archive" "$vkseg" convert \
  "$work/truncated.pt" -o "$work/x.vkseg"
echo "not a checkpoint" >"$work/text.pt"
expect_error "^vkseg: error: $work/text.pt: not a torch zip, legacy torch or safetensors" "$vkseg" \
  convert "$work/text.pt" -o "$work/x.vkseg"
/usr/bin/python3 - "$work" <<'PY'
import json, struct, sys
def safetensors(name, header, data_bytes):
    text = json.dumps(header).encode()
    with open(f"{sys.argv[1]}/{name}.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + bytes(data_bytes))
f32 = lambda shape, begin, end: {"dtype": "F32", "shape": shape, "data_offsets": [begin, end]}
safetensors("overlap", {"a": f32([2], 0, 8), "b": f32([2], 4, 12)}, 12)
safetensors("beyond", {"a": f32([4], 0, 16)}, 8)
safetensors("overflow", {"a": f32([2**32, 2**32, 2**32], 0, 0)}, 0)
safetensors("escapes", {"a\x1b[2J\nb": f32([1], 4, 8)}, 8)  # a name that clears the screen
PY
expect_error "^vkseg: error: $work/overlap.safetensors: tensor 'b' overlaps tensor 'a'$" "$vkseg" \
  convert "$work/overlap.safetensors" -o "$work/x.vkseg"
expect_error "^vkseg: error: $work/beyond.safetensors: tensor 'a': data_offsets .* lie outside" \
  "$vkseg" convert "$work/beyond.safetensors" -o "$work/x.vkseg"
expect_error "^vkseg: error: $work/overflow.safetensors: tensor 'a': shape too large$" "$vkseg" \
  convert "$work/overflow.safetensors" -o "$work/x.vkseg"
expect_error "^vkseg: error: $work/escapes.safetensors: 4 unused bytes before tensor 'a\\\\x1b\\[2J\\\\nb'$" \
  "$vkseg" convert "$work/escapes.safetensors" -o "$work/x.vkseg"
! grep -q $'\x1b' "$work/stderr" || fail "a control character from a file reached the terminal"
expect_error "fits no convolution" "$vkseg" convert "$fixtures/checkpoints/state_dict_zip.pt" \
  -o "$work/odd.vkseg"
expect_error "requested --arch fcn32s" "$vkseg" convert "$fixtures/fcn/fcn8s_blocks.pth" \
  -o "$work/x.vkseg" --arch fcn32s
expect_error "not a vkseg model" "$vkseg" run "$fixtures/fcn/fcn8s_blocks.safetensors" \
  --input "$fixtures/fcn/input_32x32.npy" --output "$work/x.npy"
expect_error "not a .npy file" "$vkseg" run "$work/fcn16s.vkseg" \
  --input "$work/fcn16s.vkseg" --output "$work/x.npy"
expect_error "expected an N x 3 x H x W" "$vkseg" run "$work/fcn16s.vkseg" \
  --input "$fixtures/fcn/fcn16s_out_32x32.npy" --output "$work/x.npy"
expect_error "does not exist" "$vkseg" run "$work/fcn16s.vkseg" \
  --input "$fixtures/fcn/input_32x32.npy" --output "$work/x.npy" --device 99
expect_error "unknown option" "$vkseg" convert "$fixtures/fcn/fcn8s_blocks.pth" --frobnicate
expect_error "cannot open" "$vkseg" convert "$work/nonexistent.pth" -o "$work/x.vkseg"
# segment: masks and overlays named after the inputs, class shares, JSON lines, no overwriting.
images=$fixtures/images
"$vkseg" segment "$work/fcn16s.vkseg" "$images/rgb_37x53.png" "$images/grey_41x29.png" \
  "$images/rgba_30x31.png" -o "$work" --overlay --alpha 0.4 >"$work/segment.txt"
for stem in rgb_37x53 grey_41x29 rgba_30x31; do
  [ -s "$work/${stem}_mask.png" ] && [ -s "$work/${stem}_overlay.png" ] || fail "no outputs for $stem"
done
grep -q "%" "$work/segment.txt" || fail "segment printed no class shares"
/usr/bin/python3 - "$work" <<'PY'
import sys
from PIL import Image
mask = Image.open(f"{sys.argv[1]}/grey_41x29_mask.png")
assert mask.mode == "P" and mask.size == (29, 41), (mask.mode, mask.size)
overlay = Image.open(f"{sys.argv[1]}/rgba_30x31_overlay.png")
assert overlay.mode == "RGB" and overlay.size == (31, 30), (overlay.mode, overlay.size)
print("ok: palette mask and RGB overlay at the images' own sizes")
PY
before=$(md5sum <"$work/rgb_37x53_mask.png")
expect_error "exists; pass --force" "$vkseg" segment "$work/fcn16s.vkseg" "$images/rgb_37x53.png" \
  -o "$work"
[ "$(md5sum <"$work/rgb_37x53_mask.png")" = "$before" ] || fail "an existing mask was changed"
# Two inputs that would write the same mask are refused before anything is written, naming both,
# and so is an output that is one of the inputs (even with --force).
mkdir -p "$work/same/a" "$work/same/b" "$work/same/out"
cp "$images/rgb_37x53.png" "$work/same/a/x.png"
cp "$images/grey_41x29.png" "$work/same/b/x.jpg"
expect_error "^vkseg: error: segment: $work/same/a/x.png and $work/same/b/x.jpg would both write $work/same/out/x_mask.png; rename one" \
  "$vkseg" segment "$work/fcn16s.vkseg" "$work/same/a/x.png" "$work/same/b/x.jpg" -o "$work/same/out"
[ -z "$(ls -A "$work/same/out")" ] || fail "a refused segment run wrote $(ls "$work/same/out")"
cp "$images/rgb_37x53.png" "$work/same/a/x_mask.png"
before=$(md5sum <"$work/same/a/x_mask.png")
expect_error "segment: the output $work/same/a/x_mask.png is one of the inputs" "$vkseg" segment \
  "$work/fcn16s.vkseg" "$work/same/a/x.png" "$work/same/a/x_mask.png" -o "$work/same/a" --force
[ "$(md5sum <"$work/same/a/x_mask.png")" = "$before" ] || fail "an input image was overwritten"
expect_error "run: the output $work/fcn16s.vkseg is one of the inputs" "$vkseg" run \
  "$work/fcn16s.vkseg" --input "$fixtures/fcn/input_32x32.npy" --output "$work/fcn16s.vkseg" --force
"$vkseg" segment "$work/fcn16s.vkseg" "$images/rgb_37x53.png" -o "$work" --json --force \
  | /usr/bin/python3 -c 'import json, sys; j = json.loads(sys.stdin.readline()); assert j["width"] == 53 and abs(sum(c["share"] for c in j["classes"]) - 1) < 1e-9, j; print("ok: --json line")'
expect_error "not a readable" "$vkseg" segment "$work/fcn16s.vkseg" "$images/not_an_image.png" \
  -o "$work" --force
expect_error "^vkseg: error: $images/empty.png: not a readable" "$vkseg" segment \
  "$work/fcn16s.vkseg" "$images/empty.png" -o "$work" --force
expect_error "^vkseg: error: $images/truncated.png: the PNG is truncated" "$vkseg" segment \
  "$work/fcn16s.vkseg" "$images/truncated.png" -o "$work" --force
# Half a JPEG's scan data was segmented (grey where the data ended) with exit status 0.
/usr/bin/python3 - "$images/smooth_37x53.jpg" "$work/half.jpg" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
scan = data.index(b"\xff\xda")
open(sys.argv[2], "wb").write(data[:scan + (len(data) - scan) // 2])
PY
expect_error "^vkseg: error: $work/half.jpg: not a readable JPEG (Premature end of JPEG file)$" \
  "$vkseg" segment "$work/fcn16s.vkseg" "$work/half.jpg" -o "$work" --force
expect_error "^vkseg: error: $images/zero_width.png: the image has no pixels$" "$vkseg" segment \
  "$work/fcn16s.vkseg" "$images/zero_width.png" -o "$work" --force
expect_error "exceed the limit" "$vkseg" segment "$work/fcn16s.vkseg" \
  "$images/huge_100000x100000.png" -o "$work" --force
expect_error "--alpha must be" "$vkseg" segment "$work/fcn16s.vkseg" "$images/rgb_37x53.png" \
  -o "$work" --force --alpha 2
# Numbers are plain decimal, whole, in range and of the right sign; strtof took hex floats and
# strtoull leading spaces, and strtoul read -18446744073709551615 as 1.
expect_error "--alpha: '0x1p-1' is not a finite number" "$vkseg" segment "$work/fcn16s.vkseg" \
  "$images/rgb_37x53.png" -o "$work" --force --alpha 0x1p-1
expect_error "--batch must be an integer from 1 to 4096, not ' 2'" "$vkseg" info \
  "$work/fcn16s.vkseg" --batch " 2"
expect_error "VKSEG_DEVICE='-18446744073709551615' is not a device index" env \
  VKSEG_DEVICE=-18446744073709551615 "$vkseg" info "$work/fcn16s.vkseg"
# fp16 precision: nearly the fp32 masks, and bench says which precision it measured.
if "$vkseg" devices --json | grep -q '"fp16_storage": true'; then
  mkdir -p "$work/fp16"
  "$vkseg" segment "$work/fcn16s.vkseg" "$images/rgb_37x53.png" -o "$work/fp16" \
    --precision fp16 >/dev/null
  /usr/bin/python3 - "$work" <<'PY'
import sys
from PIL import Image
a = list(Image.open(f"{sys.argv[1]}/rgb_37x53_mask.png").getdata())
b = list(Image.open(f"{sys.argv[1]}/fp16/rgb_37x53_mask.png").getdata())
agreement = sum(x == y for x, y in zip(a, b)) / len(a)
assert agreement >= 0.99, agreement
print(f"ok: fp16 mask agrees with fp32 on {100 * agreement:.2f}% of pixels")
PY
  "$vkseg" bench "$work/fcn16s.vkseg" --size 64x64 --iters 1 --warmup 0 --precision fp16 --json \
    | /usr/bin/python3 -c 'import json, sys; j = json.load(sys.stdin); assert j["precision"] == "fp16", j; print("ok: bench --precision fp16")'
else
  echo "skip: fp16 checks (no device with 16-bit storage buffers)"
fi
expect_error "precision must be fp32 or fp16, not 'fp8'" "$vkseg" bench "$work/fcn16s.vkseg" \
  --precision fp8

# Dense CRF: zero iterations leave the network's labels as they are (argmax of the softmax),
# on the CLI's own paths for segment and eval; bad parameters are refused before anything is
# written.
mkdir -p "$work/crf/images" "$work/crf/labels"
cp "$images/rgb_37x53.png" "$work/crf/images/odd.png"
"$vkseg" segment "$work/fcn16s.vkseg" "$work/crf/images/odd.png" -o "$work/crf/plain" >/dev/null
"$vkseg" segment "$work/fcn16s.vkseg" "$work/crf/images/odd.png" -o "$work/crf/zero" --crf \
  --crf-iterations 0 >/dev/null
cmp -s "$work/crf/plain/odd_mask.png" "$work/crf/zero/odd_mask.png" ||
  fail "segment --crf --crf-iterations 0 changed the labels"
"$vkseg" segment "$work/fcn16s.vkseg" "$work/crf/images/odd.png" -o "$work/crf/refined" --crf \
  --crf-appearance-xy-std 20 --crf-appearance-rgb-std 10 --json >"$work/crf/refined.json"
grep -q '"mask"' "$work/crf/refined.json" || fail "segment --crf printed no JSON line"
"$vkseg" segment "$work/fcn16s.vkseg" "$work/crf/images/odd.png" -o "$work/crf/fp16" --crf \
  --precision fp16 >/dev/null
[ -s "$work/crf/fp16/odd_mask.png" ] || fail "segment --crf at fp16 wrote no mask"
cp "$work/crf/plain/odd_mask.png" "$work/crf/labels/odd.png"
"$vkseg" eval "$work/fcn16s.vkseg" --images "$work/crf/images" --labels "$work/crf/labels" --crf \
  --crf-iterations 0 --json >"$work/crf/eval.json"
/usr/bin/python3 - "$work/crf/eval.json" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
assert result["pixel_accuracy"] == 100.0, result
print("ok: eval --crf --crf-iterations 0 agrees with segment's mask on every pixel")
PY
expect_error "^vkseg: error: segment: --crf-iterations needs --crf$" "$vkseg" segment \
  "$work/fcn16s.vkseg" "$work/crf/images/odd.png" -o "$work/crf/bad" --crf-iterations 3
expect_error "^vkseg: error: segment: crf: appearance spatial std is 0; it must lie in \\[0.1, 10000\\]$" \
  "$vkseg" segment "$work/fcn16s.vkseg" "$work/crf/images/odd.png" -o "$work/crf/bad" --crf \
  --crf-appearance-xy-std 0
expect_error "^vkseg: error: eval: --crf-iterations must be" "$vkseg" eval "$work/fcn16s.vkseg" \
  --images "$work/crf/images" --labels "$work/crf/labels" --crf --crf-iterations 5000
expect_error "^vkseg: error: --crf-smoothness-xy-std: .nan. is not a finite number$" "$vkseg" segment "$work/fcn16s.vkseg" \
  "$work/crf/images/odd.png" -o "$work/crf/bad" --crf --crf-smoothness-xy-std nan
[ ! -e "$work/crf/bad" ] || [ -z "$(ls -A "$work/crf/bad")" ] || fail "a refused --crf run wrote a file"

# torchvision's networks and U-Net convert from their state dicts and segment and evaluate
# images of any size, as the FCNs do (a model against its own masks scores 100%).
for net in lraspp_mobilenet_v3_large unet_transposed; do
  "$vkseg" convert "$fixtures/torchvision/$net.pth" -o "$work/$net.vkseg" 2>/dev/null >/dev/null
  mkdir -p "$work/$net/images" "$work/$net/labels"
  cp "$images/rgb_37x53.png" "$work/$net/images/odd.png"
  "$vkseg" segment "$work/$net.vkseg" "$work/$net/images/odd.png" -o "$work/$net/labels" --json \
    >/dev/null
  mv "$work/$net/labels/odd_mask.png" "$work/$net/labels/odd.png"
  "$vkseg" eval "$work/$net.vkseg" --images "$work/$net/images" --labels "$work/$net/labels" \
    --json | /usr/bin/python3 -c 'import json, sys; j = json.load(sys.stdin); assert j["pixel_accuracy"] == 100.0, j'
  echo "ok: $net segments a 53x37 image and evaluates against its own mask at 100%"
done

# tune times the model's large convolutions again and lists each with every variant's time;
# --no-autotune times nothing, writes no tuning file and gives the same logits.
"$vkseg" tune "$work/fcn16s.vkseg" --json >"$work/tune.jsonl"
/usr/bin/python3 - "$work/tune.jsonl" <<'PY'
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
assert lines, "tune listed no convolution"
for line in lines:
    timed = [ms for ms in line["ms"].values() if ms is not None]
    assert len(line["ms"]) >= 2 and line["rule"] in line["ms"], line
    chosen = line["ms"][line["variant"]]
    # The fastest, or the rules' choice where nothing beats it by 1.25x.
    assert chosen == min(timed) or (line["variant"] == line["rule"] and
                                    chosen <= 1.25 * min(timed)), line
print(f"ok: tune timed {len(lines)} convolution shapes, each choosing its fastest variant "
      "or keeping the rules' within 1.25x")
PY
VKSEG_CACHE_DIR="$work/untuned" "$vkseg" run "$work/fcn16s.vkseg" --no-autotune \
  --input "$fixtures/fcn/input_96x64b2.npy" --output "$work/untuned.npy" >/dev/null
if compgen -G "$work/untuned/conv2d-tuning-*" >/dev/null; then fail "--no-autotune timed layers"; fi
/usr/bin/python3 - "$work/untuned.npy" "$work/out.npy" <<'PY'
import sys
import numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
assert np.abs(a - b).max() <= 1e-4 * b.std(), np.abs(a - b).max()
print("ok: --no-autotune gives the tuned run's logits")
PY

# eval: labels paired by name; a label outside the model's classes is an error.
mkdir -p "$work/eval/images" "$work/eval/labels"
cp "$images/rgb_37x53.png" "$work/eval/images/a.png"
cp "$work/rgb_37x53_mask.png" "$work/eval/labels/a.png"
"$vkseg" eval "$work/fcn16s.vkseg" --images "$work/eval/images" --labels "$work/eval/labels" --json \
  | /usr/bin/python3 -c 'import json, sys; j = json.load(sys.stdin); assert j["pixel_accuracy"] == 100.0 and j["mean_iou"] == 100.0, j; print("ok: eval of a model against its own masks is 100%")'
cp "$images/grey_41x29.png" "$work/eval/labels/a.png"
expect_error "is 29x41 but its image is 53x37" "$vkseg" eval "$work/fcn16s.vkseg" \
  --images "$work/eval/images" --labels "$work/eval/labels"
# fcn.md section 1.5's sizes for a 500x500 input; upscore16 computes only the window its crop
# keeps.
"$vkseg" info "$work/fcn16s.vkseg" --size 500x500 >"$work/info.txt"
for layer in "score_pool4 .* 1x21x44x44" "upscore2 .* 1x21x34x34" "upscore16 .* 1x21x500x500"; do
  grep -q "$layer" "$work/info.txt" || fail "info does not show $layer for a 500x500 input"
done
echo "ok: info shows the FCN reference shapes"
# Hostile models are refused when loaded, the file and the problem named.
# edit_graph IN OUT CODE: OUT is IN with its graph `g` changed by the Python statement CODE.
edit_graph() {
  /usr/bin/python3 - "$@" <<'PY'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
length = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + length])
g = json.loads(header["__metadata__"]["graph"])
exec(sys.argv[3])
header["__metadata__"]["graph"] = json.dumps(g)
text = json.dumps(header).encode()
open(sys.argv[2], "wb").write(struct.pack("<Q", len(text)) + text + data[8 + length:])
PY
}
head -c 100000 "$work/fcn16s.vkseg" >"$work/truncated.vkseg"
expect_error "^vkseg: error: $work/truncated.vkseg: tensor '.*': data_offsets .* lie outside" \
  "$vkseg" info "$work/truncated.vkseg"
edit_graph "$work/fcn16s.vkseg" "$work/cycle.vkseg" 'g["nodes"][0]["inputs"] = [g["outputs"][0]]'
expect_error "^vkseg: error: $work/cycle.vkseg: graph node .* (a dangling name or a cycle)$" \
  "$vkseg" info "$work/cycle.vkseg"
edit_graph "$work/fcn16s.vkseg" "$work/dangling.vkseg" 'g["outputs"] = ["ghost"]'
expect_error "^vkseg: error: $work/dangling.vkseg: graph: output 'ghost' is produced by no node" "$vkseg" info \
  "$work/dangling.vkseg"
edit_graph "$work/fcn16s.vkseg" "$work/pool_pad.vkseg" \
  'next(n for n in g["nodes"] if n["op"] == "max_pool2d")["attrs"]["pads"] = [5, 5, 5, 5]'
expect_error "^vkseg: error: $work/pool_pad.vkseg: graph node .*: 'pads' 5x5x5x5 exceed half the 2x2" \
  "$vkseg" info "$work/pool_pad.vkseg"
# NaN in means NaN out (issue 11, class 9): a checkpoint with a NaN weight converts with a
# warning (or is refused with --refuse-non-finite), and segment refuses to write a mask from the
# NaN scores it gives.
/usr/bin/python3 - "$fixtures/fcn/fcn16s_pytorchfcn.pth" "$work/nan.pth" <<'PY'
import sys, torch
sd = torch.load(sys.argv[1])
sd["score_fr.bias"][3] = float("nan")
torch.save(sd, sys.argv[2])
PY
"$vkseg" convert "$work/nan.pth" -o "$work/nan.vkseg" 2>"$work/nan.txt"
grep -q "^vkseg: warning: weights hold NaN or infinite values, which reach the outputs: 'score_fr.bias' (1 of 21 values)" \
  "$work/nan.txt" || fail "convert gave no NaN warning: $(cat "$work/nan.txt")"
expect_error "'score_fr.bias' (1 of 21 values)" "$vkseg" convert "$work/nan.pth" \
  -o "$work/refused.vkseg" --refuse-non-finite
[ ! -e "$work/refused.vkseg" ] || fail "a refused conversion wrote its output"
expect_error "^vkseg: error: segment: $images/rgb_37x53.png: the network scored [0-9]* pixels NaN or infinite; no mask written" \
  "$vkseg" segment "$work/nan.vkseg" "$images/rgb_37x53.png" -o "$work/nan_masks"
[ ! -e "$work/nan_masks/rgb_37x53_mask.png" ] || fail "segment wrote a mask from NaN scores"
# Device faults: a clear line and status 1, never a crash or a hang.
expect_error "mesa-vulkan-drivers" env VK_DRIVER_FILES=/nonexistent.json \
  VK_ICD_FILENAMES=/nonexistent.json "$vkseg" devices
expect_error "VK_ERROR_DEVICE_LOST" env VKSEG_INJECT_FAULT=device_lost "$vkseg" run \
  "$work/fcn16s.vkseg" --input "$fixtures/fcn/input_32x32.npy" --output "$work/lost.npy"
[ ! -e "$work/lost.npy" ] || fail "a failed run left an output"
expect_error "VK_ERROR_OUT_OF_DEVICE_MEMORY (try a smaller input size" env \
  VKSEG_INJECT_FAULT=out_of_device_memory "$vkseg" segment "$work/fcn16s.vkseg" \
  "$images/rgb_37x53.png" -o "$work" --force
# A submission that never finishes (here: any, with a 1 microsecond limit) is reported.
expect_error "did not finish its work within 1e-06 s" env VKSEG_GPU_TIMEOUT=0.000001 "$vkseg" run \
  "$work/fcn16s.vkseg" --input "$fixtures/fcn/input_32x32.npy" --output "$work/hung.npy"
[ ! -e "$work/hung.npy" ] || fail "a hung run left an output"
expect_error "VKSEG_GPU_TIMEOUT='soon' is not a positive number" env VKSEG_GPU_TIMEOUT=soon \
  "$vkseg" run "$work/fcn16s.vkseg" --input "$fixtures/fcn/input_32x32.npy" --output "$work/x.npy"
expect_error "exceeds the device's largest allocation .*try a smaller input size" "$vkseg" info \
  "$work/fcn16s.vkseg" --size 30000x30000
# ONNX (issue 13): told by content whatever the file's name, converted with the preprocessing
# and classes given, run against PyTorch; hostile files refused in one line, nothing written.
cp "$fixtures/onnx/pytorch_unet_bilinear.onnx" "$work/unet_export.pth"
"$vkseg" convert "$work/unet_export.pth" -o "$work/unet_onnx.vkseg" --classes back,fore \
  --mean 0,0,0 --std 1,1,1 >"$work/onnx.txt" 2>&1
grep -q "onnx, .* 2 classes" "$work/onnx.txt" || fail "ONNX convert said: $(cat "$work/onnx.txt")"
"$vkseg" info "$work/unet_onnx.vkseg" >"$work/onnx_info.txt" 2>&1
grep -q "classes *2: back fore" "$work/onnx_info.txt" || fail "ONNX classes: $(cat "$work/onnx_info.txt")"
"$vkseg" run "$work/unet_onnx.vkseg" --input "$fixtures/onnx/input_67x61.npy" \
  --output "$work/unet_onnx.npy"
/usr/bin/python3 - "$work/unet_onnx.npy" "$fixtures/onnx/pytorch_unet_bilinear_out_67x61.npy" <<'PY'
import sys
import numpy as np
out, ref = np.load(sys.argv[1]), np.load(sys.argv[2])
assert out.shape == ref.shape, (out.shape, ref.shape)
err = np.abs(out - ref).max() / ref.std()
print(f"ok: ONNX U-Net matches PyTorch: max error {err:.2e} of std")
assert err <= 1e-4 and (out.argmax(1) == ref.argmax(1)).mean() >= 0.999
PY
expect_error "^vkseg: error: .*hostile_truncated.onnx: not a valid ONNX ModelProto" "$vkseg" \
  convert "$fixtures/onnx/hostile_truncated.onnx" -o "$work/hostile.vkseg"
expect_error "(Elu): op type 'Elu' is not supported; supported: " "$vkseg" \
  convert "$fixtures/onnx/hostile_unsupported_op.onnx" -o "$work/hostile.vkseg"
expect_error "is not a file inside the model's directory" "$vkseg" \
  convert "$fixtures/onnx/hostile_external_escape.onnx" -o "$work/hostile.vkseg"
expect_error "names a PyTorch front end" "$vkseg" convert "$fixtures/onnx/unet.onnx" \
  -o "$work/hostile.vkseg" --arch unet
[ ! -e "$work/hostile.vkseg" ] || fail "a refused ONNX file left a model"
echo "cli: all checks passed"
