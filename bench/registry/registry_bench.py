#!/usr/bin/python3
"""Registry push/pull benchmark: skopeo against docker-registry and Berth, side
by side in one run, with the disk's own sequential rates as the limit.
Run it through bench/registry/run.sh (which owns the work dir and the cleanup);
the header of run.sh says what is measured and how.

    registry_bench.py --work DIR --size-mib N --reps R [--layers L]
                      [--berth BIN] [--targets docker-registry,berth] [--json OUT]

Prints progress on stderr and the markdown report on stdout.
"""
import argparse
import json
import mmap
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MiB = 1 << 20
MB = 1e6
SKOPEO = "/usr/bin/skopeo"
AWS = "/usr/bin/aws"
ACCESS_KEY = "AKIABERTHREGBENCH001"
SECRET_KEY = "berth-registry-bench-secret-0123456789ab"
REGION = "eu-west-3"
ACCOUNT = "123456789012"
TAG = "big"


def log(msg):
    print("registry_bench: " + msg, file=sys.stderr, flush=True)


# --- process accounting ------------------------------------------------------

def proc_cpu_seconds(pid):
    """utime + stime of every thread of pid (fields 14 and 15 of /proc/PID/stat)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def proc_io(pid):
    try:
        with open("/proc/%d/io" % pid) as f:
            return {k: int(v) for k, v in (line.split(":") for line in f)}
    except OSError:
        return {}


def alive(pid):
    """True while pid exists and is not a zombie (a server started by a shell
    script is not our child, so whoever reaps it, we only look)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop_pid(pid, grace=20.0):
    if not alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.05)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_status(url):
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


# --- targets -----------------------------------------------------------------

class DockerRegistry:
    name = "docker-registry"

    def __init__(self, work):
        self.work = work
        self.pid = None
        self.host = None

    def start(self):
        out = subprocess.run([os.path.join(ROOT, "tests", "images", "start_registry.sh"), self.work],
                             capture_output=True, text=True, timeout=30)
        pid_file = os.path.join(self.work, "registry.pid")
        if os.path.exists(pid_file):
            self.pid = int(open(pid_file).read())
        if out.returncode != 0:
            raise RuntimeError("start_registry.sh failed: " + out.stderr)
        self.host = "127.0.0.1:" + out.stdout.strip()

    def prepare_repository(self, repo):
        return None  # pushing creates the repository

    def stop(self):
        if self.pid:
            stop_pid(self.pid)

    def storage(self):
        return os.path.join(self.work, "storage")


class Berth:
    name = "berth"

    def __init__(self, work, binary):
        self.work = work
        self.binary = binary
        self.proc = None
        self.pid = None
        self.host = None
        self.password = None

    def aws(self, *args):
        env = {"PATH": "/usr/bin:/bin", "HOME": self.work, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
               "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": REGION, "AWS_PAGER": "",
               "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1"}
        out = subprocess.run([AWS, "--endpoint-url", "http://" + self.host, "--output", "json"] + list(args),
                             capture_output=True, text=True, env=env, timeout=60)
        if out.returncode != 0:
            raise RuntimeError("aws %s failed: %s" % (" ".join(args), out.stderr.strip()))
        return out.stdout

    def start(self):
        data = os.path.join(self.work, "data")
        os.makedirs(data)
        env = dict(os.environ, BERTH_ACCESS_KEY_ID=ACCESS_KEY, BERTH_SECRET_ACCESS_KEY=SECRET_KEY)
        out_path = os.path.join(self.work, "server.out")
        with open(out_path, "wb") as out, open(os.path.join(self.work, "server.err"), "wb") as err:
            self.proc = subprocess.Popen([self.binary, "server", "--listen", "127.0.0.1:0", "--data-dir", data,
                                          "--region", REGION, "--account-id", ACCOUNT, "--log-level", "warn"],
                                         stdout=out, stderr=err, env=env)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = open(out_path, errors="replace").read()
            marker = "listening on http://"
            if marker in text:
                self.host = text.split(marker, 1)[1].split()[0].strip()
                break
            if self.proc.poll() is not None:
                raise RuntimeError("berth server exited: " + open(os.path.join(self.work, "server.err")).read())
            time.sleep(0.05)
        else:
            raise RuntimeError("berth server did not report its address")
        status = http_status("http://%s/v2/" % self.host)
        if status not in (200, 401):
            raise RuntimeError("berth at %s answers GET /v2/ with %s: this build does not serve the registry"
                               % (self.host, status))
        self.password = self.aws("ecr", "get-login-password").strip()

    def prepare_repository(self, repo):
        self.aws("ecr", "create-repository", "--repository-name", repo)
        return "AWS:" + self.password

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def storage(self):
        return os.path.join(self.work, "data")


