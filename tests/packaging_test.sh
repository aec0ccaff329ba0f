#!/bin/bash
# Installs vkseg to a temporary prefix, builds tests/install_consumer against it once through
# find_package(vkseg CONFIG) and once through `pkg-config --static vkseg`, and checks that both
# give `vkseg segment`'s labels for an image that needs padding.
#
#   packaging_test.sh BUILD_DIR SOURCE_DIR VKSEG_CLI [CXX_FLAGS [LINKER_FLAGS]]
# The consumers are compiled and linked with the build's own flags, so that an instrumented
# build (scripts/sanitize.sh) installs an archive its consumers can link.
set -euo pipefail
build=$1 source=$2 cli=$3 cxx_flags=${4:-} link_flags=${5:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/vkseg-packaging-XXXXXX")
trap 'rm -rf "$work"' EXIT
export VKSEG_CACHE_DIR=$work/cache  # never the user's cache
model=$source/weights/demo/demo_fcn8s.vkseg

cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
prefix=$work/prefix
test -f "$prefix/include/vkseg/vkseg.h" || { echo "vkseg.h was not installed"; exit 1; }
# The Python package, where the build has it, imports from its installed place alone.
if [ -f "$build/python/vkseg/__init__.py" ]; then
  PYTHONPATH="$prefix/lib/python3/dist-packages" /usr/bin/python3 -c \
    "import sys, vkseg, vkseg.dask; assert vkseg.__file__.startswith(sys.argv[1]); vkseg.Model.load(sys.argv[2])" \
    "$prefix" "$model"
fi

# Only the temporary prefix: no package registry in the user's home.
cmake -S "$source/tests/install_consumer" -B "$work/cmake-build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  -DCMAKE_CXX_FLAGS="$cxx_flags" -DCMAKE_EXE_LINKER_FLAGS="$link_flags" >"$work/configure.log" \
  || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/cmake-build" >"$work/build.log" || { cat "$work/build.log"; exit 1; }

pc_dir=$(dirname "$(find "$prefix" -name vkseg.pc)")
flags=$(PKG_CONFIG_PATH=$pc_dir pkg-config --cflags --libs --static vkseg)
# shellcheck disable=SC2086  # the flags are words
c++ -std=c++17 -O1 $cxx_flags "$source/tests/install_consumer/main.cpp" -o "$work/consumer-pkgconfig" \
  $flags $link_flags

/usr/bin/python3 "$source/tests/make_odd_sized_image.py" "$source/weights/demo/samples/sample_2.png" \
  100 75 "$work/odd.png"
"$cli" segment "$model" "$work/odd.png" -o "$work/cli" --no-autotune >/dev/null
for consumer in "$work/cmake-build/consumer" "$work/consumer-pkgconfig"; do
  "$consumer" "$model" "$work/odd.png" "$work/labels.pgm"
  /usr/bin/python3 "$source/tests/compare_labels.py" "$work/cli/odd_mask.png" "$work/labels.pgm"
done
echo "both consumers give vkseg segment's labels"
