#!/usr/bin/env bash
# API and store benchmarks, bounded (about 2.5 minutes once built; < 4 minutes).
#   ./bench/run.sh            (or: make bench)
# Env: BUILD_DIR (default build), BENCH_SECONDS per API run (default 10),
#      BENCH_JOBS for the build (default 2), BENCH_OUT (also write the
#      markdown table to this file).
#
# Starts `berth server` on 127.0.0.1:0 with a fresh data dir and fixed bench
# credentials, drives it with bench/api_load (SigV4-signed JSON 1.1 requests
# over keep-alive connections), measures the in-process null server (the HTTP
# transport's ceiling), stops the server with SIGTERM, measures moto's server
# mode with the same client if moto is importable (a peer), then the store's
# durable-write ceilings (store_bench), and prints markdown tables. Traffic goes
# to 127.0.0.1 only; the only processes it signals are the servers it started.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD_DIR:-$ROOT/build}"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
SECS="${BENCH_SECONDS:-10}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -G Ninja -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD" -j "${BENCH_JOBS:-2}" --target berth api_load store_bench >/dev/null

# On the real disk (fsync cost is the point): not a tmpfs /tmp if there is one.
WORK="$(mktemp -d "${BERTH_BENCH_DIR:-$BUILD}/berth-bench-XXXXXX")"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_BEFORE="$(loadavg)"

export BERTH_ACCESS_KEY_ID=AKIDBERTHBENCH000000
export BERTH_SECRET_ACCESS_KEY=berthBenchSecretKeyberthBenchSecretKey00
mkdir -p "$WORK/data"
"$BUILD/berth" server --listen 127.0.0.1:0 --data-dir "$WORK/data" --log-level warn \
  >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!

ENDPOINT=""
for _ in $(seq 1 200); do
  ENDPOINT="$(grep -o 'listening on http://[0-9.:]*' "$WORK/server.out" 2>/dev/null | head -1 | sed 's/listening on //')" || true
  [ -n "$ENDPOINT" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "bench/run.sh: server exited:" >&2; cat "$WORK/server.err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$ENDPOINT" ] || { echo "bench/run.sh: server did not report its address" >&2; exit 1; }
echo "bench/run.sh: server at $ENDPOINT (pid $SERVER_PID), ${SECS}s per run, load average before: $LOAD_BEFORE" >&2

RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
run() {  # run LABEL api_load-args...
  echo "bench/run.sh: $*" >&2
  local out
  if ! out="$(timeout $((SECS + 30)) "$BUILD/bench/api_load" --seconds "$SECS" "$@")"; then
    echo "bench/run.sh: api_load $* failed: $out" >&2
  fi
  [ -n "$out" ] && echo "$out" >>"$RESULTS"
  echo "  $out" >&2
}
AUTH=(--endpoint "$ENDPOINT" --access-key "$BERTH_ACCESS_KEY_ID" --secret-key "$BERTH_SECRET_ACCESS_KEY" --region us-east-1)

run --null-server --connections 16
run "${AUTH[@]}" --op describe --connections 1
run "${AUTH[@]}" --op describe --connections 16
run "${AUTH[@]}" --op register --connections 1
run "${AUTH[@]}" --op register --connections 16
run "${AUTH[@]}" --op register --connections 64
LOAD_DURING="$(loadavg)"

kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || echo "bench/run.sh: server exited with $?" >&2
SERVER_PID=""

# Peer: moto's server mode (in-memory, no SigV4 verification), driven by the
# same client, when a python3 on PATH can import moto (BENCH_PEERS=0 skips it).
if [ "${BENCH_PEERS:-1}" != 0 ] && python3 -c 'import moto.server' 2>/dev/null; then
  MOTO_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  python3 -m moto.server -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$MOTO_PORT/" 2>/dev/null && break
    sleep 0.1
  done
  MOTO_AUTH=(--endpoint "http://127.0.0.1:$MOTO_PORT" --access-key AKIDMOTO --secret-key moto --region us-east-1)
  for spec in "describe 1" "describe 16" "register 1" "register 16"; do
    set -- $spec
    out="$(timeout $((SECS + 30)) "$BUILD/bench/api_load" --seconds "$SECS" "${MOTO_AUTH[@]}" --op "$1" --connections "$2")" || true
    echo "  moto: $out" >&2
    [ -n "$out" ] && echo "$out" | sed 's/"op":"\([a-z]*\)"/"op":"moto \1"/' >>"$RESULTS"
  done
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
fi

# Store ceilings: raw SQLite insert with one fsync per txn, and the store's txn()
# with group commit at 1 and 64 writers (bench/store_bench.cc).
echo "bench/run.sh: store_bench" >&2
BERTH_BENCH_DIR="$WORK" timeout 120 "$BUILD/bench/store_bench" \
  --benchmark_filter='BM_RawSqliteInsert/rowsPerTxn:1/|BM_StoreTxn/groupCommit:1/.*threads:(1|64)$' \
  --benchmark_format=json --benchmark_out="$WORK/store.json" --benchmark_out_format=json >/dev/null 2>"$WORK/store.err" ||
  { echo "bench/run.sh: store_bench failed:" >&2; cat "$WORK/store.err" >&2; }
LOAD_AFTER="$(loadavg)"

"$PY" - "$RESULTS" "$WORK/store.json" "$LOAD_BEFORE" "$LOAD_DURING" "$LOAD_AFTER" <<'EOF' | tee "${BENCH_OUT:-/dev/null}"
import json, os, sys
results_path, store_path, before, during, after = sys.argv[1:6]
rows = [json.loads(l) for l in open(results_path) if l.strip()]
ceiling = next((r["req_per_s"] for r in rows if r["op"] == "null-server"), None)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")
print(f"Machine: {os.cpu_count()} CPUs, {cpu}; load average before {before}, after the API runs {during}, at the end {after}\n")
print("| op | connections | req/s | p50 µs | p90 µs | p99 µs | max µs | errors | sign µs | vs null server |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    lat = r["latency_us"]
    ratio = f'{r["req_per_s"] / ceiling:.3f}' if ceiling else "-"
    sign = f'{r["sign_us_mean"]:.1f}' if r["sign_us_mean"] else "-"
    print(f'| {r["op"]} | {r["connections"]} | {r["req_per_s"]:.0f} | {lat["p50"]} | {lat["p90"]} | {lat["p99"]} '
          f'| {lat["max"]} | {r["errors"]} | {sign} | {ratio} |')
try:
    store = json.load(open(store_path))["benchmarks"]
except Exception as e:
    print(f"\n(store_bench results unavailable: {e})")
    sys.exit(0)
print("\n| store benchmark | items/s | µs per iteration (wall) | txns per commit |")
print("|---|---:|---:|---:|")
for b in store:
    if b.get("run_type") == "aggregate":
        continue
    tpc = b.get("txnsPerCommit")
    us = b["real_time"] * {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}.get(b.get("time_unit", "ns"), 1e-3)
    print(f'| {b["name"]} | {b.get("items_per_second", 0):.0f} | {us:.1f} | {f"{tpc:.1f}" if tpc else "-"} |')
EOF
[ "${BENCH_NODE:-1}" = 0 ] || "$ROOT/bench/run_node.sh" || echo "bench/run.sh: node benchmarks skipped or failed (bench/run_node.sh, exit $?)" >&2
