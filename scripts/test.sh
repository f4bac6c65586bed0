#!/usr/bin/env bash
# Set up, build and run every test (unit and integration, against the real
# binary and DCMTK's tools).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-deps.sh --test
# -Werror: the tree builds without a warning on Debian 12's GCC; keep it so.
scripts/build.sh -DCF_BUILD_TESTS=ON -DCF_WARNINGS_AS_ERRORS=ON
# The in-browser viewer (OHIF from npm, pinned) beside the binary, for test_dicomweb.py.
scripts/fetch-viewer.sh build/ohif
ctest --test-dir build --output-on-failure
