"""Helpers for integration tests that run real containers through `berth agent`.

They need root, runc, conmon, Debian's docker-registry, skopeo and umoci (the
tests skip with the missing piece named otherwise). Everything they start is
stopped by PID, and everything an agent leaves behind (runc containers, conmon
processes, overlay mounts, cgroups) is removed by `cleanup_agent_dir`, also when
a test fails half-way.
"""
import gzip
import hashlib
import http.client
import io
import json
import os
import shlex
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import unittest

from berth_harness import ACCESS_KEY, BERTH_BIN, REGION, SECRET_KEY

IMAGES_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "images"))
RUNC = "/usr/sbin/runc"
REQUIRED_TOOLS = ("/usr/sbin/runc", "/usr/bin/conmon", "/usr/bin/docker-registry", "/usr/bin/skopeo",
                  "/usr/bin/umoci", "/bin/busybox")

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def skip_unless_real_runtime():
    """Raises SkipTest naming what is missing (root or a tool)."""
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root to run containers with runc")
    missing = [t for t in REQUIRED_TOOLS if not os.path.exists(t)]
    if missing:
        raise unittest.SkipTest("missing: " + ", ".join(missing))
    if not os.path.exists(BERTH_BIN):
        raise unittest.SkipTest("no berth binary at %s (set BERTH_BIN)" % BERTH_BIN)


def wait_for(fetch, predicate, timeout, interval=0.1, what="condition"):
    """Calls fetch() until predicate(value) holds; returns the value. Bounded."""
    deadline = time.time() + timeout
    value = None
    while True:
        value = fetch()
        if predicate(value):
            return value
        if time.time() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s; last value:\n%s"
                                 % (timeout, what, json.dumps(value, default=str, indent=1)[:6000]))
        time.sleep(interval)


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- registry ------------------------------------------------------------------
class Registry:
    """Debian's docker-registry on a free loopback port (tests/images/start_registry.sh)."""

    def __init__(self, work_dir):
        self.work = work_dir
        self.pid = None
        self.port = None

    def start(self):
        proc = subprocess.run([os.path.join(IMAGES_DIR, "start_registry.sh"), self.work],
                              capture_output=True, text=True, timeout=60)
        pid_file = os.path.join(self.work, "registry.pid")
        if os.path.exists(pid_file):
            with open(pid_file) as f:
                self.pid = int(f.read().strip())
        if proc.returncode != 0:
            self.stop()
            raise RuntimeError("start_registry.sh failed: %s%s" % (proc.stdout, proc.stderr))
        self.port = int(proc.stdout.strip().splitlines()[-1])
        return self

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    def stop(self):
        if self.pid:
            stop_pid(self.pid)
            self.pid = None

    def push_layout(self, layout, tag, repo_tag):
        """skopeo copy of an OCI layout's tag to HOST/repo_tag; returns the image reference."""
        ref = "%s/%s" % (self.host, repo_tag)
        proc = subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", "oci:%s:%s" % (layout, tag),
                               "docker://" + ref], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError("skopeo copy failed: " + proc.stderr)
        return ref

    def _request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), resp.read()
        finally:
            conn.close()

    def push_blob(self, repo, data):
        """Monolithic upload over the distribution API (for content skopeo would not produce)."""
        status, headers, body = self._request("POST", "/v2/%s/blobs/uploads/" % repo)
        if status != 202:
            raise RuntimeError("blob upload start: %d %s" % (status, body))
        location = headers["location"]
        if location.startswith("http"):
            location = "/" + location.split("/", 3)[3]
        digest = sha256(data)
        sep = "&" if "?" in location else "?"
        status, _, body = self._request("PUT", location + sep + "digest=" + digest.replace(":", "%3A"), body=data,
                                        headers={"Content-Type": "application/octet-stream"})
        if status != 201:
            raise RuntimeError("blob upload: %d %s" % (status, body))
        return digest

    def push_manifest(self, repo, tag, manifest, media_type=OCI_MANIFEST):
        data = json.dumps(manifest).encode()
        status, _, body = self._request("PUT", "/v2/%s/manifests/%s" % (repo, tag), body=data,
                                        headers={"Content-Type": media_type})
        if status != 201:
            raise RuntimeError("manifest upload: %d %s" % (status, body))
        return sha256(data)

    def push_single_layer_image(self, repo, tag, layer_tar_gz, cmd=("sh",)):
        """A linux/amd64 OCI image with one gzip layer; correct digests, sizes and diff_ids."""
        layer_digest = self.push_blob(repo, layer_tar_gz)
        diff_id = sha256(gzip.decompress(layer_tar_gz))
        config = {"architecture": "amd64", "os": "linux",
                  "config": {"Cmd": list(cmd), "Env": ["PATH=/bin"]},
                  "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
        config_bytes = json.dumps(config).encode()
        config_digest = self.push_blob(repo, config_bytes)
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config_bytes)},
                    "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": layer_digest, "size": len(layer_tar_gz)}]}
        self.push_manifest(repo, tag, manifest)
        return {"ref": "%s/%s:%s" % (self.host, repo, tag), "layer": layer_digest, "config": config_digest}

    def blob_data_path(self, digest):
        algo, hexd = digest.split(":", 1)
        return os.path.join(self.work, "storage", "docker", "registry", "v2", "blobs", algo, hexd[:2], hexd, "data")


