#!/usr/bin/env bash
# Fuzzes every reader of untrusted files and the command line's option parser (tests/fuzz) with
# libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer: builds them with clang in
# build-fuzz, seeds them from the test fixtures and runs each for a bounded number of executions.
# Exits non-zero on any finding. Memory is limited far below what a decompression bomb takes (no
# single allocation over 512 MiB, 1 GiB resident in all), and AddressSanitizer reports a stack
# overflow from deep nesting: both are findings, like crashes, leaks and timeouts.
# Usage: scripts/fuzz.sh [RUNS_PER_TARGET] [SECONDS_PER_TARGET]   (defaults: 5000 and 60)
# Inputs that grew coverage accumulate in build-fuzz/corpus/<target>/; findings (crash-*, leak-*,
# timeout-*, oom-*) and logs go to build-fuzz/findings/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5000}
seconds=${2:-60}
build=build-fuzz
targets=(pickle checkpoint safetensors model image npy onnx args)

scripts/setup.sh build  # the packages, and build/vkseg, which makes the model seeds
fuzz_packages=(clang-14 libclang-rt-14-dev)
for p in "${fuzz_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
      "${fuzz_packages[@]}"
    break
  fi
done

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVKSEG_FUZZ=ON \
  -DCMAKE_CXX_COMPILER=clang++-14
cmake --build "$build" --target "${targets[@]/#/fuzz_}"

# Seeds come from the fixtures the test suite writes; without them, the fixture scripts write a
# temporary set (about 1.2 GB, a few minutes).
fixtures=build/fixtures
if [ ! -f "$fixtures/checkpoints/expected.json" ] || [ ! -d "$fixtures/images" ] ||
   [ ! -f "$fixtures/onnx/onnx_manifest.json" ]; then
  fixtures=$(mktemp -d)
  trap 'rm -rf "$fixtures"' EXIT
  /usr/bin/python3 tests/fixtures/make_checkpoint_fixtures.py "$fixtures/checkpoints"
  /usr/bin/python3 tests/fixtures/make_fcn_fixtures.py "$fixtures/fcn"
  /usr/bin/python3 tests/fixtures/make_image_fixtures.py "$fixtures/fcn" "$fixtures/images"
  /usr/bin/python3 tests/fixtures/make_onnx_fixtures.py "$fixtures/onnx"
fi
tests/fuzz/make_corpus.sh "$fixtures" build/vkseg "$build/seeds"

export UBSAN_OPTIONS=print_stacktrace=1
failed=()
for target in "${targets[@]}"; do
  corpus=$build/corpus/$target findings=$build/findings/$target
  rm -rf "$findings"
  mkdir -p "$corpus" "$findings"
  log=$findings/fuzz.log
  status=0
  "$build/tests/fuzz/fuzz_$target" "$corpus" "$build/seeds/$target" -runs="$runs" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=512 \
    -print_final_stats=1 \
    -artifact_prefix="$findings/" >"$log" 2>&1 || status=$?
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  per_second=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  if [ "$status" -eq 0 ]; then
    echo "fuzz_$target: ${executions:-?} executions, ${per_second:-?}/s, no crashes"
  else
    failed+=("fuzz_$target")
    echo "fuzz_$target: ${executions:-?} executions, ${per_second:-?}/s, FINDING (exit $status):"
    grep -E '^(SUMMARY|==[0-9]+==ERROR|.*runtime error|terminate called|  what\(\))' "$log" | head -5
    echo "  input and log in $findings/"
  fi
done
if ((${#failed[@]})); then
  echo "fuzz: findings in ${failed[*]}"
  exit 1
fi
echo "fuzz: no findings"
