#!/usr/bin/python3
"""RunTask load for the end-to-end placement benchmark (bench/placement/run_e2e.sh).

Waits for the simulated fleet to be registered and connected, registers a
task definition, then CLIENTS processes call RunTask count=COUNT with
spread(attribute:ecs.availability-zone) + binpack(memory) and a memberOf
constraint until TASKS tasks are placed (or the time limit), then waits until
the cluster runs them all. Prints one JSON object with the measurements.
Bounded: every phase has a deadline inside --time-limit.
"""
import argparse
import json
import multiprocessing
import sys
import time

import boto3
from botocore.config import Config


def client(args):
    return boto3.client("ecs", endpoint_url=args.endpoint, region_name=args.region,
                        aws_access_key_id=args.access_key, aws_secret_access_key=args.secret_key,
                        config=Config(retries={"max_attempts": 1}, read_timeout=120, connect_timeout=10,
                                      max_pool_connections=4))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cluster_counts(ecs, cluster):
    c = ecs.describe_clusters(clusters=[cluster])["clusters"][0]
    return c["registeredContainerInstancesCount"], c["runningTasksCount"], c["pendingTasksCount"]


def connected_instances(ecs, cluster):
    arns = []
    for page in ecs.get_paginator("list_container_instances").paginate(cluster=cluster, status="ACTIVE"):
        arns += page["containerInstanceArns"]
    connected = 0
    for i in range(0, len(arns), 100):
        for ci in ecs.describe_container_instances(cluster=cluster, containerInstances=arns[i:i + 100])["containerInstances"]:
            connected += 1 if ci["agentConnected"] else 0
    return len(arns), connected


def load_worker(args, quota, deadline, queue):
    """One client process: RunTask until `quota` tasks are placed or the deadline passes."""
    ecs = client(args)
    placed = failures = errors = calls = 0
    latencies = []
    reasons = {}
    while placed < quota and time.time() < deadline:
        count = min(args.count, quota - placed)
        t0 = time.time()
        try:
            r = ecs.run_task(
                cluster=args.cluster, taskDefinition=args.family, count=count,
                placementStrategy=[{"type": "spread", "field": "attribute:ecs.availability-zone"},
                                   {"type": "binpack", "field": "memory"}],
                placementConstraints=[{"type": "memberOf", "expression": args.member_of}])
        except Exception as e:  # counted, not fatal: the report says how many
            errors += 1
            reasons[type(e).__name__] = reasons.get(type(e).__name__, 0) + 1
            if errors > 50 and placed == 0:
                break
            time.sleep(0.2)
            continue
        calls += 1
        latencies.append(time.time() - t0)
        placed += len(r["tasks"])
        for f in r["failures"]:
            failures += 1
            reasons[f.get("reason", "?")] = reasons.get(f.get("reason", "?"), 0) + 1
        if not r["tasks"]:
            time.sleep(0.5)  # nothing fits: do not spin
    queue.put({"placed": placed, "failures": failures, "errors": errors, "calls": calls,
               "latencies": latencies, "reasons": reasons})


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--access-key", required=True)
    ap.add_argument("--secret-key", required=True)
    ap.add_argument("--cluster", required=True)
    ap.add_argument("--instances", type=int, required=True)
    ap.add_argument("--tasks", type=int, required=True)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--member-of", default="attribute:tier == bench")
    ap.add_argument("--server-pid", type=int, required=True)
    ap.add_argument("--rss-baseline-kib", type=int, default=0)
    ap.add_argument("--registration-seconds", type=float, default=0)
    ap.add_argument("--time-limit", type=float, default=1800)
    ap.add_argument("--family", default="bench-e2e")
    args = ap.parse_args()
    start = time.time()
    hard_deadline = start + args.time_limit
    ecs = client(args)
    out = {"instances": args.instances, "tasksWanted": args.tasks, "clients": args.clients, "count": args.count,
           "registrationSeconds": args.registration_seconds}

    # 1. The fleet is registered and every agent connected.
    deadline = min(hard_deadline, time.time() + 300)
    while True:
        total, connected = connected_instances(ecs, args.cluster)
        if connected >= args.instances or time.time() > deadline:
            break
        time.sleep(2)
    out["instancesActive"], out["instancesConnected"] = total, connected
    if connected < args.instances:
        print("runtask_load: only %d/%d instances connected" % (connected, args.instances), file=sys.stderr)
    rss_reg = rss_kib(args.server_pid)
    out["serverRssAfterRegistrationKiB"] = rss_reg
    if args.rss_baseline_kib and args.instances:
        out["serverKiBPerInstance"] = round((rss_reg - args.rss_baseline_kib) / args.instances, 2)

    ecs.register_task_definition(
        family=args.family, requiresCompatibilities=["EC2"],
        containerDefinitions=[{"name": "app", "image": "busybox", "cpu": 128, "memory": 256, "essential": True}])

    # 2. RunTask load from several processes.
    queue = multiprocessing.Queue()
    per = [args.tasks // args.clients + (1 if i < args.tasks % args.clients else 0) for i in range(args.clients)]
    load_deadline = hard_deadline - 60
    t0 = time.time()
    procs = [multiprocessing.Process(target=load_worker, args=(args, q, load_deadline, queue)) for q in per]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    load_seconds = time.time() - t0
    placed = sum(r["placed"] for r in results)
    latencies = [x for r in results for x in r["latencies"]]
    reasons = {}
    for r in results:
        for k, v in r["reasons"].items():
            reasons[k] = reasons.get(k, 0) + v
    out.update({"tasksPlaced": placed, "runTaskCalls": sum(r["calls"] for r in results),
                "runTaskErrors": sum(r["errors"] for r in results),
                "placementFailures": sum(r["failures"] for r in results), "failureReasons": reasons,
                "loadSeconds": round(load_seconds, 2),
                "tasksPerSecond": round(placed / load_seconds, 1) if load_seconds else None,
                "runTaskP50Seconds": percentile(latencies, 0.5), "runTaskP99Seconds": percentile(latencies, 0.99)})

    # 3. Until every placed task is RUNNING (the simulator reports them).
    running = pending = 0
    while time.time() < hard_deadline:
        _, running, pending = cluster_counts(ecs, args.cluster)
        if running >= placed:
            break
        time.sleep(1)
    out["tasksRunning"] = running
    out["secondsUntilAllRunning"] = round(time.time() - t0, 2) if running >= placed else None
    out["secondsAfterLoadUntilAllRunning"] = (round(time.time() - t0 - load_seconds, 2)
                                              if running >= placed else None)
    rss_tasks = rss_kib(args.server_pid)
    out["serverRssAfterTasksKiB"] = rss_tasks
    if placed:
        out["serverKiBPerTask"] = round((rss_tasks - rss_reg) / placed, 2)
    out["totalSeconds"] = round(time.time() - start, 2)
    print(json.dumps(out))
    return 0 if placed >= args.tasks and running >= placed else 1


if __name__ == "__main__":
    sys.exit(main())
