"""Shared pieces of the node benchmarks (bench/node/): starting a real
`berth server` and `berth agent` on loopback, a bounded ECS client, waiting
for task states, percentiles and machine facts.

Run with Debian's /usr/bin/python3 so boto3/botocore are the Debian packages.
Every process started here is tracked by PID and stopped by PID.
"""
import json
import math
import os
import re
import signal
import subprocess
import time

ACCESS_KEY = "AKIDBERTHNODEBENCH00"
SECRET_KEY = "berthNodeBenchSecretKeyberthNodeBench000"
REGION = "us-east-1"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine_facts():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    kernel = os.uname().release
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": kernel}


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100): the smallest sample with at
    least p% of the samples at or below it. Median of an even count is the
    lower middle sample, so every reported figure is an observed value."""
    if not values:
        return None
    s = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(s)))
    return s[rank - 1]


def summary_ms(values):
    """{n, median, p99, min, max} in milliseconds (values are seconds)."""
    if not values:
        return {"n": 0}
    ms = [v * 1000.0 for v in values]
    return {"n": len(ms), "median": percentile(ms, 50), "p99": percentile(ms, 99), "min": min(ms), "max": max(ms)}


def log(msg):
    print("nodebench: " + msg, flush=True, file=__import__("sys").stderr)


def bench_env():
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["BERTH_ACCESS_KEY_ID"] = ACCESS_KEY
    env["BERTH_SECRET_ACCESS_KEY"] = SECRET_KEY
    env["AWS_REGION"] = REGION
    env["NO_PROXY"] = "*"
    return env


class Proc:
    """A child process stopped by PID: SIGTERM, bounded wait, then SIGKILL."""

    def __init__(self, args, log_path, env=None, stdout=None):
        self.log_file = open(log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=stdout or self.log_file, stderr=self.log_file,
                                     stdin=subprocess.DEVNULL, env=env, text=stdout is not None)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.log_file.close()


def start_server(berth, data_dir, timeout=30):
    os.makedirs(data_dir, exist_ok=True)
    args = [berth, "server", "--listen", "127.0.0.1:0", "--data-dir", data_dir, "--region", REGION,
            "--log-level", "warn"]
    p = Proc(args, os.path.join(data_dir, "server.log"), env=bench_env(), stdout=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = p.proc.stdout.readline()
        if not line:
            break
        m = re.search(r"listening on (http://[\d.]+:\d+)", line)
        if m:
            return p, m.group(1)
    p.stop()
    raise RuntimeError("berth server did not start; see " + os.path.join(data_dir, "server.log"))


def start_agent(berth, endpoint, cluster, data_dir, pull_behavior="default", extra=()):
    os.makedirs(data_dir, exist_ok=True)
    args = [berth, "agent", "--server", endpoint, "--cluster", cluster, "--data-dir", data_dir,
            "--region", REGION, "--pull-behavior", pull_behavior, "--log-level", "warn"] + list(extra)
    return Proc(args, os.path.join(data_dir, "agent.log"), env=bench_env())


def ecs_client(endpoint):
    import boto3
    from botocore.config import Config
    return boto3.client("ecs", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY,
                        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30))


def wait_for_instance(ecs, cluster, agent, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not agent.alive():
            raise RuntimeError("berth agent exited during registration")
        try:
            arns = ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]
            if arns:
                return arns[0]
        except Exception:  # cluster not created yet
            pass
        time.sleep(0.05)
    raise RuntimeError("agent did not register a container instance within %ds" % timeout)


def describe_task(ecs, cluster, arn):
    r = ecs.describe_tasks(cluster=cluster, tasks=[arn])
    return r["tasks"][0] if r.get("tasks") else None


def wait_status(ecs, cluster, arn, wanted, timeout, interval=0.01):
    """Polls DescribeTasks every `interval` until lastStatus is one of
    `wanted` or STOPPED; returns (task, monotonic time of that observation).
    Raises on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        t = describe_task(ecs, cluster, arn)
        now = time.monotonic()
        if t and (t["lastStatus"] in wanted or t["lastStatus"] == "STOPPED"):
            return t, now
        if now > deadline:
            raise TimeoutError("task %s not %s within %ss (last %s)" %
                               (arn, "/".join(wanted), timeout, t and t["lastStatus"]))
        time.sleep(interval)


def ts(task, field):
    v = task.get(field)
    return v.timestamp() if v is not None else None


def mounts_under(prefix):
    prefix = os.path.realpath(prefix).rstrip("/") + "/"
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if (mp + "/").startswith(prefix):
                out.append(mp)
    return out


def unmount_all_under(prefix):
    """Unmounts whatever is still mounted below prefix (deepest first), so a
    temp dir can be removed. Returns the mount points it found."""
    found = mounts_under(prefix)
    for mp in sorted(found, key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return found


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, default=str)


def remove_cgroups(rel_paths):
    """rmdir of (empty) cgroups, deepest first, in every v1 controller and in
    the v2 tree. A cgroup still in use is left alone (rmdir fails). Returns
    how many of rel_paths existed in at least one hierarchy and went away."""
    removed = set()
    roots = [os.path.join("/sys/fs/cgroup", d) for d in sorted(os.listdir("/sys/fs/cgroup"))]
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        roots = ["/sys/fs/cgroup"]
    for rel in sorted(set(rel_paths), key=lambda p: p.count("/"), reverse=True):
        for root in roots:
            path = os.path.join(root, rel.strip("/"))
            if os.path.isdir(path):
                try:
                    os.rmdir(path)
                    removed.add(rel)
                except OSError:
                    pass
    return len(removed)
