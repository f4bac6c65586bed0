#!/usr/bin/env bash
# Apply .clang-format to every C++ file git knows, or with --check list the
# files that differ and fail (ctest check_format, so CI holds the tree to it).
#   scripts/format.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
fmt=${CLANG_FORMAT:-clang-format-14}
command -v "$fmt" >/dev/null || { echo "format: $fmt not found (scripts/setup-deps.sh --test installs it)" >&2; exit 2; }
mapfile -t files < <(git ls-files -- '*.cpp' '*.hpp' '*.h' '*.cc')
if [[ ${1:-} == --check ]]; then
  bad=0
  for f in "${files[@]}"; do
    [[ -f $f ]] || continue
    if ! "$fmt" --style=file "$f" | cmp -s - "$f"; then
      echo "format: $f differs from .clang-format (run scripts/format.sh)"
      bad=1
    fi
  done
  ((bad == 0)) && echo "format: ${#files[@]} files match .clang-format"
  exit "$bad"
fi
"$fmt" --style=file -i "${files[@]}"