# --- measurements ------------------------------------------------------------

def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def skopeo_env(work):
    home = os.path.join(work, "home")
    tmp = os.path.join(work, "tmp")
    os.makedirs(home, exist_ok=True)
    os.makedirs(tmp, exist_ok=True)
    return {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": tmp, "NO_PROXY": "*", "no_proxy": "*",
            "REGISTRY_AUTH_FILE": os.path.join(home, "auth.json")}


def timed_skopeo(args, env, timeout, server_pid):
    cpu0, io0, scpu0 = children_cpu(), proc_io(server_pid), proc_cpu_seconds(server_pid)
    t0 = time.monotonic()
    out = subprocess.run([SKOPEO] + args, capture_output=True, text=True, env=env, timeout=timeout)
    seconds = time.monotonic() - t0
    if out.returncode != 0:
        raise RuntimeError("skopeo %s failed (%d): %s" % (" ".join(args), out.returncode, out.stderr.strip()))
    io1 = proc_io(server_pid)
    return {"seconds": seconds, "client_cpu": children_cpu() - cpu0,
            "server_cpu": proc_cpu_seconds(server_pid) - scpu0,
            "server_rchar": io1.get("rchar", 0) - io0.get("rchar", 0),
            "server_wchar": io1.get("wchar", 0) - io0.get("wchar", 0),
            "server_write_bytes": io1.get("write_bytes", 0) - io0.get("write_bytes", 0)}


def pulled_manifest(layout):
    with open(os.path.join(layout, "index.json")) as f:
        return json.load(f)["manifests"][0]["digest"]


class Attached:
    """A profiler attached to the server for one operation (perf record or strace -c)."""

    def __init__(self, kind, out_prefix):
        self.kind = kind
        self.out_prefix = out_prefix
        self.proc = None

    def start(self, pid, op):
        if self.kind == "perf":
            cmd = ["perf", "record", "-q", "-F", "499", "-g", "-p", str(pid), "-o", "%s-%s.perf" % (self.out_prefix, op)]
        else:
            cmd = ["strace", "-f", "-c", "-p", str(pid), "-o", "%s-%s.strace" % (self.out_prefix, op)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # let it attach to every thread before the first request

    def stop(self, op):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.kind == "perf":
            data = "%s-%s.perf" % (self.out_prefix, op)
            with open(data + ".txt", "w") as out:
                subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "dso,symbol",
                                "--percent-limit", "0.5", "-g", "none"], stdout=out, stderr=subprocess.DEVNULL,
                               timeout=300)
            os.unlink(data)


def run_target(target, rep, image, image_info, work, timeout, profiler=None):
    """Fresh server, fresh repository: push, then pull back; returns two records."""
    repo = "bench/big-r%d" % rep
    records = []
    try:
        target.start()
        creds = target.prepare_repository(repo)
        env = skopeo_env(work)
        ref = "docker://%s/%s:%s" % (target.host, repo, TAG)
        push = ["copy", "--dest-tls-verify=false"] + (["--dest-creds", creds] if creds else []) + \
               ["oci:%s:%s" % (image, TAG), ref]
        if profiler:
            profiler.start(target.pid, "push")
        r = timed_skopeo(push, env, timeout, target.pid)
        if profiler:
            profiler.stop("push")
        # skopeo reuses blobs it has seen anywhere on the same registry (cross-repository
        # mount from its blob info cache): a push that did not move the bytes is not a
        # push. wchar (bytes the server wrote with write/pwrite: its blob files) rather
        # than rchar, which does not count recvmsg (Berth's Asio sockets).
        r["uploaded_all"] = r["server_wchar"] >= image_info["blob_bytes"]
        records.append(dict(r, target=target.name, op="push", rep=rep))
        log("%s push r%d: %.2f s, server rchar %.0f MB wchar %.0f MB write_bytes %.0f MB%s" % (
            target.name, rep, r["seconds"], r["server_rchar"] / MB, r["server_wchar"] / MB, r["server_write_bytes"] / MB,
                                                         "" if r["uploaded_all"] else " (NOT ALL BYTES UPLOADED)"))
        out = os.path.join(work, "pull")
        pull = ["copy", "--src-tls-verify=false"] + (["--src-creds", creds] if creds else []) + \
               [ref, "oci:%s:%s" % (out, TAG)]
        if profiler:
            profiler.start(target.pid, "pull")
        r = timed_skopeo(pull, env, timeout, target.pid)
        if profiler:
            profiler.stop("pull")
        r["uploaded_all"] = pulled_manifest(out) == image_info["manifest"]
        records.append(dict(r, target=target.name, op="pull", rep=rep))
        log("%s pull r%d: %.2f s%s" % (target.name, rep, r["seconds"],
                                       "" if r["uploaded_all"] else " (MANIFEST DIGEST DIFFERS)"))
    finally:
        target.stop()
        shutil.rmtree(work, ignore_errors=True)
    return records


