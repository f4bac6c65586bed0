#!/usr/bin/env bash
# Build the libFuzzer harnesses (tests/fuzz/) into ./build-fuzz and run each
# for SECONDS (default 60). Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
# Crashes go to build-fuzz/crashes/<target>/, the growing corpus to
# build-fuzz/corpus/<target>/, logs to build-fuzz/logs/<target>.log.
# Exit status 1 if any target found a crash, leak, UB or timeout.
# Environment: FUZZ_RSS_MB (2048), FUZZ_MAX_LEN (65536), CF_BUILD_LOCK
# (/tmp/cf-build.lock; builds wait on it), PYTHON (/usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-60}
shift || true
all=(fuzz_reassemble fuzz_jpeg2000 fuzz_har fuzz_multipart fuzz_socketio fuzz_find fuzz_dicomdir
     fuzz_config fuzz_instance_info fuzz_web_objects fuzz_http)
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")
rss=${FUZZ_RSS_MB:-2048}
max_len=${FUZZ_MAX_LEN:-65536}
lock=${CF_BUILD_LOCK:-/tmp/cf-build.lock}
python=${PYTHON:-/usr/bin/python3}
out=build-fuzz

locked() {
  if command -v flock >/dev/null; then flock "$lock" "$@"; else "$@"; fi
}

if [[ ! -f $out/build.ninja ]]; then
  CC=${CC:-clang-14} CXX=${CXX:-clang++-14} locked cmake -S . -B "$out" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCF_BUILD_FUZZERS=ON -DCF_BUILD_TESTS=OFF >/dev/null
fi
locked cmake --build "$out" --target fuzzers --parallel "$(nproc)" | grep -Ev '^\[[0-9]+/[0-9]+\] ' || true
for t in "${targets[@]}"; do
  [[ -x $out/tests/fuzz/$t ]] || { echo "no fuzzer $t" >&2; exit 2; }
done

# Seeds: generated from python3-pydicom's test files (make_seeds.py) plus any
# committed under tests/fuzz/corpus/<target>/.
rm -rf "$out/seeds"
"$python" tests/fuzz/make_seeds.py "$out/seeds"

# libFuzzer's own limits; ASan/UBSan stop at the first error.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# DCMTK's own leaks when it throws mid-read (tests/fuzz/lsan.supp). The
# suppressions need whole allocation stacks, and DCMTK has no frame pointers,
# so fuzz_dicomdir, where directory records are the input, unwinds slowly on
# malloc (ten times fewer executions; the other targets keep fast unwinding).
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/fuzz/lsan.supp}
slow_unwind=" fuzz_dicomdir "

failed=0
printf '%-20s %8s %8s %10s  %s\n' target exec/s corpus cov result
for t in "${targets[@]}"; do
  mkdir -p "$out/crashes/$t" "$out/corpus/$t" "$out/logs" "$out/seeds/$t"
  dirs=("$out/corpus/$t" "$out/seeds/$t")
  [[ -d tests/fuzz/corpus/$t ]] && dirs+=("tests/fuzz/corpus/$t")
  extra=()
  [[ -f tests/fuzz/${t#fuzz_}.dict ]] && extra+=("-dict=tests/fuzz/${t#fuzz_}.dict")
  before=$(find "$out/crashes/$t" -type f | wc -l)
  log=$out/logs/$t.log
  rc=0
  # The harnesses write their scratch files under TMPDIR; keep them apart.
  scratch=$(mktemp -d)
  asan=$ASAN_OPTIONS
  [[ $slow_unwind == *" $t "* ]] && asan+=:fast_unwind_on_malloc=0
  ASAN_OPTIONS=$asan TMPDIR=$scratch "$out/tests/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb="$rss" \
    -malloc_limit_mb="$rss" -max_len="$max_len" -timeout=25 -print_final_stats=1 \
    -artifact_prefix="$root/$out/crashes/$t/" "${extra[@]}" "${dirs[@]}" >"$log" 2>&1 || rc=$?
  rm -rf "$scratch"
  after=$(find "$out/crashes/$t" -type f | wc -l)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  corpus=$(find "$out/corpus/$t" -type f | wc -l)
  if ((rc != 0 || after > before)); then
    failed=1
    what=$(grep -Eo 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): [a-z-]+( [a-z-]+)?|runtime error: .*' "$log" | head -1)
    result="FOUND (${what:-exit $rc}); see $log and $out/crashes/$t/"
  else
    result="nothing found"
  fi
  printf '%-20s %8s %8s %10s  %s\n' "$t" "${eps:-?}" "$corpus" "${cov:-?}" "$result"
done
exit "$failed"
