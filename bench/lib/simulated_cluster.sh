# Shared start-up for end-to-end benchmarks on simulated container instances:
# a real `berth server` (SQLite under a temp dir) and `berth agent --simulate`
# processes, all on 127.0.0.1. Source it, then call:
#   sim_init NAME              work dir /tmp/berth-NAME-XXXXXX, credentials, cleanup trap
#   sim_start_server [ARGS...] starts the server; sets SERVER_PID, ENDPOINT, RSS_BASELINE
#   sim_start_agents CLUSTER INSTANCES PROCS [ARGS...]
#                              starts the simulators and waits until registered; sets
#                              AGENT_PIDS and REG_SECONDS
# Expects BERTH (the binary). Signals only the processes it started.

sim_stop_pid() {  # SIGTERM, wait up to 60 s, then SIGKILL
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

sim_cleanup() {
  for pid in "${AGENT_PIDS[@]}"; do sim_stop_pid "$pid"; done
  [ -n "$SERVER_PID" ] && sim_stop_pid "$SERVER_PID"
  if [ "${KEEP:-0}" = 1 ]; then echo "$SIM_NAME: kept $WORK" >&2; else rm -rf "$WORK"; fi
}

sim_rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

sim_init() {
  SIM_NAME=$1
  [ -x "$BERTH" ] || { echo "$SIM_NAME: no berth binary at $BERTH (ninja -C build berth)" >&2; exit 1; }
  WORK="$(mktemp -d "/tmp/berth-$SIM_NAME-XXXXXX")"
  SERVER_PID=""
  AGENT_PIDS=()
  trap sim_cleanup EXIT
  export BERTH_ACCESS_KEY_ID=AKIDBERTHSIMBENCH000
  export BERTH_SECRET_ACCESS_KEY=berthSimBenchSecretKeyberthSimBench00000
  export AWS_REGION=us-east-1
}

sim_start_server() {
  mkdir -p "$WORK/server"
  "$BERTH" server --listen 127.0.0.1:0 --data-dir "$WORK/server" --log-level warn "$@" \
    >"$WORK/server.out" 2>"$WORK/server.err" &
  SERVER_PID=$!
  ENDPOINT=""
  for _ in $(seq 1 300); do
    ENDPOINT="$(grep -o 'listening on http://[0-9.:]*' "$WORK/server.out" 2>/dev/null | head -1 | sed 's/listening on //')" || true
    [ -n "$ENDPOINT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "$SIM_NAME: server exited:" >&2; cat "$WORK/server.err" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$ENDPOINT" ] || { echo "$SIM_NAME: server did not report its address" >&2; exit 1; }
  sleep 1
  RSS_BASELINE="$(sim_rss_kib "$SERVER_PID")"
}

sim_start_agents() {
  local cluster=$1 instances=$2 procs=$3
  shift 3
  local start n p
  start=$(date +%s.%N)
  for p in $(seq 0 $((procs - 1))); do
    n=$((instances / procs + (p < instances % procs ? 1 : 0)))
    mkdir -p "$WORK/agent-$p"
    "$BERTH" agent --server "$ENDPOINT" --cluster "$cluster" --data-dir "$WORK/agent-$p" --simulate "$n" \
      --log-level warn "$@" >"$WORK/agent-$p.out" 2>"$WORK/agent-$p.err" &
    AGENT_PIDS+=($!)
  done
  for p in $(seq 0 $((procs - 1))); do
    for _ in $(seq 1 6000); do  # up to 10 minutes to register
      grep -q simulating "$WORK/agent-$p.out" 2>/dev/null && break
      kill -0 "${AGENT_PIDS[$p]}" 2>/dev/null || { echo "$SIM_NAME: agent $p exited:" >&2; tail -20 "$WORK/agent-$p.err" >&2; exit 1; }
      sleep 0.1
    done
    grep -q simulating "$WORK/agent-$p.out" || { echo "$SIM_NAME: agent $p did not finish registering" >&2; exit 1; }
  done
  REG_SECONDS=$(echo "$(date +%s.%N) - $start" | bc)
}
