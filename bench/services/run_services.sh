#!/usr/bin/env bash
# Service scheduler benchmark (issue #7): a real `berth server`, simulated
# container instances (`berth agent --simulate`) and boto3 driving one REPLICA
# service: scale 0 -> TASKS, a rolling deployment of TASKS tasks (100/200),
# scale TASKS -> 0. Reported next to the ECS anchors (docs/benchmarks.md).
#   ./bench/services/run_services.sh                         # 1,000 tasks on 200 instances
#   TASKS=100 INSTANCES=20 ./bench/services/run_services.sh  # quick
# Env: INSTANCES (200), TASKS (1000), START_DELAY_MS (0: simulated PENDING -> RUNNING),
#      STOP_DELAY_MS (0), TIME_LIMIT (900 s), BUILD_DIR (build), KEEP=1 keeps the work dir.
# Traffic stays on 127.0.0.1; it signals only the processes it started.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${BUILD_DIR:-$ROOT/build}"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
BERTH="$BUILD/berth"
INSTANCES="${INSTANCES:-200}"
TASKS="${TASKS:-1000}"
START_DELAY_MS="${START_DELAY_MS:-0}"
STOP_DELAY_MS="${STOP_DELAY_MS:-0}"
TIME_LIMIT="${TIME_LIMIT:-900}"
CLUSTER=bench-services
PY=/usr/bin/python3

# shellcheck source=../lib/simulated_cluster.sh
. "$ROOT/bench/lib/simulated_cluster.sh"
sim_init services
sim_start_server
sim_start_agents "$CLUSTER" "$INSTANCES" 1 --availability-zone bench-a,bench-b,bench-c --cpu 4096 --memory 16384 \
  --simulate-start-delay "$START_DELAY_MS" --simulate-stop-delay "$STOP_DELAY_MS"
echo "run_services.sh: server $ENDPOINT; $INSTANCES instances registered in ${REG_SECONDS}s; $TASKS tasks" >&2

"$PY" "$ROOT/bench/services/service_load.py" --endpoint "$ENDPOINT" --region "$AWS_REGION" \
  --access-key "$BERTH_ACCESS_KEY_ID" --secret-key "$BERTH_SECRET_ACCESS_KEY" --cluster "$CLUSTER" \
  --instances "$INSTANCES" --tasks "$TASKS" --time-limit "$TIME_LIMIT" >"$WORK/result.json"
cat "$WORK/result.json"
"$PY" - "$WORK/result.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
n = r["tasks"]
ecs_minutes = n / 500.0            # ECS: 500 tasks per minute per service
fargate_minutes = n * 4.5 / 3500   # Fargate, 2022: 0 -> 3,500 containers in about 4.5 minutes
print("| phase (%d tasks) | Berth (s) | tasks/min | ECS anchor 500/min (s) | Fargate 2022 (s) | Berth vs ECS |" % n)
print("| --- | --- | --- | --- | --- | --- |")
for key, label in (("scaleOut", "scale 0 -> %d" % n), ("rollingDeploy", "rolling deployment"),
                   ("scaleIn", "scale %d -> 0" % n)):
    s = r[key + "Seconds"]
    print("| %s | %.2f | %s | %.0f | %.0f | %.0fx faster |" % (
        label, s, r[key + "TasksPerMinute"], ecs_minutes * 60, fargate_minutes * 60, ecs_minutes * 60 / s if s else 0))
print("| scale %d -> 0, until every task is STOPPED | %.2f | | | | |" % (n, r["scaleInAllStoppedSeconds"]))
PYEOF
