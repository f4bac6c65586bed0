#!/usr/bin/env bash
# Set up, build and run every test (unit and integration, against the real
# binary and DCMTK's tools).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-deps.sh --test
scripts/build.sh -DCF_BUILD_TESTS=ON
ctest --test-dir build --output-on-failure