def build_busybox_layout(out_dir, tag="busybox"):
    proc = subprocess.run([os.path.join(IMAGES_DIR, "build_busybox_image.sh"), out_dir, tag],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError("build_busybox_image.sh failed: %s%s" % (proc.stdout, proc.stderr))
    return out_dir


def tar_gz(entries):
    """entries: list of (TarInfo, bytes or None). Returns gzip'd tar bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for info, data in entries:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return gzip.compress(raw.getvalue(), mtime=0)


def tar_file(name, data, mode=0o644):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 1700000000
    return info, data


def tar_dir(name):
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info, None


def tar_symlink(name, target):
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info, None


def tar_chardev(name, major, minor):
    info = tarfile.TarInfo(name)
    info.type = tarfile.CHRTYPE
    info.devmajor, info.devminor = major, minor
    info.mode = 0o666
    return info, None


# --- processes -----------------------------------------------------------------
def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie counts as gone.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop_pid(pid, timeout=10):
    """SIGTERM, then SIGKILL after `timeout`, one PID only."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + timeout
    while time.time() < deadline and pid_alive(pid):
        time.sleep(0.05)
    if pid_alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def zombie_children(parent_pid):
    """PIDs of exited-but-unreaped children of `parent_pid`."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == parent_pid:
            out.append(int(entry))
    return out


_network_counter = 0


def agent_network_args(seed=None):
    """Network flags that give one test agent its own bridges, subnets and
    metadata port, so agents started by tests running at the same time never
    share IP pools or iptables state. Returns (args, network) where network
    names what cleanup_agent_network removes."""
    global _network_counter
    _network_counter += 1
    n = (os.getpid() * 97 + _network_counter * 13 + (seed or 0)) % 37500
    bridge, vpc_bridge = "bbr%05d" % n, "bvp%05d" % n
    octet2, octet3 = 100 + (n // 250) % 150, n % 250
    bridge_subnet = "10.%d.%d.0/24" % (octet2, octet3)
    vpc_subnet = "172.%d.%d.0/24" % (16 + (n // 250) % 16, n % 250)
    from berth_harness import free_port
    args = ["--bridge-name", bridge, "--bridge-subnet", bridge_subnet, "--awsvpc-bridge-name", vpc_bridge,
            "--awsvpc-subnet", vpc_subnet, "--metadata-port", str(free_port())]
    return args, {"bridges": [bridge, vpc_bridge], "subnets": [bridge_subnet, vpc_subnet]}


def _names_network(rule, bridge):
    """Whether an `iptables -S` line names the CNI network "berth-<bridge>"
    (its comment quotes are backslash-escaped in that output)."""
    return '\\"berth-%s\\"' % bridge in rule or '"berth-%s"' % bridge in rule


def cleanup_agent_network(network):
    """Removes the bridges a test agent made and the iptables state it left
    (an agent stopped or killed before it tore a task's network down): the
    portmap DNAT chains of its networks (found by the "berth-<bridge>" network
    name in their jump rule's comment) and any rule naming its subnets."""
    problems = []
    bridges = network.get("bridges", [])
    prefixes = [sn.rsplit(".", 1)[0] + "." for sn in network.get("subnets", [])]  # "10.1.2." of 10.1.2.0/24
    nat = subprocess.run(["iptables", "-t", "nat", "-S"], capture_output=True, text=True, timeout=30).stdout
    for line in nat.splitlines():
        if line.startswith("-A CNI-HOSTPORT-DNAT ") and any(_names_network(line, b) for b in bridges):
            chain = line.split(" -j ")[-1].strip()
            subprocess.run(["iptables", "-t", "nat", "-D"] + shlex.split(line)[1:], capture_output=True, timeout=30)
            if chain.startswith("CNI-DN-"):
                subprocess.run(["iptables", "-t", "nat", "-F", chain], capture_output=True, timeout=30)
                subprocess.run(["iptables", "-t", "nat", "-X", chain], capture_output=True, timeout=30)
    for table in ("nat", "filter"):
        out = subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True, timeout=30).stdout
        for line in out.splitlines():
            if line.startswith("-A ") and any(p in line for p in prefixes):
                subprocess.run(["iptables", "-t", table, "-D"] + shlex.split(line)[1:], capture_output=True, timeout=30)
    for bridge in bridges:
        if os.path.exists("/sys/class/net/" + bridge):
            subprocess.run(["ip", "link", "del", bridge], capture_output=True, timeout=30)
            if os.path.exists("/sys/class/net/" + bridge):
                problems.append("bridge left: " + bridge)
    left = [l for l in subprocess.run(["iptables", "-t", "nat", "-S"], capture_output=True, text=True,
                                      timeout=30).stdout.splitlines()
            if any(_names_network(l, b) for b in bridges) or any(p in l for p in prefixes)]
    if left:
        problems.append("iptables rules left: %s" % left)
    return problems


class AgentProcess:
    """One `berth agent` with the real runtime (conmon + runc, overlayfs), on
    its own bridges and subnets (agent_network_args)."""

    def __init__(self, endpoint, cluster, data_dir, extra_args=(), command_prefix=()):
        self.endpoint = endpoint
        # Run before the agent and exec it (e.g. entering a network namespace), so
        # the PID started is the agent's own.
        self.command_prefix = list(command_prefix)
        self.cluster = cluster
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.network = {}
        if "--bridge-name" not in self.extra_args:
            net_args, self.network = agent_network_args()
            self.extra_args += net_args
        self.proc = None
        self.log_path = os.path.join(os.path.dirname(data_dir.rstrip("/")),
                                     os.path.basename(data_dir.rstrip("/")) + ".agent.log")

    def start(self, timeout=30):
        env = dict(os.environ)
        env.update({"BERTH_ACCESS_KEY_ID": ACCESS_KEY, "BERTH_SECRET_ACCESS_KEY": SECRET_KEY})
        args = self.command_prefix + [BERTH_BIN, "agent", "--server", self.endpoint, "--cluster", self.cluster,
                "--data-dir", self.data_dir, "--region", REGION] + self.extra_args
        # A restart appends to the same log: only this start's lines count.
        start_offset = len(self.log())
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        finally:
            log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if "berth agent running" in self.log()[start_offset:]:
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("berth agent did not start; log:\n" + self.log()[-4000:])

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        """Crash the agent (SIGKILL to its PID only; conmon and containers live on)."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout=15):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # --- what the agent left on the node ---------------------------------
    @property
    def runc_root(self):
        return os.path.join(self.data_dir, "runtime", "runc")

    def runc_state(self, container_id):
        """runc's view of a container (dict) or None if runc does not know it."""
        proc = subprocess.run([RUNC, "--root", self.runc_root, "state", container_id],
                              capture_output=True, text=True, timeout=30)
        return json.loads(proc.stdout) if proc.returncode == 0 else None

    def runc_list(self):
        if not os.path.isdir(self.runc_root):
            return []
        proc = subprocess.run([RUNC, "--root", self.runc_root, "list", "--format", "json"],
                              capture_output=True, text=True, timeout=30)
        if proc.returncode != 0 or not proc.stdout.strip():
            return []
        return json.loads(proc.stdout) or []


def mounts_under(path):
    """Mount points at or below `path`, deepest first."""
    path = os.path.realpath(path).rstrip("/")
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == path or mp.startswith(path + "/"):
                out.append(mp)
    return sorted(set(out), key=lambda p: -p.count("/"))


def task_ids_in(data_dir):
    ids = set()
    tasks_dir = os.path.join(data_dir, "tasks")
    if os.path.isdir(tasks_dir):
        ids.update(os.listdir(tasks_dir))
    try:
        with open(os.path.join(data_dir, "agent-state.json")) as f:
            state = json.load(f)
        for arn in (state.get("tasks") or {}):
            ids.add(arn.rsplit("/", 1)[-1])
    except (OSError, ValueError, AttributeError):
        pass
    return ids


def cgroup_dirs_for_task(task_id):
    dirs = []
    root = "/sys/fs/cgroup"
    if not os.path.isdir(root):
        return dirs
    candidates = [os.path.join(root, "berth", task_id)]
    for ctrl in os.listdir(root):
        candidates.append(os.path.join(root, ctrl, "berth", task_id))
    for c in candidates:
        if os.path.isdir(c):
            dirs.append(c)
    return dirs


def remove_cgroup_tree(path):
    """rmdir a cgroup and its children, deepest first (cgroupfs only allows rmdir)."""
    for dirpath, dirnames, _ in sorted(os.walk(path), key=lambda t: -t[0].count("/")):
        try:
            os.rmdir(dirpath)
        except OSError:
            pass


def cleanup_agent_dir(data_dir, remove=True):
    """Removes every trace of an agent's containers, then (optionally) the dir.

    Order: kill containers (runc), kill their conmon (by the PID it recorded),
    delete runc state, unmount overlays, rmdir cgroups, rm -rf. Returns a list of
    problems (strings) left over; an empty list means the node is clean.
    """
    problems = []
    runc_root = os.path.join(data_dir, "runtime", "runc")
    if os.path.isdir(runc_root):
        proc = subprocess.run([RUNC, "--root", runc_root, "list", "-q"], capture_output=True, text=True, timeout=30)
        for cid in proc.stdout.split():
            subprocess.run([RUNC, "--root", runc_root, "kill", cid, "KILL"], capture_output=True, timeout=30)
            subprocess.run([RUNC, "--root", runc_root, "delete", "-f", cid], capture_output=True, timeout=30)
    persist = os.path.join(data_dir, "runtime", "persist")
    if os.path.isdir(persist):
        for cid in os.listdir(persist):
            pid_file = os.path.join(persist, cid, "conmon.pid")
            try:
                with open(pid_file) as f:
                    pid = int(f.read().strip())
            except (OSError, ValueError):
                continue
            if pid_alive(pid) and _is_conmon(pid):
                stop_pid(pid, timeout=5)
    for mp in mounts_under(data_dir):
        if subprocess.run(["umount", mp], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", mp], capture_output=True)
    left = mounts_under(data_dir)
    if left:
        problems.append("mounts left: %s" % left)
    for task_id in task_ids_in(data_dir):
        for cg in cgroup_dirs_for_task(task_id):
            remove_cgroup_tree(cg)
            if os.path.isdir(cg):
                problems.append("cgroup left: " + cg)
    if remove and not left:
        shutil.rmtree(data_dir, ignore_errors=True)
    return problems


def cleanup_agent(agent):
    """cleanup_agent_dir + the agent's bridges and leftover iptables rules."""
    return cleanup_agent_dir(agent.data_dir) + cleanup_agent_network(agent.network)


def _is_conmon(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip() == "conmon"
    except OSError:
        return False


class TempRoot:
    """A temp dir removed at the end (after cleanup_agent_dir for agent dirs inside)."""

    def __init__(self, prefix="berth-agent-it-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def sub(self, name):
        p = os.path.join(self.path, name)
        os.makedirs(p, exist_ok=True)
        return p

    def remove(self):
        if not mounts_under(self.path):
            shutil.rmtree(self.path, ignore_errors=True)
