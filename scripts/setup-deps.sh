#!/usr/bin/env bash
# Install the Debian 12 packages cloudfilm needs, if any is missing.
# Usage: scripts/setup-deps.sh [--test] [--fuzz]
#   --test adds what the tests drive; --fuzz adds clang and its libFuzzer/ASan/
#   UBSan runtimes for tests/fuzz (scripts/fuzz.sh).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libdcmtk-dev libyaml-cpp-dev libsqlite3-dev libboost-dev libcurl4-openssl-dev
  libopenjp2-7-dev nlohmann-json3-dev libcli11-dev libsystemd-dev libarchive-dev libssl-dev
  doctest-dev
)
for arg in "$@"; do
  case "$arg" in
    --test)
      packages+=(dcmtk python3 python3-pydicom python3-numpy python3-pytest zip sqlite3
                 orthanc orthanc-dicomweb odil python3-odil)
      ;;
    --fuzz)
      packages+=(clang-14 libclang-rt-14-dev python3 python3-pydicom)
      ;;
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
