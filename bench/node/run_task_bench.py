#!/usr/bin/python3
"""RunTask -> RUNNING latency on one real node, side by side with the floor
(`runc run -d` of the same bundle) and a peer (`podman run -d` of the same
image). Called by bench/run_node.sh, which provides the registry and the
busybox OCI layout; see bench/node/README.md.

Every container runs the same command: a shell that waits on `sleep 3600`
and exits on SIGTERM (sleep as PID 1 ignores SIGTERM, which would make each
StopTask wait the full stopTimeout). Tasks run one at a time: RunTask, poll
DescribeTasks every 10 ms until RUNNING, StopTask, wait for STOPPED.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nodebench_lib as nb  # noqa: E402

COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
CLUSTER = "nodebench"
PODMAN_RUNTIME_FLAGS = ["--runtime", "runc", "--cgroup-manager=cgroupfs", "--events-backend=file"]
PODMAN_RUN_FLAGS = ["--network", "none", "--memory", "16m",
                    "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


def bench_berth(args, image, work, pull_behavior, count, budget):
    """Server + one agent; returns (results, agent config.json of the warm-up task)."""
    server = agent = None
    res = {"pull_behavior": pull_behavior, "load_before": nb.loadavg(), "samples": [], "failures": []}
    agent_config = None
    task_cgroups = []
    try:
        # A server of its own per pass: a reused one would still list the
        # previous pass's (dead) instance and might place tasks there.
        server, endpoint = nb.start_server(args.berth, os.path.join(work, "server-" + pull_behavior))
        agent_dir = os.path.join(work, "agent-" + pull_behavior)
        agent = nb.start_agent(args.berth, endpoint, CLUSTER, agent_dir, pull_behavior)
        ecs = nb.ecs_client(endpoint)
        nb.wait_for_instance(ecs, CLUSTER, agent)
        td = ecs.register_task_definition(
            family="nodebench-sleep",
            containerDefinitions=[{"name": "app", "image": image, "essential": True, "memory": 16,
                                   "command": COMMAND}])["taskDefinition"]["taskDefinitionArn"]

        def one(i, keep_config=False):
            t0 = time.monotonic()
            r = ecs.run_task(cluster=CLUSTER, taskDefinition=td, count=1, startedBy="nodebench")
            if r.get("failures") or not r.get("tasks"):
                raise RuntimeError("RunTask failed: %s" % r.get("failures"))
            arn = r["tasks"][0]["taskArn"]
            task, t1 = nb.wait_status(ecs, CLUSTER, arn, ("RUNNING",), timeout=60)
            config = None
            if keep_config and task["lastStatus"] == "RUNNING":
                found = glob.glob(os.path.join(agent_dir, "tasks", arn.rsplit("/", 1)[1], "app", "bundle", "config.json"))
                if found:
                    with open(found[0]) as f:
                        config = json.load(f)
            ecs.stop_task(cluster=CLUSTER, task=arn, reason="nodebench")
            stopped, _ = nb.wait_status(ecs, CLUSTER, arn, ("STOPPED",), timeout=60)
            task_cgroups.extend(["/berth/%s/app" % arn.rsplit("/", 1)[1], "/berth/" + arn.rsplit("/", 1)[1]])
            if task["lastStatus"] != "RUNNING":
                return None, {"i": i, "status": task["lastStatus"], "reason": stopped.get("stoppedReason"),
                              "containers": [c.get("reason") for c in stopped.get("containers", [])]}, None
            sample = {"i": i, "client": t1 - t0}
            for f in ("createdAt", "pullStartedAt", "pullStoppedAt", "startedAt", "stoppingAt", "stoppedAt"):
                sample[f] = nb.ts(stopped, f) or nb.ts(task, f)
            sample["server"] = sample["startedAt"] - sample["createdAt"]
            return sample, None, config

        # Warm-up: pulls busybox into the agent's store and gives us the exact
        # config.json the agent writes, for the runc floor.
        s, failure, agent_config = one(-1, keep_config=True)
        if failure:
            raise RuntimeError("warm-up task did not run: %s" % failure)
        res["warmup"] = s
        start = time.monotonic()
        for i in range(count):
            if time.monotonic() - start > budget:
                res["truncated"] = "stopped after %d runs: %ds budget spent" % (i, budget)
                break
            s, failure, _ = one(i)
            if failure:
                res["failures"].append(failure)
                if len(res["failures"]) > 5:
                    res["truncated"] = "stopped after %d failures" % len(res["failures"])
                    break
                continue
            res["samples"].append(s)
        res["elapsed"] = time.monotonic() - start
    finally:
        if agent:
            # Every task is STOPPED by now. SIGTERM alone would wait out the
            # agent's in-flight PollTasks (up to 20 s); nothing is left to lose.
            agent.stop(timeout=3)
        if server:
            server.stop()
        # The agent leaves each task's (empty) parent cgroup behind; remove ours.
        res["agent_leftover_cgroups_removed"] = nb.remove_cgroups(task_cgroups)
        res["load_after"] = nb.loadavg()
    return res, agent_config


def phases(samples):
    """Medians of the server-timestamped phases, in ms."""
    def med(key_a, key_b):
        v = [s[key_b] - s[key_a] for s in samples if s.get(key_a) and s.get(key_b)]
        return nb.summary_ms(v)
    return {"deliver": med("createdAt", "pullStartedAt"),      # server record -> agent runner begins the pull
            "pull_check": med("pullStartedAt", "pullStoppedAt"),  # image resolution (registry HEAD/GET or cache)
            "create_start": med("pullStoppedAt", "startedAt")}  # overlay mount, spec, conmon+runc create, runc start


def floor_bundle(args, agent_config, work):
    """An OCI bundle with busybox unpacked by umoci and the agent's exact
    config.json, root and cgroup path rewritten."""
    unpacked = os.path.join(work, "floor-unpack")
    subprocess.run(["umoci", "unpack", "--image", args.layout + ":busybox", unpacked], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    config = json.loads(json.dumps(agent_config))
    config["root"] = {"path": os.path.join(unpacked, "rootfs"), "readonly": bool(config.get("root", {}).get("readonly"))}
    config.get("linux", {}).pop("cgroupsPath", None)
    # Bind mounts from the agent's task dir (hosts/resolv.conf, if any) point
    # at a dir that is gone: give the floor its own copies.
    agent_dir = os.path.realpath(work)
    for m in config.get("mounts", []):
        src = m.get("source", "")
        if src.startswith(agent_dir):
            copy = os.path.join(work, "floor-files", os.path.basename(src))
            os.makedirs(os.path.dirname(copy), exist_ok=True)
            if not os.path.exists(copy):
                open(copy, "w").close()
            m["source"] = copy
    return unpacked, config


def bench_floor(args, agent_config, work, count, budget):
    res = {"load_before": nb.loadavg(), "run": [], "create_start": [], "failures": []}
    root = os.path.join(work, "runc-root")
    unpacked, config = floor_bundle(args, agent_config, work)

    def write_config(i):
        # Nested like the agent's /berth/<task>/<container>: the container's
        # cpu.shares (2 for a container without cpu units, as ECS sets it)
        # then only competes inside its own parent. At the top level it would
        # compete with the whole machine and runc init crawls under load.
        c = json.loads(json.dumps(config))
        c.setdefault("linux", {})["cgroupsPath"] = "/nodebench-floor/%d/app" % i
        with open(os.path.join(unpacked, "config.json"), "w") as f:
            json.dump(c, f)

    runc = ["runc", "--root", root]
    # The container inherits runc's stdio (no terminal): a pipe would keep
    # subprocess.run waiting for the container to exit, so stderr goes to a file.
    err_path = os.path.join(work, "floor-runc.err")
    err = open(err_path, "w+b")
    quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, timeout=30)

    def last_error():
        err.seek(0)
        return err.read().decode(errors="replace")[-500:]

    start = time.monotonic()
    try:
        for i in range(count):
            for variant in ("run", "create_start"):
                if time.monotonic() - start > budget:
                    res["truncated"] = "budget of %ds spent" % budget
                    raise StopIteration
                cid = "nodebench-floor-%s-%d" % (variant, i)
                write_config(i)
                err.seek(0)
                err.truncate()
                t0 = time.monotonic()
                if variant == "run":
                    p = subprocess.run(runc + ["run", "-d", "--bundle", unpacked, cid], **quiet)
                    ok = p.returncode == 0
                else:
                    p = subprocess.run(runc + ["create", "--bundle", unpacked, cid], **quiet)
                    ok = p.returncode == 0
                    if ok:
                        p = subprocess.run(runc + ["start", cid], **quiet)
                        ok = p.returncode == 0
                t1 = time.monotonic()
                subprocess.run(runc + ["delete", "-f", cid], **quiet)
                nb.remove_cgroups(["/nodebench-floor/%d/app" % i, "/nodebench-floor/%d" % i])
                if ok:
                    res[variant].append(t1 - t0)
                else:
                    res["failures"].append({"variant": variant, "i": i, "stderr": last_error()})
                    if len(res["failures"]) > 5:
                        res["truncated"] = "too many failures"
                        raise StopIteration
    except StopIteration:
        pass
    finally:
        # Anything left (a failed delete) is removed by id.
        ls = subprocess.run(runc + ["list", "-q"], capture_output=True, text=True, timeout=30)
        for cid in ls.stdout.split():
            subprocess.run(runc + ["delete", "-f", cid], **quiet)
        nb.remove_cgroups([p % i for i in range(count) for p in ("/nodebench-floor/%d/app", "/nodebench-floor/%d")] + ["/nodebench-floor"])
        err.close()
        res["load_after"] = nb.loadavg()
        res["elapsed"] = time.monotonic() - start
    return res


def bench_podman(args, work, count, budget):
    res = {"load_before": nb.loadavg(), "samples": [], "failures": []}
    if not shutil.which("podman"):
        res["skipped"] = "podman is not installed (Debian package `podman`)"
        return res
    pdir = os.path.join(work, "podman")
    base = ["podman", "--root", os.path.join(pdir, "root"), "--runroot", os.path.join(pdir, "run"),
            "--tmpdir", os.path.join(pdir, "tmp"), "--storage-driver", "overlay"] + PODMAN_RUNTIME_FLAGS
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["CONTAINERS_CONF"] = os.path.join(pdir, "containers.conf")  # no user/system overrides beyond ours
    os.makedirs(pdir, exist_ok=True)
    with open(env["CONTAINERS_CONF"], "w") as f:
        f.write("[engine]\nevents_logger = \"file\"\ncgroup_manager = \"cgroupfs\"\nruntime = \"runc\"\n")
    quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, env=env)
    res["version"] = subprocess.run(["podman", "--version"], capture_output=True, text=True).stdout.strip()
    # The same image from the same loopback registry (an oci: source would
    # name the image after its directory, which podman refuses if not lowercase).
    p = subprocess.run(base + ["pull", "--tls-verify=false", "docker://" + args.image], **quiet)
    if p.returncode != 0:
        res["skipped"] = "podman pull failed: " + p.stderr.decode(errors="replace")[-400:]
        return res
    image_id = p.stdout.decode().strip().splitlines()[-1]
    start = time.monotonic()
    try:
        # One unmeasured run: podman initialises its database and network state on first use.
        warm = subprocess.run(base + ["run", "-d", "--name", "nodebench-pm-warm"] + PODMAN_RUN_FLAGS + [image_id] + COMMAND, **quiet)
        subprocess.run(base + ["rm", "-f", "-t", "0", "nodebench-pm-warm"], **quiet)
        if warm.returncode != 0:
            res["skipped"] = "podman run failed: " + warm.stderr.decode(errors="replace")[-400:]
            return res
        for i in range(count):
            if time.monotonic() - start > budget:
                res["truncated"] = "stopped after %d runs: %ds budget spent" % (i, budget)
                break
            name = "nodebench-pm-%d" % i
            t0 = time.monotonic()
            p = subprocess.run(base + ["run", "-d", "--name", name] + PODMAN_RUN_FLAGS + [image_id] + COMMAND, **quiet)
            t1 = time.monotonic()
            subprocess.run(base + ["rm", "-f", "-t", "0", name], **quiet)
            if p.returncode == 0:
                res["samples"].append(t1 - t0)
            else:
                res["failures"].append({"i": i, "stderr": p.stderr.decode(errors="replace")[-400:]})
                if len(res["failures"]) > 5:
                    res["truncated"] = "too many failures"
                    break
    finally:
        subprocess.run(base + ["rm", "-a", "-f", "-t", "0"], **quiet)
        subprocess.run(base + ["rmi", "-a", "-f"], **quiet)
        nb.remove_cgroups(["/libpod_parent/conmon", "/libpod_parent"])
        res["load_after"] = nb.loadavg()
        res["elapsed"] = time.monotonic() - start
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--berth", required=True)
    ap.add_argument("--image", required=True, help="registry reference of busybox, e.g. 127.0.0.1:PORT/busybox:latest")
    ap.add_argument("--layout", required=True, help="OCI layout dir holding tag busybox")
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--pull-behaviors", default="default,prefer-cached",
                    help="comma-separated agent --pull-behavior values, one full run each")
    ap.add_argument("--berth-budget", type=int, default=100, help="seconds per Berth run")
    ap.add_argument("--floor-budget", type=int, default=60)
    ap.add_argument("--podman-budget", type=int, default=90)
    ap.add_argument("--skip-podman", action="store_true")
    args = ap.parse_args()
    args.pull_behaviors = [b for b in args.pull_behaviors.split(",") if b]

    out = {"count": args.count, "command": COMMAND, "berth": {}}
    agent_config = None
    for behavior in args.pull_behaviors:
        nb.log("Berth RunTask -> RUNNING, agent --pull-behavior %s, %d tasks" % (behavior, args.count))
        try:
            res, cfg = bench_berth(args, args.image, args.work, behavior, args.count, args.berth_budget)
        except Exception as e:  # report it and go on with the other phases
            nb.log("  failed: %s" % e)
            res, cfg = {"pull_behavior": behavior, "error": str(e), "samples": [], "failures": []}, None
        agent_config = agent_config or cfg
        res["client_ms"] = nb.summary_ms([s["client"] for s in res["samples"]])
        res["server_ms"] = nb.summary_ms([s["server"] for s in res["samples"]])
        res["phases_ms"] = phases(res["samples"])
        out["berth"][behavior] = res
        nb.log("  %d runs in %.0f s: server median %.1f ms, client median %.1f ms (load %s)" %
               (len(res["samples"]), res.get("elapsed", 0), res["server_ms"].get("median", -1),
                res["client_ms"].get("median", -1), nb.loadavg()))
        # The runc floor reuses the config.json the first agent wrote.
        nb.unmount_all_under(os.path.join(args.work, "agent-" + behavior))
    if agent_config is None:
        raise SystemExit("no agent config.json captured; cannot run the floor")
    nb.log("floor: runc run -d / runc create+start, %d each" % args.count)
    floor = bench_floor(args, agent_config, args.work, args.count, args.floor_budget)
    floor["run_ms"] = nb.summary_ms(floor["run"])
    floor["create_start_ms"] = nb.summary_ms(floor["create_start"])
    out["floor"] = floor
    nb.log("  %d + %d runs in %.0f s" % (len(floor["run"]), len(floor["create_start"]), floor["elapsed"]))
    out["floor_config"] = agent_config
    if args.skip_podman:
        out["podman"] = {"skipped": "--skip-podman"}
    else:
        nb.log("peer: podman run -d, up to %d" % args.count)
        pm = bench_podman(args, args.work, args.count, args.podman_budget)
        pm["ms"] = nb.summary_ms(pm["samples"])
        out["podman"] = pm
        nb.log("  %d runs in %.0f s %s" % (len(pm["samples"]), pm.get("elapsed", 0), pm.get("skipped", "")))
        nb.unmount_all_under(os.path.join(args.work, "podman"))
    nb.write_json(args.out, out)


if __name__ == "__main__":
    main()
