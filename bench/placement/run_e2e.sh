#!/usr/bin/env bash
# End-to-end placement benchmark (issue #6): a real `berth server` (SQLite
# under /tmp), simulated container instances (`berth agent --simulate`), and
# boto3 clients calling RunTask until TASKS tasks are placed.
#   ./bench/placement/run_e2e.sh                       # full: 10,000 instances, 100,000 tasks
#   INSTANCES=1000 TASKS=10000 ./bench/placement/run_e2e.sh   # quick
# Env:
#   INSTANCES (10000)   simulated instances in total, over AZS round-robin
#   AGENT_PROCS (1)     `berth agent --simulate` processes sharing them
#   TASKS (100000)      tasks to place;  COUNT (10) per RunTask;  CLIENTS (4) client processes
#   AZS (bench-a,bench-b,bench-c)   INSTANCE_CPU (4096)  INSTANCE_MEMORY (16384)
#   START_DELAY_MS (0)  simulated PENDING -> RUNNING time
#   TIME_LIMIT (1800)   seconds for the load and the wait for RUNNING
#   BUILD_DIR (build)   where the berth binary is (build it first: ninja -C build berth)
#   KEEP=1              keep the work dir (logs, data) instead of removing it
# Reports (JSON, then a table): RunTask tasks/s, time until all RUNNING,
# server RSS (VmRSS) per instance after registration and per task after the
# load. Traffic stays on 127.0.0.1; it signals only the processes it started.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${BUILD_DIR:-$ROOT/build}"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
BERTH="$BUILD/berth"
INSTANCES="${INSTANCES:-10000}"
AGENT_PROCS="${AGENT_PROCS:-1}"
TASKS="${TASKS:-100000}"
COUNT="${COUNT:-10}"
CLIENTS="${CLIENTS:-4}"
AZS="${AZS:-bench-a,bench-b,bench-c}"
INSTANCE_CPU="${INSTANCE_CPU:-4096}"
INSTANCE_MEMORY="${INSTANCE_MEMORY:-16384}"
START_DELAY_MS="${START_DELAY_MS:-0}"
TIME_LIMIT="${TIME_LIMIT:-1800}"
CLUSTER=bench-e2e
PY=/usr/bin/python3

# shellcheck source=../lib/simulated_cluster.sh
. "$ROOT/bench/lib/simulated_cluster.sh"
sim_init e2e-simulate
sim_start_server
echo "run_e2e.sh: server $ENDPOINT (pid $SERVER_PID, ${RSS_BASELINE} KiB); $INSTANCES instances in $AGENT_PROCS process(es), $TASKS tasks, $CLIENTS clients" >&2
sim_start_agents "$CLUSTER" "$INSTANCES" "$AGENT_PROCS" --availability-zone "$AZS" --instance-type bench.xlarge \
  --attribute tier=bench --cpu "$INSTANCE_CPU" --memory "$INSTANCE_MEMORY" --simulate-start-delay "$START_DELAY_MS"
echo "run_e2e.sh: $INSTANCES instances registered in ${REG_SECONDS}s" >&2

set +e
"$PY" "$ROOT/bench/placement/runtask_load.py" --endpoint "$ENDPOINT" --region "$AWS_REGION" \
  --access-key "$BERTH_ACCESS_KEY_ID" --secret-key "$BERTH_SECRET_ACCESS_KEY" --cluster "$CLUSTER" \
  --instances "$INSTANCES" --tasks "$TASKS" --clients "$CLIENTS" --count "$COUNT" \
  --server-pid "$SERVER_PID" --rss-baseline-kib "$RSS_BASELINE" --registration-seconds "$REG_SECONDS" \
  --time-limit "$TIME_LIMIT" >"$WORK/result.json"
RC=$?
set -e
AGENT_RSS=0
for pid in "${AGENT_PIDS[@]}"; do AGENT_RSS=$((AGENT_RSS + $(sim_rss_kib "$pid"))); done
cat "$WORK/result.json"
"$PY" - "$WORK/result.json" "$AGENT_RSS" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
rows = [("instances registered (s)", r.get("registrationSeconds")),
        ("instances connected", "%s / %s" % (r.get("instancesConnected"), r.get("instances"))),
        ("server KiB per instance (after registration)", r.get("serverKiBPerInstance")),
        ("tasks placed", "%s / %s" % (r.get("tasksPlaced"), r.get("tasksWanted"))),
        ("RunTask tasks/s", r.get("tasksPerSecond")),
        ("RunTask p50 / p99 (s)", "%s / %s" % (r.get("runTaskP50Seconds"), r.get("runTaskP99Seconds"))),
        ("placement failures / errors", "%s / %s %s" % (r.get("placementFailures"), r.get("runTaskErrors"), r.get("failureReasons") or "")),
        ("seconds until all RUNNING (from load start)", r.get("secondsUntilAllRunning")),
        ("server KiB per task", r.get("serverKiBPerTask")),
        ("server RSS after tasks (MiB)", round(r.get("serverRssAfterTasksKiB", 0) / 1024, 1)),
        ("simulator RSS (MiB)", round(int(sys.argv[2]) / 1024, 1))]
print("| measure | value |\n| --- | --- |")
for k, v in rows:
    print("| %s | %s |" % (k, v))
EOF
exit $RC
