"""Several `berth agent` nodes on one machine, each in its own network namespace.

Topology (made and removed by the harness; nothing else on the machine is used):

    root namespace                          namespace berth-mn-<run>-<i>
    +---------------------------+           +-------------------------------+
    | bridge bmn<run>           | veth pair | vmn<run>n<i>  10.250.K.(10+i) |
    |   10.250.K.1/24  <--------+-----------+-> berth agent --server        |
    |   berth server listens    | vmn<run>h<i>   http://10.250.K.1:PORT     |
    |   here (and only here)    |           | lo up; no default route       |
    +---------------------------+           +-------------------------------+

Addresses come from 10.250.0.0/16 (LINK_PREFIX), one /24 per run: K is picked
from the run's suffix, skipping any /24 the root namespace already has an
address or route in. The agent test harness hands out 10.100-249.x.0/24 and
172.16-31.x.0/24 for task networks, so the ranges never meet.

Traffic: a node's only route is the link's /24, so an agent can reach the
server's address on the test-made bridge and nothing off the machine. The
harness adds no default route, no forwarding and no NAT; the test process
talks to the server on the same bridge address (a local address of the root
namespace, so it never leaves the machine either).

How an agent is started: `nsenter --net=/run/netns/NS` (the agent's network
namespace), then `unshare --mount --propagation slave` so that a sysfs of the
node's namespace can be mounted over /sys (what `ip netns exec` does: the
agent and CNI check /sys/class/net for their bridges), with the host's cgroup
mounts moved back underneath (`ip netns exec` would lose them, and runc needs
them). The chain execs, so the PID started is the agent's own. Consequence:
the agent's overlay mounts live in that private mount namespace, invisible in
the root one, and go away with the last process in it (agent, conmon,
containers).

Reuse (issue #7): `kill_agent(i)` (SIGKILL), `cut_off(i)` / `reconnect(i)`
(host end of the node's veth down/up: a silent partition, no RST), and
`start_agent(i)` to bring a killed agent back on the same data dir.

Cleanup (`cleanup()`, also after a failed start): agents stopped by PID, each
node's containers killed and removed (runc + conmon by PID), any process still
inside a node's namespace killed by PID, namespaces, veths and the bridge
deleted, the server stopped; it returns what it could not remove.
"""
import base64
import json
import os
import shlex
import signal
import subprocess
import tempfile
import time
import unittest

from agent_harness import (AgentProcess, TempRoot, agent_network_args, build_busybox_layout, cleanup_agent_dir,
                           pid_alive, stop_pid, wait_for)
from berth_harness import BerthServer

LINK_PREFIX = "10.250"  # 10.250.K.0/24 per run; see the module docstring
SKOPEO = "/usr/bin/skopeo"
REQUIRED_TOOLS = ("/usr/bin/nsenter", "/usr/bin/unshare", "/usr/sbin/ip", "/usr/bin/ss", SKOPEO)
# One record per live run: what it made and which process owns it, so a run
# killed before its cleanup (a ctest timeout) is swept by the next one.
RUNS_DIR = "/run/berth-multinode"

# Runs inside the node's fresh mount namespace, then execs the agent ("$@").
# Keeps the host's cgroup tree (moved aside, then back over the new sysfs).
_ENTER_NODE = r'''set -e
keep="$1"; shift
mount --rbind /sys/fs/cgroup "$keep"
mount -t sysfs sysfs /sys
mount --move "$keep" /sys/fs/cgroup
rmdir "$keep" 2>/dev/null || true
exec "$@"
'''


def run(args, check=True, timeout=30):
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(args), proc.returncode, proc.stderr.strip()))
    return proc


def netns_inode(path):
    """The inode naming a network namespace (a /run/netns file or /proc/PID/ns/net)."""
    return os.stat(path).st_ino


