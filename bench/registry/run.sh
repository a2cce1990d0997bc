#!/usr/bin/env bash
# Registry push/pull benchmark (issue #4): skopeo pushes and pulls a multi-layer
# image of incompressible data to and from Berth and Debian's docker-registry,
# side by side in one run, with the disk's own sequential rates as the limit.
#
#   bench/registry/run.sh [--size-mib N] [--reps N] [--layers N] [--berth BIN]
#                         [--targets docker-registry,berth] [--json FILE]
#                         [--profile DIR]
#
# Defaults: 1024 MiB in 6 layers, 3 repetitions, BIN = build/berth. A quick
# check: --size-mib 64 --reps 1 (about 15 s). The 1 GiB run takes 3-6 minutes
# and needs ~4 GiB free in the work dir (BENCH_TMPDIR, default /var/tmp: it must
# be on the real disk, not a tmpfs, since the disk is the limit being measured).
# Needs no root; needs skopeo, docker-registry, /usr/bin/aws, python3.
#
# What it does (bench/registry/registry_bench.py):
# 1. make_image.py writes the OCI layout: each layer a tar of one file of seeded
#    random bytes in gzip stored blocks (incompressible, so no compressor would
#    shrink it; skopeo would gzip plain-tar layers on push, so they are gzip).
# 2. Disk limits, once per repetition, on the work dir's filesystem: write N MiB
#    sequentially + fsync; read it back with O_DIRECT (cold: from the device,
#    without dropping or disturbing anyone's page cache); read it buffered (warm:
#    the pages the write left cached). The median of each is the limit.
# 3. Per repetition and per target (the order alternates between repetitions):
#    start a fresh server with its own storage in the work dir (docker-registry
#    via tests/images/start_registry.sh; `berth server` with bench credentials,
#    then `aws ecr get-login-password` and `aws ecr create-repository`), then
#      push: skopeo copy oci:IMAGE:big docker://127.0.0.1:PORT/bench/big-rN:big
#      pull: skopeo copy docker://…/bench/big-rN:big oci:OUT:big
#    timing each skopeo process's wall time, and stop the server and delete its
#    storage. A fresh server per repetition matters: skopeo remembers where it
#    has seen each blob (its blob info cache) and mounts it from another
#    repository of the same registry instead of uploading it. The script checks
#    the server really wrote all blob bytes on push (/proc/PID/io wchar) and
#    that the pulled manifest digest is the pushed one; a row that fails either
#    check is marked "(!)".
# 4. Prints a markdown table: median/min/max seconds, MB/s (10^6 bytes of blobs
#    per second), server and skopeo CPU seconds, Berth / docker-registry and
#    target / disk write+fsync ratios. Both push (server writes and fsyncs) and
#    pull (skopeo's oci: destination fsyncs every blob; the server reads from the
#    page cache) end in a durable sequential write on the same disk, hence the
#    write+fsync rate as the limit of both.
#
# --profile DIR: after the timed runs, per target one more push + pull with
# `perf record -g` attached to the server and one with `strace -f -c` attached
# (not in the table; their wall times are printed on stderr); leaves
# DIR/<target>-<push|pull>.perf.txt (perf report by symbol) and .strace
# (syscall counts and times).
#
# If the Berth build does not serve /v2/ yet, its rows say so and the rest runs.
# Traffic goes to 127.0.0.1 only. Processes stopped: only the servers this run
# started, by PID. The work dir is removed on exit, failure or signal.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SIZE=1024
REPS=3
PROFILE=0
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --size-mib) SIZE="$2"; shift 2 ;;
    --reps) REPS="$2"; shift 2 ;;
    --profile) PROFILE=1; ARGS+=("$1" "$2"); shift 2 ;;
    --layers|--berth|--targets|--json) ARGS+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,/^# Needs/p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$SIZE$REPS" in *[!0-9]*) echo "run.sh: --size-mib and --reps take integers" >&2; exit 2 ;; esac

for tool in /usr/bin/skopeo /usr/bin/docker-registry /usr/bin/aws /usr/bin/python3; do
  [ -x "$tool" ] || { echo "run.sh: $tool missing (apt-get install skopeo docker-registry awscli python3)" >&2; exit 2; }
done

BASE="${BENCH_TMPDIR:-/var/tmp}"
if [ "$(stat -f -c %T "$BASE")" = tmpfs ]; then
  echo "run.sh: $BASE is a tmpfs; set BENCH_TMPDIR to a directory on the disk" >&2
  exit 2
fi
need_kib=$(( (SIZE * 4 + 512) * 1024 ))
free_kib=$(df --output=avail -k "$BASE" | tail -1)
if [ "$free_kib" -lt "$need_kib" ]; then
  echo "run.sh: need $((need_kib / 1024)) MiB free in $BASE, have $((free_kib / 1024))" >&2
  exit 2
fi

WORK="$(mktemp -d "$BASE/berth-regbench-XXXXXX")"
BENCH_PID=""
cleanup() {
  if [ -n "$BENCH_PID" ] && kill -0 "$BENCH_PID" 2>/dev/null; then
    kill -TERM "$BENCH_PID" 2>/dev/null || true  # it stops its own servers
    wait "$BENCH_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Whole-run budget: 2 minutes of fixed costs plus 4 minutes per GiB per repetition.
# --profile adds two push + pull rounds per target, one under strace, which
# slows a server doing millions of small syscalls by 20x or more: 15 min per GiB.
BUDGET=$(( 120 + 60 * SIZE / 1024 + 240 * REPS * SIZE / 1024 + PROFILE * 900 * SIZE / 1024 ))
timeout --signal=TERM --kill-after=30 "$BUDGET" \
  /usr/bin/python3 "$ROOT/bench/registry/registry_bench.py" --work "$WORK" \
  --size-mib "$SIZE" --reps "$REPS" ${ARGS[@]+"${ARGS[@]}"} &
BENCH_PID=$!
rc=0
wait "$BENCH_PID" || rc=$?
BENCH_PID=""
[ "$rc" -eq 124 ] && echo "run.sh: over the ${BUDGET}s budget; stopped" >&2
exit "$rc"
