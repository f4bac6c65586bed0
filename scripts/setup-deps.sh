#!/usr/bin/env bash
# Install the Debian 12 packages cloudfilm needs, if any is missing.
# Usage: scripts/setup-deps.sh [--test] [--bench] [--sanitize] [--fuzz] [--package] [--fresh-check]
#   (none)        what the build needs
#   --test        + what scripts/test.sh drives: DCMTK's tools, Orthanc, odil, pytest, pydicom,
#                 clang-format, chromium (tests/browser)
#   --bench       + what bench/*.py drives (the --test set and /usr/bin/time)
#   --sanitize    + the sanitizer runtimes of scripts/ci-sanitize.sh (GCC's ASan/UBSan/TSan)
#   --fuzz        + clang and its libFuzzer/sanitizer runtime (CF_BUILD_FUZZERS)
#   --package     + what cpack -G DEB needs (dpkg-shlibdeps, file)
#   --fresh-check + debootstrap, for scripts/fresh-check.sh
set -euo pipefail

# python3 and doctest-dev: CF_BUILD_TESTS defaults to ON, so a plain configure (run.sh)
# finds the Python interpreter and doctest too.
packages=(
  build-essential python3 cmake ninja-build ccache pkg-config
  libdcmtk-dev libyaml-cpp-dev libsqlite3-dev libboost-dev libcurl4-openssl-dev
  libopenjp2-7-dev nlohmann-json3-dev libcli11-dev libsystemd-dev libarchive-dev libssl-dev
  doctest-dev nodejs openssl
)
# nodejs + npm, openssl: scripts/fetch-viewer.sh packs the pinned OHIF viewer from the npm
# registry and checks its integrity hash (run.sh and test.sh call it). npm only when
# missing: NodeSource's nodejs bundles it and conflicts with Debian's npm package.
command -v npm >/dev/null || packages+=(npm)
# dcmtk: echoscu storescu storescp findscu getscu movescu dcmodify dcmdjpeg ...;
# python3-gdcm: pydicom decodes the JPEG fixtures through it; orthanc(-dicomweb): the
# forward, Q/R and DICOMweb fetch peers; odil: a second C-FIND client (test_find.py);
# clang-format-14: ctest check_format (scripts/format.sh --check);
# chromium: tests/browser drives the page and the viewer with playwright-core (npm ci there);
# fonts-wqy-microhei: so Chinese patient names render in its screenshots.
test_packages=(dcmtk python3 python3-pydicom python3-numpy python3-pytest python3-gdcm
               zip sqlite3 orthanc orthanc-dicomweb odil python3-odil clang-format-14
               chromium fonts-wqy-microhei)
bench_packages=("${test_packages[@]}" time)
# GCC 12's runtimes; g++ pulls them in already, listed so a minimal system states them.
sanitize_packages=(libasan8 libubsan1 libtsan2)
fuzz_packages=(clang-14 libclang-rt-14-dev python3 python3-pydicom)
# cpack -G DEB with CPACK_DEBIAN_PACKAGE_SHLIBDEPS: dpkg-shlibdeps and file(1).
package_packages=(dpkg-dev file)
fresh_packages=(debootstrap debian-archive-keyring git zstd curl)

for arg in "$@"; do
  case "$arg" in
    --test) packages+=("${test_packages[@]}") ;;
    --bench) packages+=("${bench_packages[@]}") ;;
    --sanitize) packages+=("${sanitize_packages[@]}") ;;
    --fuzz) packages+=("${fuzz_packages[@]}") ;;
    --package) packages+=("${package_packages[@]}") ;;
    --fresh-check) packages+=("${fresh_packages[@]}") ;;
    *) echo "setup-deps.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=()
if ((EUID != 0)); then
  sudo=(sudo)
fi
echo "Installing: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