def pids_in_netns(inode):
    """Every process whose network namespace is `inode`."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat("/proc/%s/ns/net" % entry).st_ino == inode:
                out.append(int(entry))
        except OSError:
            continue
    return out


def mounts_in(pid, under):
    """Mount points at or below `under` as process `pid` sees them (its mount namespace)."""
    under = os.path.realpath(under).rstrip("/")
    out = []
    try:
        with open("/proc/%d/mountinfo" % pid) as f:
            for line in f:
                mp = line.split()[4].replace("\\040", " ")
                if mp == under or mp.startswith(under + "/"):
                    out.append(mp)
    except OSError:
        pass
    return out


class NodeSpec:
    """What one node registers as: its availability zone and custom attributes."""

    def __init__(self, zone, attributes=None, cpu=2048, memory=1024, extra_args=()):
        self.zone = zone
        self.attributes = dict(attributes or {})
        self.cpu = cpu
        self.memory = memory
        self.extra_args = list(extra_args)  # more `berth agent` flags


class Node:
    """One namespace, its veth pair, its address and its agent."""

    def __init__(self, index, spec, netns, host_veth, node_veth, address, data_dir):
        self.index = index
        self.spec = spec
        self.netns = netns
        self.host_veth = host_veth
        self.node_veth = node_veth
        self.address = address
        self.data_dir = data_dir
        self.agent = None
        self.network = {}  # agent_network_args' bridges/subnets (inside the namespace)
        self.net_args = []
        self.net_inode = None

    @property
    def netns_path(self):
        return "/run/netns/" + self.netns

    def instance_arn(self):
        """The container instance ARN the agent recorded after registering (None before)."""
        try:
            with open(os.path.join(self.data_dir, "agent-state.json")) as f:
                return json.load(f).get("containerInstanceArn") or None
        except (OSError, ValueError):
            return None


class MultiNodeCluster:
    """A server on a test-made bridge and one agent per NodeSpec, each in its own
    network namespace. Use as a context manager, or start() / cleanup()."""

    def __init__(self, specs, cluster=None, name="multinode", server_args=()):
        self.specs = list(specs)
        self.server_args = list(server_args)  # more `berth server` flags
        # Per-run suffix: names of namespaces, links and the cluster never meet
        # another run's (other engineers run tests at the same time).
        seed = os.getpid() * 7919 + int(time.time() * 1000)
        self.run_id = "%05d" % (seed % 100000)
        while (os.path.exists("/sys/class/net/bmn" + self.run_id)
               or os.path.exists("/run/netns/berth-mn-%s-0" % self.run_id)
               or os.path.exists(os.path.join(RUNS_DIR, self.run_id + ".json"))):
            seed += 1
            self.run_id = "%05d" % (seed % 100000)
        self.cluster = cluster or "%s-%s" % (name, self.run_id)
        self.root = TempRoot(prefix="berth-%s-" % name)
        self.bridge = "bmn" + self.run_id
        self.subnet_octet = None
        self.server = None
        self.nodes = []
        self._made_netns = []
        self._made_links = []

    # --- setup ---------------------------------------------------------------------
    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        problems = self.cleanup()
        if problems and exc[0] is None:
            raise AssertionError("multi-node cleanup left: %s" % problems)
        return False

    @property
    def server_address(self):
        return "%s.%d.1" % (LINK_PREFIX, self.subnet_octet)

    def start(self, agent_timeout=30):
        sweep_stale_runs()
        try:
            self._record()
            self._make_bridge()
            for i, spec in enumerate(self.specs):
                self.nodes.append(self._make_node(i, spec))
            self._record()  # with the node dirs, before any agent starts
            self.server = BerthServer(data_dir=self.root.sub("server"), extra_args=self.server_args,
                                      listen="%s:0" % self.server_address)
            self.server.start()
            self._record()  # with the server's PID
            for node in self.nodes:
                self.start_agent(node.index, timeout=agent_timeout)
            for node in self.nodes:
                wait_for(node.instance_arn, lambda a: a is not None, 20,
                         what="node %d to register (%s)" % (node.index, node.data_dir))
        except BaseException:
            self.cleanup()
            raise
        return self

    def _pick_subnet(self):
        """A 10.250.K.0/24 with no address or route in the root namespace yet."""
        used = run(["ip", "-4", "-o", "addr", "show"]).stdout + run(["ip", "-4", "route", "show"]).stdout
        start = int(self.run_id) % 250
        for step in range(250):
            k = (start + step) % 250 + 1
            if ("%s.%d." % (LINK_PREFIX, k)) not in used:
                return k
        raise RuntimeError("no free /24 in %s.0.0/16" % LINK_PREFIX)

    def _make_bridge(self):
        self.subnet_octet = self._pick_subnet()
        _must_not_exist(links=[self.bridge])
        self._made_links.append(self.bridge)
        self._record()
        run(["ip", "link", "add", self.bridge, "type", "bridge", "stp_state", "0", "forward_delay", "0"])
        _quiet_ipv6(self.bridge)
        run(["ip", "addr", "add", self.server_address + "/24", "dev", self.bridge])
        run(["ip", "link", "set", self.bridge, "up"])

    def _make_node(self, i, spec):
        netns = "berth-mn-%s-%d" % (self.run_id, i)
        host_veth, node_veth = "vmn%sh%d" % (self.run_id, i), "vmn%sn%d" % (self.run_id, i)
        address = "%s.%d.%d" % (LINK_PREFIX, self.subnet_octet, 10 + i)
        node = Node(i, spec, netns, host_veth, node_veth, address, self.root.sub("node%d" % i))
        _must_not_exist(links=[host_veth], namespaces=[netns])  # cleanup removes what it recorded
        self._made_netns.append(netns)
        self._made_links.append(host_veth)
        self._record()
        run(["ip", "netns", "add", netns])
        node.net_inode = netns_inode(node.netns_path)
        run(["ip", "-n", netns, "link", "set", "lo", "up"])
        run(["ip", "link", "add", host_veth, "type", "veth", "peer", "name", node_veth, "netns", netns])
        _quiet_ipv6(host_veth)
        run(["ip", "link", "set", host_veth, "master", self.bridge, "up"])
        run(["ip", "-n", netns, "addr", "add", address + "/24", "dev", node_veth])
        run(["ip", "-n", netns, "link", "set", node_veth, "up"])
        default = run(["ip", "-n", netns, "route", "show", "default"]).stdout.strip()
        if default:
            raise RuntimeError("namespace %s has a default route: %s" % (netns, default))
        return node

    def agent_command_prefix(self, node):
        keep = tempfile.mkdtemp(prefix=".cgroup-keep-", dir=node.data_dir)
        return ["/usr/bin/nsenter", "--net=" + node.netns_path, "--",
                "/usr/bin/unshare", "--mount", "--propagation", "slave", "--",
                "/bin/sh", "-c", _ENTER_NODE, "enter-node", keep]

    def start_agent(self, index, timeout=30):
        """Starts (or restarts, on the same data dir) node `index`'s agent."""
        node = self.nodes[index]
        if node.agent is not None and node.agent.alive():
            raise RuntimeError("node %d's agent is still running (pid %d)" % (index, node.agent.pid))
        if not node.network:
            net_args, node.network = agent_network_args(seed=index)
            node.net_args = net_args
        spec = node.spec
        args = ["--availability-zone", spec.zone, "--cpu", str(spec.cpu), "--memory", str(spec.memory)]
        for key, value in sorted(spec.attributes.items()):
            args += ["--attribute", "%s=%s" % (key, value)]
        args += spec.extra_args
        agent = AgentProcess("http://%s:%d" % (self.server_address, self.server.port), self.cluster,
                             node.data_dir, args + node.net_args, command_prefix=self.agent_command_prefix(node))
        agent.network = node.network
        node.agent = agent
        agent.start(timeout=timeout)
        in_ns = netns_inode("/proc/%d/ns/net" % agent.pid)
        if in_ns != node.net_inode:
            raise RuntimeError("agent %d runs outside its namespace %s" % (index, node.netns))
        return agent

    # --- failure injection (issue #7) ---------------------------------------------------
    def kill_agent(self, index):
        """SIGKILL to the agent's PID only: its conmon and containers live on."""
        self.nodes[index].agent.kill9()

    def cut_off(self, index):
        """The node loses its link to the server: packets are dropped, nothing answers."""
        run(["ip", "link", "set", self.nodes[index].host_veth, "down"])

    def reconnect(self, index, timeout=5):
        """Undoes cut_off; returns once the link carries packets again (both
        ends have carrier and the bridge port forwards), so a connection the
        caller opens right after does not lose its first SYN."""
        node = self.nodes[index]
        run(["ip", "link", "set", node.host_veth, "up"])
        # Addresses that failed to resolve while cut off would hold back the
        # first packets for a second: forget them on both ends.
        run(["ip", "-n", node.netns, "neigh", "flush", "dev", node.node_veth], check=False)
        run(["ip", "neigh", "flush", "to", node.address, "dev", self.bridge], check=False)
        wait_for(lambda: self.link_usable(node), bool, timeout, interval=0.02,
                 what="the link of node %d to come back" % index)

    def link_usable(self, node):
        def read(name):
            try:
                with open("/sys/class/net/%s/%s" % (node.host_veth, name)) as f:
                    return f.read().strip()
            except OSError:
                return ""
        node_side = run(["ip", "-n", node.netns, "-o", "link", "show", node.node_veth], check=False).stdout
        forwarding = read("operstate") == "up" and read("brport/state") == "3"  # 3: BR_STATE_FORWARDING
        return forwarding and "LOWER_UP" in node_side and " state UP " in node_side

    # --- images ---------------------------------------------------------------------
    def push_busybox(self, repository="busybox-mn", tag="latest"):
        """Builds the busybox test image, pushes it to the server's ECR registry
        with skopeo (an ECR login), and returns its repositoryUri:tag, which the
        agents pull from the server's address."""
        layout = build_busybox_layout(os.path.join(self.root.path, "busybox-layout"))
        ecr = self.server.boto3_client("ecr")
        uri = ecr.create_repository(repositoryName=repository)["repository"]["repositoryUri"]
        token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        creds = base64.b64decode(token).decode()  # "AWS:<password>"
        home = self.root.sub("skopeo-home")
        env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": home, "XDG_RUNTIME_DIR": home,
               "REGISTRY_AUTH_FILE": os.path.join(home, "auth.json")}
        dest = "docker://%s:%d/%s:%s" % (self.server_address, self.server.port, repository, tag)
        proc = subprocess.run([SKOPEO, "copy", "-q", "--dest-tls-verify=false", "--dest-creds", creds,
                               "oci:%s:busybox" % layout, dest], capture_output=True, text=True, env=env,
                              timeout=120)
        if proc.returncode != 0:
            raise RuntimeError("skopeo push to %s failed: %s" % (dest, proc.stderr))
        return "%s:%s" % (uri, tag)

    # --- what runs where -------------------------------------------------------------
    def node_of_instance(self, instance_arn):
        for node in self.nodes:
            if node.instance_arn() == instance_arn:
                return node
        raise AssertionError("no node registered as %s" % instance_arn)

    # --- cleanup ---------------------------------------------------------------------
    def _record(self):
        """Writes what this run made (before making it) for sweep_stale_runs."""
        os.makedirs(RUNS_DIR, exist_ok=True)
        record = {"pid": os.getpid(), "started": _start_time(os.getpid()), "root": self.root.path,
                  "netns": self._made_netns, "links": self._made_links,
                  "nodeDirs": [n.data_dir for n in self.nodes]}
        if self.server is not None and self.server.proc is not None:
            record["server"] = {"pid": self.server.proc.pid, "started": _start_time(self.server.proc.pid)}
        tmp = os.path.join(RUNS_DIR, ".%s.tmp" % self.run_id)
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(RUNS_DIR, self.run_id + ".json"))

    def cleanup(self):
        """Removes everything start() made, in dependency order; returns problems.
        Safe to call twice."""
        problems = []
        for node in self.nodes:
            if node.agent is not None:
                node.agent.stop()
        for node in self.nodes:
            problems += cleanup_agent_dir(node.data_dir, remove=False)
            problems += _empty_namespace(node.netns, node.net_inode)
        # Task bridges, iptables rules and CNI state of the agents live inside
        # the namespaces (and their data dirs): deleting those removes them.
        problems += _remove_links_and_namespaces(self._made_netns, self._made_links)
        for node in self.nodes:
            node.net_inode = None
        self._made_netns, self._made_links = [], []
        if self.server is not None:
            rc = self.server.stop()
            if rc not in (0, None):
                problems.append("server exited with %s" % rc)
            self.server = None
        self.root.remove()
        if os.path.exists(self.root.path):
            problems.append("dir left: " + self.root.path)
        try:
            os.remove(os.path.join(RUNS_DIR, self.run_id + ".json"))
        except FileNotFoundError:
            pass
        return problems


