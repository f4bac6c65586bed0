#!/usr/bin/env bash
# Set up and run the node on its embedded defaults: AE title CLOUDFILM,
# port 11112, data in ./cloudfilm-data. Extra arguments go to `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-deps.sh
scripts/build.sh
# The viewer behind the page's "View" button (OHIF from the npm registry, pinned); if the
# registry cannot be reached the node runs without it.
scripts/fetch-viewer.sh build/ohif || echo "run.sh: no viewer (scripts/fetch-viewer.sh failed); the node runs without it" >&2
exec build/cloudfilm serve "$@"
