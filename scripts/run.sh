#!/usr/bin/env bash
# Set up and run the node on its embedded defaults: AE title CLOUDFILM,
# port 11112, data in ./cloudfilm-data. Extra arguments go to `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-deps.sh
scripts/build.sh
exec build/cloudfilm serve "$@"