def _must_not_exist(links=(), namespaces=()):
    taken = [l for l in links if os.path.exists("/sys/class/net/" + l)]
    taken += [n for n in namespaces if os.path.exists("/run/netns/" + n)]
    if taken:
        raise RuntimeError("already exist (another run's?): %s" % taken)


def _same_process_alive(record):
    """Whether {"pid", "started"} still names a live process (not a reused PID)."""
    pid = record.get("pid")
    return bool(pid) and pid_alive(pid) and _start_time(pid) == record.get("started")


def _start_time(pid):
    """A process's start time (clock ticks since boot): with the PID, names it uniquely."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _empty_namespace(netns, inode):
    """Kills (by PID) whatever still runs in a test-made namespace: after the
    agent and its containers are gone, nothing should. Only while the
    namespace's name still points at `inode` (an inode number is reused once
    its namespace is gone)."""
    path = "/run/netns/" + netns
    if inode is None or not os.path.exists(path) or netns_inode(path) != inode:
        return []
    left = pids_in_netns(inode)
    names = {p: _comm(p) for p in left}
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.time() + 5
    while time.time() < deadline and any(pid_alive(p) for p in left):
        time.sleep(0.05)
    return ["process %d (%s) left in %s" % (p, names[p], netns) for p in left]


def _remove_links_and_namespaces(namespaces, links):
    problems = []
    for netns in reversed(namespaces):
        if os.path.exists("/run/netns/" + netns):
            run(["ip", "netns", "del", netns], check=False)
        if os.path.exists("/run/netns/" + netns):
            problems.append("namespace left: " + netns)
    for link in reversed(links):
        if os.path.exists("/sys/class/net/" + link):
            run(["ip", "link", "del", link], check=False)
        if os.path.exists("/sys/class/net/" + link):
            problems.append("link left: " + link)
    return problems


def sweep_stale_runs():
    """Removes what earlier runs made whose owning process is gone (killed
    before its cleanup ran): their containers, namespace processes,
    namespaces, links and dirs. Runs whose owner lives are left alone."""
    if not os.path.isdir(RUNS_DIR):
        return
    for entry in os.listdir(RUNS_DIR):
        if not entry.endswith(".json"):
            continue
        path = os.path.join(RUNS_DIR, entry)
        try:
            with open(path) as f:
                record = json.load(f)
        except (OSError, ValueError):
            continue
        if _same_process_alive(record):
            continue
        server = record.get("server") or {}
        if _same_process_alive(server):
            stop_pid(server["pid"])  # it listened on the bridge address about to go
        for data_dir in record.get("nodeDirs", []):
            if os.path.isdir(data_dir):
                cleanup_agent_dir(data_dir, remove=False)
        for netns in record.get("netns", []):
            if os.path.exists("/run/netns/" + netns):
                _empty_namespace(netns, netns_inode("/run/netns/" + netns))
        _remove_links_and_namespaces(record.get("netns", []), record.get("links", []))
        root = record.get("root")
        if root and os.path.basename(root).startswith("berth-") and os.path.isdir(root):
            stale = TempRoot.__new__(TempRoot)
            stale.path = root
            stale.remove()
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


def _comm(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return " ".join(shlex.quote(a.decode(errors="replace")) for a in f.read().split(b"\0") if a)[:200]
    except OSError:
        return "?"


def _quiet_ipv6(link):
    """No IPv6 autoconfiguration chatter from the root side of the test link."""
    path = "/proc/sys/net/ipv6/conf/%s/disable_ipv6" % link
    if os.path.exists(path):
        with open(path, "w") as f:
            f.write("1")


def skip_unless_multinode():
    """Raises SkipTest naming what is missing (root, runc, conmon, CNI, nsenter...)."""
    import unittest
    from agent_harness import skip_unless_real_runtime
    skip_unless_real_runtime()
    missing = [t for t in REQUIRED_TOOLS if not os.path.exists(t)]
    cni = "/usr/lib/cni/bridge"
    if not os.path.exists(cni):
        missing.append(cni)
    if missing:
        raise unittest.SkipTest("missing: " + ", ".join(missing))


class MultiNodeTestCase(unittest.TestCase):
    """One multi-node cluster per test class. Subclasses name it (NAME), give
    its nodes (node_specs()) and optional server flags (SERVER_ARGS); the
    class gets `mn`, `ecs` (boto3) and `image` (busybox in the test registry),
    and everything is removed after the class, also when it fails."""

    NAME = "multinode"
    SERVER_ARGS = ()

    @classmethod
    def node_specs(cls):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        skip_unless_multinode()
        cls.mn = MultiNodeCluster(cls.node_specs(), name=cls.NAME, server_args=list(cls.SERVER_ARGS))
        cls.addClassCleanup(cls._cleanup_cluster)
        cls.mn.start()
        cls.ecs = cls.mn.server.boto3_client()
        cls.image = cls.mn.push_busybox()

    @classmethod
    def _cleanup_cluster(cls):
        # Stops every agent, kills and removes every node's containers (those
        # of killed agents too), then the namespaces, links and server.
        problems = cls.mn.cleanup()
        if problems:
            raise AssertionError("multi-node cleanup left: %s" % problems)
