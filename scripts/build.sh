#!/usr/bin/env bash
# Configure (once) and build into ./build. Extra arguments go to cmake.
# BUILD_DIR (default build) picks another build folder, e.g. build-asan.
set -euo pipefail
cd "$(dirname "$0")/.."
repo_root=$(pwd)
build_dir=${BUILD_DIR:-build}
# Paths below the checkout are hashed relative to it, so a clone in another folder (CI)
# hits the same ccache entries.
export CCACHE_BASEDIR="$repo_root"
export CCACHE_NOHASHDIR=1
if [[ ! -f "$build_dir/build.ninja" ]]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
fi
cmake --build "$build_dir" --parallel "$(nproc)" ${BUILD_TARGETS:+--target $BUILD_TARGETS}
