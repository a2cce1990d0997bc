#!/usr/bin/env bash
# Bounded libFuzzer runs, one after the other, SECONDS each:
#   request_fuzzer   the AWS request path (fuzz/request_fuzzer.cc, corpus/request)
#   registry_fuzzer  the OCI /v2/ endpoints (fuzz/registry_fuzzer.cc, corpus/registry)
#   ./fuzz/run.sh [SECONDS] [FUZZER...]   default 60, both fuzzers
# Builds build-fuzz/ with clang and ASan+UBSan+libFuzzer instrumentation,
# fuzzes a scratch copy of each corpus (the repo corpus is never written), and
# exits non-zero if a fuzzer found a crash, leak, timeout or broken invariant;
# reproducers are left in build-fuzz/artifacts/.
# Env: BUILD_FUZZ_DIR (default build-fuzz), FUZZ_JOBS (ninja -j, default 2),
#      FUZZ_EXTRA_ARGS (more libFuzzer flags).
set -euo pipefail

SECONDS_TO_RUN="${1:-60}"
shift || true
FUZZERS=("$@")
[ ${#FUZZERS[@]} -eq 0 ] && FUZZERS=(request_fuzzer registry_fuzzer)
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD_FUZZ_DIR:-$ROOT/build-fuzz}"
JOBS="${FUZZ_JOBS:-2}"
SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz/run.sh: clang++ not found (run scripts/install-deps.sh)" >&2
  exit 2
fi

if [ ! -f "$BUILD/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -G Ninja -S "$ROOT" -B "$BUILD" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBERTH_FUZZ=ON \
    -DCMAKE_CXX_FLAGS="$SAN" >/dev/null
fi
ninja -C "$BUILD" -j "$JOBS" "${FUZZERS[@]}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/berth-fuzz-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
ARTIFACTS="$BUILD/artifacts"
mkdir -p "$ARTIFACTS"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0
for fuzzer in "${FUZZERS[@]}"; do
  corpus="${fuzzer%_fuzzer}"
  mkdir -p "$WORK/$fuzzer"
  cp -r "$ROOT/fuzz/corpus/$corpus" "$WORK/$fuzzer/corpus"
  echo "fuzz/run.sh: $fuzzer for ${SECONDS_TO_RUN}s over a copy of fuzz/corpus/$corpus ($(ls "$ROOT/fuzz/corpus/$corpus" | wc -l) seeds)"
  set +e
  # -print_final_stats prints libFuzzer's totals; NEW/REDUCE/pulse lines are filtered out.
  "$BUILD/fuzz/$fuzzer" "$WORK/$fuzzer/corpus" \
    -max_total_time="$SECONDS_TO_RUN" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -dict="$ROOT/fuzz/$corpus.dict" -artifact_prefix="$ARTIFACTS/" -print_final_stats=1 \
    ${FUZZ_EXTRA_ARGS:-} 2>&1 | tee "$WORK/$fuzzer/log" | grep -v -E '^#[0-9]+\s+(NEW|REDUCE|pulse)'
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" -ne 0 ]; then
    echo "fuzz/run.sh: $fuzzer FAILED (libFuzzer exit $rc); reproducer(s):" >&2
    ls -t "$ARTIFACTS" | head -5 | sed "s|^|  $ARTIFACTS/|" >&2
    echo "  replay: $BUILD/fuzz/$fuzzer <file>" >&2
    failed=1
  fi
done
if [ "$failed" -ne 0 ]; then
  exit 1
fi
echo "fuzz/run.sh: OK, no crash in ${SECONDS_TO_RUN}s per fuzzer (${FUZZERS[*]})"
