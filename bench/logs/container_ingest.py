#!/usr/bin/python3
"""Log ingestion from one real container to GetLogEvents visibility.

One server + one agent (real runtime). A task whose container writes N lines
of ~100 bytes to stdout as fast as busybox can (awslogs driver, its own
group). Measured: the container's own run time (startedAt -> its exit, as
the agent saw it: the rate the container produced lines, i.e. what conmon
wrote to the log file), and the time until GetLogEvents (paged from the head)
returns all N lines. lines/s = N / (visible - startedAt). The ratio shows how
far shipping lags the producer. Called by bench/logs/run_container.sh.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "node"))
import nodebench_lib as nb  # noqa: E402

CLUSTER = "logbench"
NET_ARGS = ["--bridge-name", "blogbench0", "--bridge-subnet", "10.234.0.0/24",
            "--awsvpc-bridge-name", "blogbench1", "--awsvpc-subnet", "10.235.0.0/24", "--metadata-port", "51698"]


def count_visible(logs, group, stream, want, deadline):
    """Pages GetLogEvents from the head until `want` events were seen; returns the count."""
    seen, token = 0, None
    while time.monotonic() < deadline:
        kw = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if token:
            kw["nextToken"] = token
        try:
            r = logs.get_log_events(**kw)
        except logs.exceptions.ResourceNotFoundException:
            time.sleep(0.05)
            continue
        seen += len(r["events"])
        if seen >= want:
            return seen
        if r["nextForwardToken"] == token:
            time.sleep(0.05)  # at the end for now: wait for more, same token
        token = r["nextForwardToken"]
    return seen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--berth", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--lines", type=int, default=200000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    import boto3
    server = agent = None
    rows = []
    try:
        server, endpoint = nb.start_server(args.berth, os.path.join(args.work, "server"))
        agent = nb.start_agent(args.berth, endpoint, CLUSTER, os.path.join(args.work, "agent"),
                               "prefer-cached", NET_ARGS)
        ecs = nb.ecs_client(endpoint)
        logs = boto3.client("logs", endpoint_url=endpoint, region_name=nb.REGION, aws_access_key_id=nb.ACCESS_KEY,
                            aws_secret_access_key=nb.SECRET_KEY)
        nb.wait_for_instance(ecs, CLUSTER, agent)
        line = "x" * 99
        script = "yes %s | head -n %d" % (line, args.lines)
        for run in range(args.runs):
            group = "/logbench/run-%d-%d" % (run, int(time.time()))
            td = ecs.register_task_definition(family="logbench", containerDefinitions=[{
                "name": "app", "image": args.image, "essential": True, "memory": 64,
                "entryPoint": ["sh", "-c"], "command": [script],
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": group, "awslogs-region": nb.REGION, "awslogs-stream-prefix": "b",
                    "awslogs-create-group": "true"}}}])["taskDefinition"]["taskDefinitionArn"]
            r = ecs.run_task(cluster=CLUSTER, taskDefinition=td)
            arn = r["tasks"][0]["taskArn"]
            task, _ = nb.wait_status(ecs, CLUSTER, arn, ("RUNNING",), timeout=60, interval=0.005)
            t_running = time.monotonic()
            stream = "b/app/" + arn.rsplit("/", 1)[1]
            seen = count_visible(logs, group, stream, args.lines, time.monotonic() + 120)
            t_visible = time.monotonic()
            stopped, _ = nb.wait_status(ecs, CLUSTER, arn, ("STOPPED",), timeout=60)
            started = nb.ts(stopped, "startedAt")
            exited = nb.ts(stopped, "executionStoppedAt") or nb.ts(stopped, "stoppingAt")
            # Wall-clock offsets: align the monotonic observation to epoch via now.
            visible_epoch = time.time() - (time.monotonic() - t_visible)
            produce = max(exited - started, 1e-3) if exited else None
            ship = visible_epoch - started
            rows.append({"lines": args.lines, "seen": seen, "produce_s": produce, "visible_s": ship,
                         "running_seen_at": t_running})
            nb.log("run %d: %d/%d lines visible after %.2fs (container ran %.2fs)" %
                   (run, seen, args.lines, ship, produce or -1))
    finally:
        if agent:
            agent.stop()
        if server:
            server.stop()
    print("| run | lines | container produced (lines/s, startedAt → exit) | visible in GetLogEvents (lines/s, startedAt → all visible) | shipping ÷ producing |")
    print("|---|---|---|---|---|")
    for i, r in enumerate(rows):
        prod = r["lines"] / r["produce_s"] if r["produce_s"] else 0
        vis = r["seen"] / r["visible_s"] if r["visible_s"] > 0 else 0
        print("| %d | %d | %.0f | %.0f | %.2f |" % (i, r["seen"], prod, vis, vis / prod if prod else 0))


if __name__ == "__main__":
    main()
