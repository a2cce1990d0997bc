#!/usr/bin/env bash
# Log ingestion from one real container (awslogs driver) to GetLogEvents
# visibility, beside the rate the container itself produced the lines.
#   ./bench/logs/run_container.sh        (env: BERTH_BIN, LOGBENCH_LINES=200000, LOGBENCH_RUNS=3)
# Needs root and the same tools as the node benchmarks; runs on 127.0.0.1 and
# bridges of its own, stops what it started by PID, removes its temp dir.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${BUILD_DIR:-$ROOT/build}"
[ "$(id -u)" = 0 ] || { echo "bench/logs/run_container.sh: needs root" >&2; exit 2; }
BERTH="${BERTH_BIN:-}"
if [ -z "$BERTH" ]; then
  [ -f "$BUILD/build.ninja" ] || cmake -G Ninja -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" -j "${BENCH_JOBS:-2}" --target berth >/dev/null
  BERTH="$BUILD/berth"
fi
BERTH="$(realpath "$BERTH")"
WORK="$(mktemp -d /tmp/berth-logbench-XXXXXX)"
REGISTRY_PID=""
cleanup() {
  if [ -n "$REGISTRY_PID" ] && kill -0 "$REGISTRY_PID" 2>/dev/null; then kill -TERM "$REGISTRY_PID" || true; fi
  { grep -o " $WORK/[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r mp; do umount -l "$mp" 2>/dev/null || true; done
  for br in blogbench0 blogbench1; do ip link del "$br" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
PORT="$("$ROOT/tests/images/start_registry.sh" "$WORK/registry")"
REGISTRY_PID="$(cat "$WORK/registry/registry.pid")"
"$ROOT/tests/images/build_busybox_image.sh" "$WORK/busybox-layout" busybox >/dev/null
timeout 120 skopeo copy --quiet --dest-tls-verify=false "oci:$WORK/busybox-layout:busybox" \
  "docker://127.0.0.1:$PORT/logbench/busybox:latest"
timeout 600 /usr/bin/python3 "$ROOT/bench/logs/container_ingest.py" --berth "$BERTH" \
  --image "127.0.0.1:$PORT/logbench/busybox:latest" --work "$WORK" \
  --lines "${LOGBENCH_LINES:-200000}" --runs "${LOGBENCH_RUNS:-3}"
