#!/usr/bin/env bash
# CloudWatch Logs ingestion benchmark (issue #5): full PutLogEvents batches of
# ~100-byte lines through the real HTTP API of a fresh `berth server`
# (SigV4-signed, keep-alive; N client processes, one log stream each), then
# GetLogEvents paging until every line is visible; side by side with the
# physical limit measured in the same run: the same request bytes appended to a
# plain file with one fsync per batch (what an acknowledged, durable batch
# costs at the very least).
#
#   bench/logs/run.sh [--lines N] [--clients N] [--berth BIN] [--line-bytes N]
#
# Defaults: 500,000 lines, 2 clients, BIN = build/berth, 100-byte lines. A batch
# holds as many lines as PutLogEvents allows: 10,000 events and 1,048,576 bytes
# counting 26 bytes per event, so 8,322 lines of 100 bytes (10,000 of <= 78). Work
# dir under BENCH_TMPDIR (default /var/tmp; must be on the real disk). Traffic
# goes to 127.0.0.1 only; the server this run starts is stopped by PID and the
# work dir removed on exit. Prints a markdown table on stdout.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BASE="${BENCH_TMPDIR:-/var/tmp}"
WORK="$(mktemp -d "$BASE/berth-logsbench-XXXXXX")"
BENCH_PID=""
cleanup() {
  if [ -n "$BENCH_PID" ] && kill -0 "$BENCH_PID" 2>/dev/null; then
    kill -TERM "$BENCH_PID" 2>/dev/null || true
    wait "$BENCH_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
timeout --signal=TERM --kill-after=30 900 /usr/bin/python3 "$ROOT/bench/logs/logs_bench.py" --work "$WORK" "$@" &
BENCH_PID=$!
rc=0
wait "$BENCH_PID" || rc=$?
BENCH_PID=""
exit "$rc"
