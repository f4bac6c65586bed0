#!/bin/sh
# SPDX-License-Identifier: MIT
# Run the integration suite against a built binary.
#
#   tests/integration/run.sh [PATH/TO/cloudfilm] [pytest arguments...]
#
# Without an argument, CLOUDFILM_BIN from the environment, else build/cloudfilm.
# Exits 125 (CTest SKIP_RETURN_CODE) when DCMTK's tools or the Python modules are missing.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -ge 1 ]; then
  CLOUDFILM_BIN=$1
  shift
fi
CLOUDFILM_BIN=${CLOUDFILM_BIN:-$here/../../build/cloudfilm}
case $CLOUDFILM_BIN in
  /*) ;;
  *) CLOUDFILM_BIN=$(pwd)/$CLOUDFILM_BIN ;;
esac
export CLOUDFILM_BIN

# Debian's interpreter: python3-pydicom, python3-numpy and python3-pytest live there, and
# a python3 earlier on PATH (pyenv, venv) would not see them.
python=${PYTHON:-/usr/bin/python3}

for tool in echoscu storescu dcmodify; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "integration tests skipped: $tool missing (apt-get install dcmtk)"
    exit 125
  fi
done
if ! "$python" -c 'import pydicom, numpy, pytest' 2>/dev/null; then
  echo "integration tests skipped: apt-get install python3-pydicom python3-numpy python3-pytest"
  exit 125
fi
if [ ! -x "$CLOUDFILM_BIN" ]; then
  echo "no cloudfilm binary at $CLOUDFILM_BIN" >&2
  exit 2
fi

export PYTHONDONTWRITEBYTECODE=1
export TCP_NODELAY=1
cd "$here"
exec "$python" -m pytest -q -p no:cacheprovider "$@" "$here"
