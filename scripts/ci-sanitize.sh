#!/usr/bin/env bash
# CI: the sanitizer runs, after scripts/test.sh (whose build/ provides the platform
# replicas the fetch tests talk to; they are test servers, not the code under test).
#
#   (a) build-asan: ASan + UBSan, warnings as errors; cloudfilm and unit_tests only.
#       The unit tests, then part of the integration suite against the ASan binary.
#   (b) build-tsan: TSan; unit_tests only, run once.
#
# Any sanitizer report fails the run: UBSan is built with -fno-sanitize-recover and
# halt_on_error=1 everywhere; ASan/UBSan write their reports under build-asan/reports/
# as well, so a report from a node the test harness merely stopped still counts.
# Usage: scripts/ci-sanitize.sh [asan|tsan]   (default both)
set -euo pipefail
cd "$(dirname "$0")/.."
repo_root=$(pwd)
what=${1:-all}

scripts/setup-deps.sh --test --sanitize

# The integration files run under ASan: C-STORE intake (parsers, spool, index), C-FIND
# (identifier matching, charsets), C-GET/C-MOVE (the transcoders: JPEG, JPEG-LS, RLE,
# JPEG 2000), and the fetch paths of the tile and CDN platforms (HTTP client, module
# parsers, reassembly). The whole-file and DICOMweb fetch tests are left out for time: a
# cold CI run (three cold builds) must stay well inside 90 minutes.
asan_integration=(test_store.py test_find.py test_retrieve.py
                  test_fetch_hinacom.py test_fetch_cdn.py)

section() { printf '\n==== %s (%(%H:%M:%S)T)\n' "$*" -1; }

# reports_or_fail DIR: print every report file in DIR and fail if there is one.
reports_or_fail() {
  local dir=$1 found=0 f
  for f in "$dir"/*; do
    [[ -f $f ]] || continue
    # A file with only LeakSanitizer's "Suppressions used" table is no report.
    grep -qE 'ERROR: |runtime error' "$f" || { rm -f "$f"; continue; }
    found=1
    echo "---- sanitizer report $f"
    cat "$f"
  done
  ((found == 0)) || { echo "ci-sanitize: sanitizer reports above" >&2; exit 1; }
}

if [[ $what == all || $what == asan ]]; then
  section "ASan+UBSan build (build-asan: cloudfilm unit_tests, -Werror)"
  BUILD_DIR=build-asan BUILD_TARGETS="cloudfilm unit_tests" scripts/build.sh \
    -DCF_BUILD_TESTS=ON -DCF_SANITIZE_ADDRESS=ON -DCF_SANITIZE_UNDEFINED=ON -DCF_WARNINGS_AS_ERRORS=ON

  reports=$repo_root/build-asan/reports
  rm -rf "$reports"
  mkdir -p "$reports"
  # detect_leaks=1: LeakSanitizer runs at every exit of the node and of unit_tests; the
  # libraries' own one-time allocations (DCMTK's dictionaries, OpenSSL) are freed or
  # still reachable at exit, so a report is ours. abort_on_error=0 keeps the exit code.
  export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:log_path=$reports/asan"
  export LSAN_OPTIONS="suppressions=$repo_root/tests/sanitizers/lsan.supp"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"

  section "ASan unit tests"
  build-asan/tests/unit_tests
  reports_or_fail "$reports"

  section "ASan integration: ${asan_integration[*]}"
  export CLOUDFILM_REPLICA=$repo_root/build/tests/replica/cloudfilm_replica
  export CLOUDFILM_REPLICA_CDN=$repo_root/build/tests/replica/cloudfilm_replica_cdn
  export CLOUDFILM_REPLICA_WHOLE=$repo_root/build/tests/replica/cloudfilm_replica_whole
  for bin in "$CLOUDFILM_REPLICA" "$CLOUDFILM_REPLICA_CDN" "$CLOUDFILM_REPLICA_WHOLE"; do
    [[ -x $bin ]] || { echo "ci-sanitize: $bin missing: run scripts/test.sh first" >&2; exit 2; }
  done
  files=()
  for f in "${asan_integration[@]}"; do
    files+=("$repo_root/tests/integration/$f")
  done
  # pytest directly with tests/integration/run.sh's environment: run.sh always appends
  # the whole folder, which would run every file.
  rc=0
  (cd tests/integration && CLOUDFILM_BIN=$repo_root/build-asan/cloudfilm PYTHONDONTWRITEBYTECODE=1 \
     TCP_NODELAY=1 /usr/bin/python3 -m pytest -q -p no:cacheprovider "${files[@]}") || rc=$?
  reports_or_fail "$reports"
  ((rc == 0)) || { echo "ci-sanitize: ASan integration run failed ($rc)" >&2; exit 1; }
  unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
fi

if [[ $what == all || $what == tsan ]]; then
  section "TSan build (build-tsan: unit_tests)"
  BUILD_DIR=build-tsan BUILD_TARGETS=unit_tests scripts/build.sh \
    -DCF_BUILD_TESTS=ON -DCF_SANITIZE_THREAD=ON

  section "TSan unit tests"
  # setarch -R: GCC 12's TSan cannot map its shadow under the high mmap randomisation
  # of recent kernels ("unexpected memory mapping"); without ASLR it can.
  # -tse=slow: the "slow" suite measures memory growth (a 300 MB HAR import), which
  # TSan's shadow memory inflates; ASan and the normal run keep it.
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" setarch "$(uname -m)" -R \
    build-tsan/tests/unit_tests -tse=slow
fi
section "ci-sanitize: clean"
