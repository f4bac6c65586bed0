#!/usr/bin/env bash
# scripts/check-deps.sh must fail on a planted violation: a copy of the tree
# where a module includes the network server, a module includes another
# module, and net/ includes the store's implementation. Each must be named
# (the unplanted tree is ctest check_deps).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$repo/src" "$repo/modules" "$tmp/"
mkdir -p "$tmp/scripts" && cp "$repo/scripts/check-deps.sh" "$tmp/scripts/"
printf '#include <net/server.hpp>\n#include <hinacom/hinacom_source.hpp>\n' >"$tmp/modules/sugh/planted.cpp"
printf '#include <store/store.hpp>\n' >"$tmp/src/net/planted.cpp"
if out=$("$tmp/scripts/check-deps.sh" "$tmp" 2>&1); then
  echo "check-deps passed a tree with planted violations" >&2
  exit 1
fi
for want in "modules/sugh/planted.cpp:1: module:sugh may not include <net/server.hpp>" \
            "modules/sugh/planted.cpp:2: module sugh may not include another module's" \
            "src/net/planted.cpp:1: net may not include <store/store.hpp>"; do
  grep -qF "$want" <<<"$out" || { echo "missing: $want"; echo "$out"; exit 1; } >&2
done
echo "check-deps names all three planted violations"
