#!/usr/bin/python3
"""Image pull + unpack of a ~200 MB multi-layer image from a loopback
registry: Berth's agent (fresh image store per run, --pull-behavior always,
pullStoppedAt - pullStartedAt from DescribeTasks) against `skopeo copy` to an
OCI layout + `umoci unpack` (wall time). Runs alternate (Berth, skopeo+umoci,
Berth, ...) so load changes hit both sides alike. Called by bench/run_node.sh.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nodebench_lib as nb  # noqa: E402

COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]


def berth_pull(ecs, args, endpoint, td, work, i):
    cluster = "nodebench-pull-%d" % i
    agent_dir = os.path.join(work, "pull-agent-%d" % i)
    agent = nb.start_agent(args.berth, endpoint, cluster, agent_dir, "always")
    sample = {"i": i, "load_before": nb.loadavg()}
    try:
        nb.wait_for_instance(ecs, cluster, agent)
        t0 = time.monotonic()
        r = ecs.run_task(cluster=cluster, taskDefinition=td, count=1, startedBy="nodebench")
        if r.get("failures") or not r.get("tasks"):
            raise RuntimeError("RunTask failed: %s" % r.get("failures"))
        arn = r["tasks"][0]["taskArn"]
        # 100 ms polls: the figure is seconds long and the client should not load the node.
        task, t1 = nb.wait_status(ecs, cluster, arn, ("RUNNING",), timeout=args.timeout, interval=0.1)
        sample["client_to_running"] = t1 - t0
        if task["lastStatus"] != "RUNNING":
            sample["error"] = "task stopped: %s %s" % (task.get("stoppedReason"),
                                                     [c.get("reason") for c in task.get("containers", [])])
        else:
            sample["pull"] = nb.ts(task, "pullStoppedAt") - nb.ts(task, "pullStartedAt")
        ecs.stop_task(cluster=cluster, task=arn, reason="nodebench")
        nb.wait_status(ecs, cluster, arn, ("STOPPED",), timeout=60)
        sample["store_bytes"] = dir_bytes(os.path.join(agent_dir, "images"))
    finally:
        # Task STOPPED: SIGTERM, then SIGKILL after 3 s rather than waiting out
        # the agent's in-flight PollTasks (up to 20 s).
        agent.stop(timeout=3)
        sample["load_after"] = nb.loadavg()
        left = nb.unmount_all_under(agent_dir)
        if left:
            sample["unmounted_leftovers"] = left
        shutil.rmtree(agent_dir, ignore_errors=True)
    return sample


def skopeo_umoci(args, ref, work, i):
    dest = os.path.join(work, "skopeo-%d" % i)
    bundle = os.path.join(work, "umoci-%d" % i)
    sample = {"i": i, "load_before": nb.loadavg()}
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    try:
        t0 = time.monotonic()
        p = subprocess.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://" + ref,
                            "oci:%s:big" % dest], capture_output=True, text=True, timeout=args.timeout, env=env)
        t1 = time.monotonic()
        if p.returncode != 0:
            sample["error"] = "skopeo: " + p.stderr[-400:]
            return sample
        p = subprocess.run(["umoci", "unpack", "--image", "%s:big" % dest, bundle],
                           capture_output=True, text=True, timeout=args.timeout, env=env)
        t2 = time.monotonic()
        if p.returncode != 0:
            sample["error"] = "umoci: " + p.stderr[-400:]
            return sample
        sample.update({"copy": t1 - t0, "unpack": t2 - t1, "total": t2 - t0})
    finally:
        sample["load_after"] = nb.loadavg()
        shutil.rmtree(dest, ignore_errors=True)
        shutil.rmtree(bundle, ignore_errors=True)
    return sample


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def summary_s(values):
    if not values:
        return {"n": 0}
    s = sorted(values)
    return {"n": len(s), "min": s[0], "median": nb.percentile(s, 50), "max": s[-1]}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--berth", required=True)
    ap.add_argument("--ref", required=True, help="registry reference, e.g. 127.0.0.1:PORT/nodebench/big:v1")
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=int, default=120, help="seconds allowed for one pull")
    ap.add_argument("--budget", type=int, default=150, help="seconds for all runs")
    ap.add_argument("--image-info", default="{}", help="JSON from make_big_image.py")
    args = ap.parse_args()

    import json
    out = {"ref": args.ref, "image": json.loads(args.image_info), "load_before": nb.loadavg(),
           "berth": [], "skopeo_umoci": []}
    server = None
    start = time.monotonic()
    try:
        server, endpoint = nb.start_server(args.berth, os.path.join(args.work, "pull-server"))
        ecs = nb.ecs_client(endpoint)
        # The agent's CreateCluster would race RegisterTaskDefinition: neither needs the other.
        td = ecs.register_task_definition(
            family="nodebench-big",
            containerDefinitions=[{"name": "app", "image": args.ref, "essential": True, "memory": 32,
                                   "command": COMMAND}])["taskDefinition"]["taskDefinitionArn"]
        for i in range(args.runs):
            if time.monotonic() - start > args.budget:
                out["truncated"] = "stopped after %d rounds: %ds budget spent" % (i, args.budget)
                break
            nb.log("pull round %d: Berth agent" % i)
            out["berth"].append(berth_pull(ecs, args, endpoint, td, args.work, i))
            nb.log("pull round %d: skopeo copy + umoci unpack" % i)
            out["skopeo_umoci"].append(skopeo_umoci(args, args.ref, args.work, i))
            nb.log("  Berth %.1f s, skopeo+umoci %.1f s" % (out["berth"][-1].get("pull", -1),
                                                            out["skopeo_umoci"][-1].get("total", -1)))
    finally:
        if server:
            server.stop()
        out["load_after"] = nb.loadavg()
        out["elapsed"] = time.monotonic() - start
        shutil.rmtree(os.path.join(args.work, "pull-server"), ignore_errors=True)
    out["berth_pull_s"] = summary_s([s["pull"] for s in out["berth"] if "pull" in s])
    out["berth_to_running_s"] = summary_s([s["client_to_running"] for s in out["berth"] if "pull" in s])
    for k in ("copy", "unpack", "total"):
        out["skopeo_umoci_%s_s" % k] = summary_s([s[k] for s in out["skopeo_umoci"] if k in s])
    nb.write_json(args.out, out)


if __name__ == "__main__":
    main()
