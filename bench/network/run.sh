#!/usr/bin/env bash
# Task start latency per network mode (none, host, bridge, awsvpc), Berth side
# by side with `podman run -d`, in one run. Bounded: about 5 minutes.
#   ./bench/network/run.sh
# Env: BUILD_DIR (default build), BERTH_BIN (use this binary), NETBENCH_COUNT
# (runs per mode, default 30), NETBENCH_SKIP_PODMAN=1, BENCH_OUT (also write
# the markdown table to this file).
# Needs root, runc, conmon, skopeo, umoci, docker-registry, busybox-static,
# CNI plugins and python3-boto3. Everything runs on 127.0.0.1 and on bridges
# and subnets of its own; what it starts is stopped by PID and its temp dir,
# mounts, bridges and cgroups are removed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${BUILD_DIR:-$ROOT/build}"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
PY=/usr/bin/python3
[ "$(id -u)" = 0 ] || { echo "bench/network/run.sh: needs root" >&2; exit 2; }
BERTH="${BERTH_BIN:-}"
if [ -z "$BERTH" ]; then
  [ -f "$BUILD/build.ninja" ] || cmake -G Ninja -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" -j "${BENCH_JOBS:-2}" --target berth >/dev/null
  BERTH="$BUILD/berth"
fi
BERTH="$(realpath "$BERTH")"
WORK="$(mktemp -d /tmp/berth-netbench-XXXXXX)"
REGISTRY_PID=""
cleanup() {
  if [ -n "$REGISTRY_PID" ] && kill -0 "$REGISTRY_PID" 2>/dev/null; then kill -TERM "$REGISTRY_PID" || true; fi
  { grep -o " $WORK/[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r mp; do umount -l "$mp" 2>/dev/null || true; done
  for br in bnetbench0 bnetbench1 cni-podman0; do
    # cni-podman0 only if this run's podman network made it (10.233.0.0/24).
    if [ "$br" = cni-podman0 ] && ! ip -4 addr show dev "$br" 2>/dev/null | grep -q 10.233.0.; then continue; fi
    ip link del "$br" 2>/dev/null || true
  done
  for table in nat filter; do
    { iptables -t "$table" -S 2>/dev/null | grep -E '^-A .*(10\.23[123]\.0\.)' || true; } | cut -d' ' -f2- |
      while read -r rule; do eval iptables -t "$table" -D $rule 2>/dev/null || true; done
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT="$("$ROOT/tests/images/start_registry.sh" "$WORK/registry")"
REGISTRY_PID="$(cat "$WORK/registry/registry.pid")"
"$ROOT/tests/images/build_busybox_image.sh" "$WORK/busybox-layout" busybox >/dev/null
timeout 120 skopeo copy --quiet --dest-tls-verify=false "oci:$WORK/busybox-layout:busybox" \
  "docker://127.0.0.1:$PORT/netbench/busybox:latest"
ARGS=()
[ "${NETBENCH_SKIP_PODMAN:-0}" = 1 ] && ARGS+=(--skip-podman)
timeout 600 "$PY" "$ROOT/bench/network/netmode_bench.py" --berth "$BERTH" \
  --image "127.0.0.1:$PORT/netbench/busybox:latest" --work "$WORK" --count "${NETBENCH_COUNT:-30}" "${ARGS[@]}" \
  | tee "${BENCH_OUT:-/dev/null}"
