#!/usr/bin/python3
"""Task start latency per network mode (none, host, bridge, awsvpc) on one
real node, in one run, side by side with `podman run -d` in the modes podman
has (none, host, bridge). Called by bench/network/run.sh, which provides the
registry and the image; see docs/benchmarks.md "Task start per network mode".

Berth: one server + one agent on bridges and subnets of its own; per mode,
tasks run one at a time: RunTask, poll DescribeTasks every 10 ms until
RUNNING, StopTask, wait for STOPPED. The figure is the server's
createdAt -> startedAt plus the client-observed RunTask -> RUNNING. bridge
tasks have one dynamic host port mapping (portmap), awsvpc tasks their own
address. podman: `podman run -d` wall time with --network none|host|bridge
(its default CNI network), each container removed after its run.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "node"))
import nodebench_lib as nb  # noqa: E402

COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
CLUSTER = "netbench"
MODES = ("none", "host", "bridge", "awsvpc")
PODMAN_MODES = ("none", "host", "bridge")
NET_ARGS = ["--bridge-name", "bnetbench0", "--bridge-subnet", "10.231.0.0/24",
            "--awsvpc-bridge-name", "bnetbench1", "--awsvpc-subnet", "10.232.0.0/24", "--metadata-port", "51699"]


def task_definition(ecs, image, mode):
    container = {"name": "app", "image": image, "essential": True, "memory": 16, "command": COMMAND}
    if mode == "bridge":
        container["portMappings"] = [{"containerPort": 80, "hostPort": 0}]
    return ecs.register_task_definition(family="netbench-" + mode, networkMode=mode,
                                        containerDefinitions=[container])["taskDefinition"]["taskDefinitionArn"]


def bench_berth(args, work):
    out = {}
    server = agent = None
    try:
        server, endpoint = nb.start_server(args.berth, os.path.join(work, "server"))
        agent = nb.start_agent(args.berth, endpoint, CLUSTER, os.path.join(work, "agent"),
                               "prefer-cached", NET_ARGS)
        ecs = nb.ecs_client(endpoint)
        nb.wait_for_instance(ecs, CLUSTER, agent)
        for mode in MODES:
            td = task_definition(ecs, args.image, mode)
            extra = {}
            if mode == "awsvpc":
                extra["networkConfiguration"] = {"awsvpcConfiguration": {"subnets": ["subnet-netbench"]}}
            res = {"load_before": nb.loadavg(), "server": [], "client": [], "failures": []}
            start = time.monotonic()
            for i in range(-1, args.count):  # run -1 is the unmeasured warm-up (image pull, bridge creation)
                if time.monotonic() - start > args.budget:
                    res["truncated"] = "stopped after %d runs: %ds budget spent" % (i, args.budget)
                    break
                t0 = time.monotonic()
                r = ecs.run_task(cluster=CLUSTER, taskDefinition=td, count=1, **extra)
                if r.get("failures") or not r.get("tasks"):
                    res["failures"].append(str(r.get("failures")))
                    continue
                arn = r["tasks"][0]["taskArn"]
                task, t1 = nb.wait_status(ecs, CLUSTER, arn, ("RUNNING",), timeout=60)
                ecs.stop_task(cluster=CLUSTER, task=arn, reason="netbench")
                stopped, _ = nb.wait_status(ecs, CLUSTER, arn, ("STOPPED",), timeout=60)
                if task["lastStatus"] != "RUNNING":
                    res["failures"].append(stopped.get("stoppedReason"))
                    if len(res["failures"]) > 5:
                        break
                    continue
                if i >= 0:
                    res["client"].append(t1 - t0)
                    res["server"].append(nb.ts(stopped, "startedAt") - nb.ts(stopped, "createdAt"))
            res["load_after"] = nb.loadavg()
            out[mode] = res
            nb.log("berth %s: %d runs" % (mode, len(res["server"])))
    finally:
        if agent:
            agent.stop()
        if server:
            server.stop()
    return out


def bench_podman(args, work):
    out = {}
    if not shutil.which("podman"):
        return {"skipped": "podman is not installed"}
    pdir = os.path.join(work, "podman")
    os.makedirs(os.path.join(pdir, "cni"), exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["CONTAINERS_CONF"] = os.path.join(pdir, "containers.conf")
    # podman's bridge network on its own CNI config dir, bridge and subnet, removed afterwards.
    with open(env["CONTAINERS_CONF"], "w") as f:
        f.write('[engine]\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\nruntime = "runc"\n'
                '[network]\nnetwork_backend = "cni"\nnetwork_config_dir = "%s"\ndefault_network = "netbench"\n'
                'default_subnet = "10.233.0.0/24"\n' % os.path.join(pdir, "cni"))
    base = ["podman", "--root", os.path.join(pdir, "root"), "--runroot", os.path.join(pdir, "run"),
            "--tmpdir", os.path.join(pdir, "tmp"), "--storage-driver", "overlay", "--runtime", "runc",
            "--cgroup-manager=cgroupfs", "--events-backend=file"]
    quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, env=env)
    out["version"] = subprocess.run(["podman", "--version"], capture_output=True, text=True).stdout.strip()
    p = subprocess.run(base + ["pull", "--tls-verify=false", "docker://" + args.image], **quiet)
    if p.returncode != 0:
        return {"skipped": "podman pull failed: " + p.stderr.decode(errors="replace")[-300:]}
    image_id = p.stdout.decode().strip().splitlines()[-1]
    run_flags = ["--memory", "16m", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
    try:
        for mode in PODMAN_MODES:
            res = {"load_before": nb.loadavg(), "client": [], "failures": []}
            start = time.monotonic()
            for i in range(-1, args.count):
                if time.monotonic() - start > args.budget:
                    res["truncated"] = "stopped after %d runs: %ds budget spent" % (i, args.budget)
                    break
                name = "netbench-pm-%s-%d" % (mode, i + 1)
                t0 = time.monotonic()
                p = subprocess.run(base + ["run", "-d", "--name", name, "--network", mode] + run_flags
                                   + [image_id] + COMMAND, **quiet)
                t1 = time.monotonic()
                subprocess.run(base + ["rm", "-f", "-t", "0", name], **quiet)
                if p.returncode != 0:
                    res["failures"].append(p.stderr.decode(errors="replace")[-300:])
                    if len(res["failures"]) > 5:
                        break
                elif i >= 0:
                    res["client"].append(t1 - t0)
            res["load_after"] = nb.loadavg()
            out[mode] = res
            nb.log("podman %s: %d runs" % (mode, len(res["client"])))
    finally:
        subprocess.run(base + ["rm", "-a", "-f", "-t", "0"], **quiet)
        subprocess.run(base + ["rmi", "-a", "-f"], **quiet)
        nb.remove_cgroups(["/libpod_parent/conmon", "/libpod_parent"])
    return out


def cell(values):
    if not values:
        return "- | -"
    s = nb.summary_ms(values)
    return "%d | %d" % (s["median"], s["p99"])


def report(berth, podman, count):
    lines = ["| network mode | Berth RunTask → RUNNING, server (median / p99 ms) | client-observed (median / p99 ms)"
             " | `podman run -d` (median / p99 ms) | Berth client ÷ podman (median) | runs |",
             "|---|---|---|---|---|---|"]
    for mode in MODES:
        b = berth.get(mode, {})
        p = podman.get(mode, {}) if isinstance(podman.get(mode), dict) else {}
        ratio = "-"
        if b.get("client") and p.get("client"):
            ratio = "%.2f" % (nb.summary_ms(b["client"])["median"] / max(nb.summary_ms(p["client"])["median"], 1))
        pm = cell(p.get("client", [])).replace(" | ", " / ") if p.get("client") else "n/a (podman has no awsvpc)" \
            if mode == "awsvpc" else "-"
        notes = "; ".join(filter(None, [b.get("truncated"), "%d failures" % len(b["failures"]) if b.get("failures")
                                         else ""]))
        lines.append("| %s | %s | %s | %s | %s | %d%s |" % (
            mode, cell(b.get("server", [])).replace(" | ", " / "), cell(b.get("client", [])).replace(" | ", " / "),
            pm, ratio, len(b.get("server", [])), (" (" + notes + ")") if notes else ""))
    if podman.get("version"):
        lines.append("")
        lines.append("Peer: %s (runc, cgroupfs, CNI bridge for `bridge`)." % podman["version"])
    if podman.get("skipped"):
        lines.append("")
        lines.append("podman skipped: " + podman["skipped"])
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--berth", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--count", type=int, default=30)
    ap.add_argument("--budget", type=int, default=60, help="seconds per mode and tool")
    ap.add_argument("--skip-podman", action="store_true")
    args = ap.parse_args()
    berth = bench_berth(args, args.work)
    podman = {"skipped": "--skip-podman"} if args.skip_podman else bench_podman(args, args.work)
    nb.write_json(os.path.join(args.work, "netmode.json"), {"berth": berth, "podman": podman})
    print(report(berth, podman, args.count))


if __name__ == "__main__":
    main()
