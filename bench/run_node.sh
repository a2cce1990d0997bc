#!/usr/bin/env bash
# Node benchmarks, bounded (about 5-6 minutes; every phase has a time budget).
#   ./bench/run_node.sh                 print the markdown tables
#   ./bench/run_node.sh --write-docs    also replace the generated blocks in docs/benchmarks.md
# Env: BUILD_DIR (default build), BERTH_BIN (use this binary, build nothing), NODEBENCH_COUNT (RunTask/runc/podman runs, default 100),
#      NODEBENCH_PULL_RUNS (default 3), NODEBENCH_PULL_BEHAVIORS (agent --pull-behavior
#      values for the RunTask runs, default "default,prefer-cached"), NODEBENCH_SKIP_PODMAN=1,
#      NODEBENCH_CACHE (where the generated ~150 MB test image is kept, default $BUILD/nodebench-cache),
#      BENCH_OUT (also write the markdown to this file).
#
# Needs root, runc, conmon, skopeo, umoci, docker-registry, busybox-static and
# Debian's python3-boto3; podman is optional (skipped with a note if absent).
# Starts on 127.0.0.1 only: a docker-registry, `berth server`s and `berth agent`s
# in a temp dir; measures (1) RunTask -> RUNNING for sequential busybox tasks
# against `runc run -d` of the agent's own bundle and `podman run -d`, and
# (2) pull + unpack of a ~200 MB 7-layer image against skopeo copy + umoci
# unpack. Stops only the processes it started (by PID), unmounts and removes
# its temp dir. See bench/node/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD_DIR:-$ROOT/build}"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
PY=/usr/bin/python3
NODE="$ROOT/bench/node"
WRITE_DOCS=0
[ "${1:-}" = "--write-docs" ] && WRITE_DOCS=1

missing=()
[ "$(id -u)" = 0 ] || missing+=("root")
for tool in runc conmon skopeo umoci docker-registry curl; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
[ -x /bin/busybox ] || missing+=("busybox-static")
"$PY" -c 'import boto3' 2>/dev/null || missing+=("python3-boto3")
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench/run_node.sh: skipped, missing: ${missing[*]} (scripts/install-deps.sh installs them)" >&2
  exit 2
fi

BERTH="${BERTH_BIN:-}"
if [ -z "$BERTH" ]; then
  if [ ! -f "$BUILD/build.ninja" ]; then
    cmake -G Ninja -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "$BUILD" -j "${BENCH_JOBS:-2}" --target berth >/dev/null
  BERTH="$BUILD/berth"
fi
BERTH="$(realpath "$BERTH")"

WORK="$(mktemp -d "${BERTH_BENCH_DIR:-/tmp}/berth-nodebench-XXXXXX")"
REGISTRY_PID=""
cleanup() {
  if [ -n "$REGISTRY_PID" ] && kill -0 "$REGISTRY_PID" 2>/dev/null; then
    kill -TERM "$REGISTRY_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$REGISTRY_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  # Whatever is still mounted below WORK (an interrupted run), deepest first.
  { grep -o " $WORK/[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r mp; do umount -l "$mp" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_BEFORE="$(loadavg)"
START=$(date +%s)
echo "bench/run_node.sh: work dir $WORK, load average before: $LOAD_BEFORE" >&2

PORT="$("$ROOT/tests/images/start_registry.sh" "$WORK/registry")"
REGISTRY_PID="$(cat "$WORK/registry/registry.pid")"
REG="127.0.0.1:$PORT"

"$ROOT/tests/images/build_busybox_image.sh" "$WORK/busybox-layout" busybox >/dev/null
timeout 120 skopeo copy --quiet --dest-tls-verify=false "oci:$WORK/busybox-layout:busybox" "docker://$REG/nodebench/busybox:latest"

# The big image is deterministic: build it once per version of its generator
# and keep it under the build dir (about 150 MB), then push it to this run's registry.
GEN_SUM="$(sha256sum "$NODE/make_big_image.py" | cut -c1-12)"
CACHE="${NODEBENCH_CACHE:-$BUILD/nodebench-cache}"
BIG="$CACHE/big-$GEN_SUM"
if [ ! -f "$BIG/info.json" ]; then
  rm -rf "$CACHE" && mkdir -p "$CACHE"
  echo "bench/run_node.sh: generating the ~200 MB test image (once) in $BIG" >&2
  timeout 300 "$PY" "$NODE/make_big_image.py" "$BIG.tmp" big >"$CACHE/info.json.tmp"
  mv "$BIG.tmp" "$BIG" && mv "$CACHE/info.json.tmp" "$BIG/info.json"
fi
timeout 180 skopeo copy --quiet --dest-tls-verify=false "oci:$BIG:big" "docker://$REG/nodebench/big:v1"

COUNT="${NODEBENCH_COUNT:-100}"
PODMAN_ARGS=()
if [ "${NODEBENCH_SKIP_PODMAN:-0}" = 1 ]; then PODMAN_ARGS=(--skip-podman); fi
timeout 480 "$PY" "$NODE/run_task_bench.py" --berth "$BERTH" --image "$REG/nodebench/busybox:latest" \
  --layout "$WORK/busybox-layout" --work "$WORK" --out "$WORK/run_task.json" --count "$COUNT" \
  --pull-behaviors "${NODEBENCH_PULL_BEHAVIORS:-default,prefer-cached}" "${PODMAN_ARGS[@]}"

timeout 300 "$PY" "$NODE/pull_bench.py" --berth "$BERTH" --ref "$REG/nodebench/big:v1" --work "$WORK" \
  --out "$WORK/pull.json" --runs "${NODEBENCH_PULL_RUNS:-3}" --image-info "$(cat "$BIG/info.json")"

LOAD_AFTER="$(loadavg)"
REPORT_ARGS=(--run-task "$WORK/run_task.json" --pull "$WORK/pull.json" --load-before "$LOAD_BEFORE"
             --load-after "$LOAD_AFTER" --seconds "$(( $(date +%s) - START ))")
[ "$WRITE_DOCS" = 1 ] && REPORT_ARGS+=(--write-docs "$ROOT/docs/benchmarks.md")
"$PY" "$NODE/report.py" "${REPORT_ARGS[@]}" | tee "${BENCH_OUT:-/dev/null}"