def disk_limits(work, size):
    """Sequential write + fsync, then an O_DIRECT read (cold: from the device, the
    page cache is neither used nor disturbed) and a buffered read (warm: the
    pages the write left in the cache). Same filesystem as the registries' storage."""
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "disk.bin")
    chunk = 4 * MiB
    pool = random.Random(1).randbytes(64 * MiB)
    n = size // chunk
    try:
        t0 = time.monotonic()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        for i in range(n):
            off = (i * chunk) % len(pool)
            os.write(fd, memoryview(pool)[off: off + chunk])
        os.fsync(fd)
        os.close(fd)
        write = time.monotonic() - t0

        buf = mmap.mmap(-1, chunk)  # page-aligned, as O_DIRECT needs
        t0 = time.monotonic()
        fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
        off = 0
        while True:
            got = os.preadv(fd, [buf], off)
            if got <= 0:
                break
            off += got
        os.close(fd)
        cold = time.monotonic() - t0

        t0 = time.monotonic()
        with open(path, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass
        warm = time.monotonic() - t0
    finally:
        if os.path.exists(path):
            os.unlink(path)
    return {"write_fsync": write, "read_cold": cold, "read_warm": warm, "bytes": n * chunk}


# --- report ------------------------------------------------------------------

def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


def machine_notes(work):
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    fs = subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "--target", work], capture_output=True,
                        text=True).stdout.strip()
    dev = subprocess.run(["df", "--output=source", work], capture_output=True, text=True).stdout.split()[-1]
    return {"cpus": os.cpu_count(), "model": model, "kernel": os.uname().release, "fs": fs, "device": dev}


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def report(res):
    size = res["image"]["blob_bytes"]
    disk = res["disk"]
    lines = []
    m = res["machine"]
    lines.append("Run %s UTC, `bench/registry/run.sh --size-mib %d --reps %d` (%d layers, %.0f MB of blobs), "
                 "%d s: %s CPUs, %s, kernel %s, work dir on %s (%s); load average before %s, after %s."
                 % (res["started"], res["size_mib"], res["reps"], res["image"]["layers"], size / MB,
                    res["elapsed"], m["cpus"], m["model"], m["kernel"], m["device"], m["fs"],
                    res["load_before"], res["load_after"]))
    lines.append("")
    lines.append("Versions: %s; %s; berth %s." % (res["versions"]["skopeo"], res["versions"]["docker-registry"],
                                                  res["versions"]["berth"]))
    lines.append("")
    lines.append("| path | runs | median s | min s | max s | median MB/s | server CPU s | skopeo CPU s "
                 "| vs docker-registry | vs disk write+fsync |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    disk_mbs = {}
    for key, label in (("write_fsync", "disk: sequential write + fsync"),
                       ("read_cold", "disk: sequential read, O_DIRECT (cold)"),
                       ("read_warm", "disk: sequential read, page cache (warm)")):
        xs = [d[key] for d in disk]
        b = disk[0]["bytes"]
        disk_mbs[key] = b / med(xs) / MB
        lines.append("| %s | %d | %.2f | %.2f | %.2f | %.0f | - | - | - | %s |"
                     % (label, len(xs), med(xs), min(xs), max(xs), disk_mbs[key],
                        "1.00" if key == "write_fsync" else "%.2f" % (disk_mbs[key] / disk_mbs["write_fsync"])))
    for op in ("push", "pull"):
        peer = None
        for target in res["targets"]:
            rs = [r for r in res["runs"] if r["target"] == target and r["op"] == op]
            if not rs:
                lines.append("| %s %s | 0 | - | - | - | - | - | - | - | - |" % (target, op))
                continue
            xs = [r["seconds"] for r in rs]
            mbs = size / med(xs) / MB
            if target == "docker-registry":
                peer = mbs
            flag = "" if all(r["uploaded_all"] for r in rs) else " (!)"
            lines.append("| %s %s%s | %d | %.2f | %.2f | %.2f | %.0f | %.2f | %.2f | %s | %.2f |"
                         % (target, op, flag, len(xs), med(xs), min(xs), max(xs), mbs,
                            med([r["server_cpu"] for r in rs]), med([r["client_cpu"] for r in rs]),
                            "%.2f" % (mbs / peer) if peer else "-", mbs / disk_mbs["write_fsync"]))
    lines.append("")
    failed = res.get("failures") or []
    for f in failed:
        lines.append("- not measured: %s" % f)
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--berth", default=os.path.join(ROOT, "build", "berth"))
    ap.add_argument("--targets", default="docker-registry,berth")
    ap.add_argument("--json")
    ap.add_argument("--profile", help="after the timed runs, one push + pull per target under perf record "
                    "and one under strace -c, attached to the server; reports into this directory")
    args = ap.parse_args()
    # run.sh's trap sends SIGTERM: unwind so every `finally` stops its server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    targets = [t for t in args.targets.split(",") if t]
    t_start = time.monotonic()
    res = {"started": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "size_mib": args.size_mib, "reps": args.reps,
           "targets": targets, "load_before": loadavg(), "machine": machine_notes(args.work), "runs": [],
           "failures": [],
           "versions": {"skopeo": version([SKOPEO, "--version"]),
                        "docker-registry": "docker-registry " + version(["/usr/bin/docker-registry", "--version"]).split()[-1],
                        "berth": version(["git", "-C", ROOT, "log", "-1", "--format=%h (%cs)"])}}
    # Generous: 60 s plus 8 MB/s; a run slower than that is broken, not slow.
    timeout = 60 + args.size_mib * MiB / (8 * MB)

    image = os.path.join(args.work, "image")
    log("writing a %d MiB, %d-layer image" % (args.size_mib, args.layers))
    out = subprocess.run([sys.executable, os.path.join(HERE, "make_image.py"), image, "--size-mib",
                          str(args.size_mib), "--layers", str(args.layers), "--tag", TAG],
                         capture_output=True, text=True, check=True, timeout=timeout)
    res["image"] = json.loads(out.stdout)

    log("disk limits")
    res["disk"] = [disk_limits(os.path.join(args.work, "disk"), args.size_mib * MiB) for _ in range(args.reps)]
    for d in res["disk"]:
        log("disk: write+fsync %.2f s, read cold %.2f s, warm %.2f s" % (d["write_fsync"], d["read_cold"],
                                                                         d["read_warm"]))

    available = list(targets)
    for rep in range(1, args.reps + 1):
        # Alternate who goes first, so neither always finds the other's dirty pages
        # still being written back.
        order = available if rep % 2 else list(reversed(available))
        for name in order:
            work = os.path.join(args.work, "%s-r%d" % (name, rep))
            os.makedirs(work)
            target = DockerRegistry(work) if name == "docker-registry" else Berth(work, args.berth)
            try:
                res["runs"] += run_target(target, rep, image, res["image"], work, timeout)
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                log("%s r%d failed: %s" % (name, rep, e))
                res["failures"].append("%s (rep %d): %s" % (name, rep, str(e).splitlines()[0] if str(e) else e))
                if rep == 1 and name == "berth":
                    available = [t for t in available if t != name]  # no point retrying a build without it
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
        for name in available:
            for kind in ("perf", "strace"):
                work = os.path.join(args.work, "%s-%s" % (name, kind))
                os.makedirs(work)
                target = DockerRegistry(work) if name == "docker-registry" else Berth(work, args.berth)
                try:
                    for r in run_target(target, 0, image, res["image"], work, timeout * 4,
                                        Attached(kind, os.path.join(args.profile, name))):
                        log("profiled (%s) %s %s: %.2f s wall" % (kind, name, r["op"], r["seconds"]))
                except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                    log("profiling %s failed: %s" % (name, e))
    res["load_after"] = loadavg()
    res["elapsed"] = round(time.monotonic() - t_start)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    print(report(res))
    return 0 if not res["failures"] else 1


if __name__ == "__main__":
    sys.exit(main())
