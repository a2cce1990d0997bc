"""Real tasks through `berth agent`: busybox from a loopback docker-registry,
pulled and unpacked by the agent, run by conmon + runc as root, reported to a
real `berth server` and read back with boto3 and the AWS CLI.

One registry, one image build and one server per class; one shared agent for the
tests that do not restart it; the kill -9 tests start their own agent on their
own cluster. Everything started is stopped by PID and every container, overlay
mount and cgroup is removed in the class cleanup, also after a failure.
"""
import json
import os
import stat
import time
import unittest

from berth_harness import BerthServer
from agent_harness import (AgentProcess, Registry, TempRoot, build_busybox_layout, cgroup_dirs_for_task, cleanup_agent,
                           cleanup_agent_dir, mounts_under, pid_alive, skip_unless_real_runtime, tar_chardev,
                           tar_dir, tar_file, tar_gz, tar_symlink, wait_for, zombie_children)

AZ = "eu-west-3b"
AGENT_CPU = 4096
AGENT_MEMORY = 3000
ESSENTIAL_EXITED = "Essential container in task exited"


def resource(resources, name):
    for r in resources:
        if r["name"] == name:
            return r.get("stringSetValue") if r["type"] == "STRINGSET" else r["integerValue"]
    raise AssertionError("no resource %s in %r" % (name, resources))


def container_named(task, name):
    for c in task["containers"]:
        if c["name"] == name:
            return c
    raise AssertionError("no container %s in %r" % (name, task["containers"]))


class AgentTaskTestBase(unittest.TestCase):
    """Registry + busybox image + server + one shared agent, per class."""

    with_main_agent = True

    @classmethod
    def setUpClass(cls):
        skip_unless_real_runtime()
        cls.root = TempRoot()
        cls.addClassCleanup(cls.root.remove)
        cls.agents = []

        cls.registry = Registry(cls.root.sub("registry"))
        cls.addClassCleanup(cls.registry.stop)
        cls.registry.start()
        layout = build_busybox_layout(os.path.join(cls.root.path, "layout"))
        cls.image = cls.registry.push_layout(layout, "busybox", "test/busybox:latest")

        cls.server = BerthServer(data_dir=cls.root.sub("server"))
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()
        cls.ecs = cls.server.boto3_client()
        # Cleanups run last-in first-out: agents (and their containers) go
        # before the server and the registry.
        cls.addClassCleanup(cls._cleanup_agents)

        cls.cluster = "agent-it-%d" % (int(time.time() * 1000) % 100000000)
        if not cls.with_main_agent:
            return
        cls.agent = cls.start_agent(cls.cluster, "agent-main",
                                    ["--availability-zone", AZ, "--attribute", "team=berth-it",
                                     "--cpu", str(AGENT_CPU), "--memory", str(AGENT_MEMORY)])
        cls.instance_arn = cls.wait_for_instance(cls.cluster)

    @classmethod
    def start_agent(cls, cluster, name, extra_args=()):
        agent = AgentProcess(cls.server.endpoint, cluster, os.path.join(cls.root.path, name), extra_args)
        cls.agents.append(agent)
        return agent.start()

    @classmethod
    def wait_for_instance(cls, cluster):
        arns = wait_for(lambda: cls.ecs.list_container_instances(cluster=cluster)["containerInstanceArns"],
                        lambda a: len(a) == 1, 20, what="the agent's container instance in " + cluster)
        return arns[0]

    @classmethod
    def _cleanup_agents(cls):
        problems = []
        for agent in cls.agents:
            agent.stop()
            problems += cleanup_agent(agent)
        if problems:
            raise AssertionError("agent cleanup left: %s" % problems)

    # --- per test ---------------------------------------------------------------
    def setUp(self):
        self.started_tasks = []  # (cluster, arn)

    def tearDown(self):
        # A failed test must not leave a task holding resources on the shared agent.
        for cluster, arn in self.started_tasks:
            try:
                t = self.describe(arn, cluster)
                if t["lastStatus"] != "STOPPED":
                    self.ecs.stop_task(cluster=cluster, task=arn, reason="test teardown")
                    self.wait_task(arn, "STOPPED", timeout=15, cluster=cluster)
            except Exception as e:  # noqa: BLE001 - teardown must go on; the test already reported
                print("teardown of %s: %s" % (arn, e))

    def family(self, prefix="t"):
        return "%s-%s-%d" % (prefix, self._testMethodName.replace("_", "-")[:40], int(time.time() * 1000) % 10000000)

    def container(self, name="app", **kw):
        d = {"name": name, "image": self.image, "memory": 64, "essential": True}
        d.update(kw)
        return d

    def register(self, containers, **kw):
        return self.ecs.register_task_definition(family=self.family(), containerDefinitions=containers,
                                                 **kw)["taskDefinition"]["taskDefinitionArn"]

    def run_task(self, task_definition, cluster=None, **kw):
        cluster = cluster or self.cluster
        out = self.ecs.run_task(cluster=cluster, taskDefinition=task_definition, **kw)
        self.assertEqual(out["failures"], [])
        arn = out["tasks"][0]["taskArn"]
        self.started_tasks.append((cluster, arn))
        return arn

    def describe(self, arn, cluster=None):
        out = self.ecs.describe_tasks(cluster=cluster or self.cluster, tasks=[arn])
        self.assertEqual(out["failures"], [])
        return out["tasks"][0]

    def wait_task(self, arn, status, timeout, cluster=None):
        return wait_for(lambda: self.describe(arn, cluster), lambda t: t["lastStatus"] == status, timeout,
                        what="task %s to be %s" % (arn, status))

    def task_id(self, arn):
        return arn.rsplit("/", 1)[1]

    def runtime_id(self, arn, container_name):
        return "berth-%s-%s" % (self.task_id(arn), container_name)

    def assert_cleaned_up(self, agent, arn, container_names):
        """After STOPPED the agent has removed containers and overlay mounts."""
        for name in container_names:
            self.assertIsNone(agent.runc_state(self.runtime_id(arn, name)), "runc still knows " + name)
        self.assertEqual(mounts_under(os.path.join(agent.data_dir, "tasks", self.task_id(arn))), [])
        self.assertEqual(cgroup_dirs_for_task(self.task_id(arn)), [], "the task's cgroups are removed")
        self.assertEqual(zombie_children(agent.pid), [], "the agent reaps what it spawns (conmon, runc)")

    def agent_log(self):
        return "\n".join(a.log()[-3000:] for a in self.agents)


class AgentTasksTest(AgentTaskTestBase):
    # 1 ---------------------------------------------------------------------------
    def test_busybox_task_runs_to_completion_and_reports_exit_code(self):
        td = self.register([self.container(command=["sh", "-c", "echo hello-from-busybox; exit 7"])])
        arn = self.run_task(td)
        t = self.wait_task(arn, "STOPPED", timeout=30)
        c = container_named(t, "app")
        self.assertEqual(c["lastStatus"], "STOPPED")
        self.assertEqual(c.get("exitCode"), 7, t)
        self.assertEqual(t["desiredStatus"], "STOPPED")
        self.assertEqual(t.get("stopCode"), "EssentialContainerExited")
        self.assertEqual(t.get("stoppedReason"), ESSENTIAL_EXITED)
        self.assertEqual(t["containerInstanceArn"], self.instance_arn)
        for field in ("createdAt", "pullStartedAt", "pullStoppedAt", "startedAt", "stoppedAt", "executionStoppedAt"):
            self.assertIn(field, t)
        order = [t["createdAt"], t["pullStartedAt"], t["pullStoppedAt"], t["startedAt"], t["stoppedAt"]]
        self.assertEqual(order, sorted(order), "createdAt <= pullStartedAt <= pullStoppedAt <= startedAt <= stoppedAt")
        self.assertLessEqual(t["executionStoppedAt"], t["stoppedAt"])
        self.assert_cleaned_up(self.agent, arn, ["app"])
        # stdout went to the container's log file on the node.
        log = os.path.join(self.agent.data_dir, "tasks", self.task_id(arn), "app", "container.log")
        with open(log) as f:
            self.assertIn("hello-from-busybox", f.read())

    # 2 ---------------------------------------------------------------------------
    def stop_and_watch(self, arn, reason, timeout):
        """StopTask, then samples (lastStatus, desiredStatus) until STOPPED. Returns (task, seen, seconds)."""
        begin = time.time()
        out = self.ecs.stop_task(cluster=self.cluster, task=arn, reason=reason)["task"]
        self.assertEqual(out["desiredStatus"], "STOPPED")
        seen = []
        deadline = begin + timeout
        while True:
            t = self.describe(arn)
            if not seen or seen[-1] != (t["lastStatus"], t["desiredStatus"]):
                seen.append((t["lastStatus"], t["desiredStatus"]))
            if t["lastStatus"] == "STOPPED":
                return t, seen, time.time() - begin
            if time.time() > deadline:
                self.fail("task not STOPPED %.0fs after StopTask; seen %s\n%s" % (timeout, seen, self.agent_log()))
            time.sleep(0.1)

    def test_stop_task_sigkills_a_process_ignoring_sigterm_after_stop_timeout(self):
        # busybox sleep as pid 1 has no SIGTERM handler, so the kernel ignores SIGTERM.
        td = self.register([self.container(command=["sleep", "3600"], stopTimeout=3)])
        arn = self.run_task(td)
        self.wait_task(arn, "RUNNING", timeout=30)
        state = self.agent.runc_state(self.runtime_id(arn, "app"))
        self.assertEqual(state and state["status"], "running")
        t, seen, took = self.stop_and_watch(arn, "it: stop the sleeper", timeout=3 + 10)
        self.assertIn(("STOPPING", "STOPPED"), seen, "went through STOPPING")
        self.assertTrue(all(d == "STOPPED" for _, d in seen), seen)
        self.assertGreaterEqual(took, 2.5, "SIGKILL only after the 3 s stopTimeout")
        self.assertLess(took, 3 + 5, "SIGKILL once stopTimeout ends")
        self.assertEqual(container_named(t, "app").get("exitCode"), 137)
        self.assertEqual(t.get("stopCode"), "UserInitiated")
        self.assertEqual(t.get("stoppedReason"), "it: stop the sleeper")
        self.assertIn("stoppingAt", t)
        self.assertLessEqual(t["stoppingAt"], t["stoppedAt"])
        self.assert_cleaned_up(self.agent, arn, ["app"])

    def test_stop_task_with_init_process_ends_on_sigterm(self):
        # tini is pid 1 and forwards SIGTERM to sleep, which then dies of it: 128 + 15.
        td = self.register([self.container(command=["sleep", "3600"], stopTimeout=20,
                                           linuxParameters={"initProcessEnabled": True})])
        arn = self.run_task(td)
        self.wait_task(arn, "RUNNING", timeout=30)
        t, seen, took = self.stop_and_watch(arn, "it: graceful", timeout=10)
        self.assertLess(took, 5, "SIGTERM ends it well before the 20 s stopTimeout; seen %s" % seen)
        self.assertEqual(container_named(t, "app").get("exitCode"), 143)
        self.assertEqual(t.get("stopCode"), "UserInitiated")
        self.assertEqual(t.get("stoppedReason"), "it: graceful")

    # 3 ---------------------------------------------------------------------------
    def test_essential_container_exit_stops_its_sibling(self):
        td = self.register([
            self.container("main", command=["sh", "-c", "sleep 1; exit 3"]),
            self.container("side", essential=False, command=["sleep", "3600"], stopTimeout=2)])
        arn = self.run_task(td)
        t = self.wait_task(arn, "STOPPED", timeout=30)
        self.assertEqual(container_named(t, "main").get("exitCode"), 3)
        side = container_named(t, "side")
        self.assertEqual(side["lastStatus"], "STOPPED")
        self.assertIn(side.get("exitCode"), (137, 143), t)
        self.assertEqual(t.get("stopCode"), "EssentialContainerExited")
        self.assertEqual(t.get("stoppedReason"), ESSENTIAL_EXITED)
        self.assert_cleaned_up(self.agent, arn, ["main", "side"])

    def test_non_essential_container_exit_leaves_task_running(self):
        td = self.register([
            self.container("main", command=["sleep", "3600"], linuxParameters={"initProcessEnabled": True}),
            self.container("side", essential=False, command=["sh", "-c", "exit 5"])])
        arn = self.run_task(td)
        t = wait_for(lambda: self.describe(arn),
                     lambda t: container_named(t, "side")["lastStatus"] == "STOPPED", 30,
                     what="the non-essential container to be STOPPED")
        self.assertEqual(container_named(t, "side").get("exitCode"), 5)
        time.sleep(1.5)  # room for a wrong stop decision to show
        t = self.describe(arn)
        self.assertEqual(t["lastStatus"], "RUNNING")
        self.assertEqual(t["desiredStatus"], "RUNNING")
        self.assertEqual(container_named(t, "main")["lastStatus"], "RUNNING")
        self.assertEqual(self.agent.runc_state(self.runtime_id(arn, "main"))["status"], "running")
        self.ecs.stop_task(cluster=self.cluster, task=arn)
        t = self.wait_task(arn, "STOPPED", timeout=15)
        self.assertEqual(t.get("stopCode"), "UserInitiated")
        self.assertEqual(t.get("stoppedReason"), "Task stopped by user")
        self.assertEqual(container_named(t, "side").get("exitCode"), 5)

    # 4 ---------------------------------------------------------------------------
    def test_container_over_memory_limit_is_oom_killed(self):
        td = self.register([self.container(memory=16, command=["sh", "-c", "tail /dev/zero"])])
        arn = self.run_task(td)
        t = self.wait_task(arn, "STOPPED", timeout=60)
        c = container_named(t, "app")
        self.assertEqual(c.get("exitCode"), 137, t)
        self.assertTrue(c.get("reason", "").startswith("OutOfMemoryError"), c)
        self.assertEqual(t.get("stopCode"), "EssentialContainerExited")

    # 6 ---------------------------------------------------------------------------
    def expect_pull_refused(self, ref, reason_must_contain):
        td = self.register([self.container(image=ref, command=["true"])])
        arn = self.run_task(td)
        t = self.wait_task(arn, "STOPPED", timeout=30)
        self.assertEqual(t.get("stopCode"), "TaskFailedToStart", t)
        self.assertTrue(t.get("stoppedReason", "").startswith("CannotPullContainerError"), t)
        c = container_named(t, "app")
        self.assertEqual(c["lastStatus"], "STOPPED")
        self.assertTrue(c.get("reason", "").startswith("CannotPullContainerError"), c)
        self.assertNotIn("exitCode", c)
        self.assertNotIn("startedAt", t, "a task that never ran has no startedAt, as in ECS")
        self.assertIn(reason_must_contain.lower(), t["stoppedReason"].lower())
        self.assertIsNone(self.agent.runc_state(self.runtime_id(arn, "app")))
        return t

    def test_hostile_layers_are_refused_and_nothing_is_written_outside(self):
        nonce = "berth-%d" % (int(time.time() * 1000) % 100000000)
        outside = self.root.sub("outside-" + nonce)
        images_dir = os.path.join(self.agent.data_dir, "images")
        hostile = {
            "traversal": [tar_dir("etc/"), tar_file("../evil-" + nonce, b"pwned"),
                          tar_file("../../../../../../../../tmp/evil-" + nonce, b"pwned")],
            "abs-symlink": [tar_symlink("link", outside), tar_file("link/pwned-" + nonce, b"pwned")],
            "rel-symlink": [tar_dir("a/"), tar_symlink("a/up", "../../../../../../../../../.." + outside),
                            tar_file("a/up/pwned2-" + nonce, b"pwned")],
            "device": [tar_dir("dev/"), tar_chardev("dev/mem-" + nonce, 1, 1)],
        }
        must_name = {"traversal": "evil-" + nonce, "abs-symlink": "pwned-" + nonce,
                     "rel-symlink": "pwned2-" + nonce, "device": "mem-" + nonce}
        for kind, entries in hostile.items():
            with self.subTest(kind=kind):
                img = self.registry.push_single_layer_image("hostile/" + kind, "v1", tar_gz(entries))
                self.expect_pull_refused(img["ref"], must_name[kind])
        # Nothing landed outside a layer: not next to the agent's store, not
        # in the symlink targets, not in /tmp, and no device node anywhere.
        self.assertEqual(os.listdir(outside), [])
        self.assertFalse(os.path.exists("/tmp/evil-" + nonce))
        for top in (self.root.path, "/tmp/evil-" + nonce):
            for dirpath, dirnames, filenames in os.walk(top):
                for n in dirnames + filenames:
                    if n != os.path.basename(outside):
                        self.assertNotIn(nonce, n, "hostile entry written at " + os.path.join(dirpath, n))
        for dirpath, dirnames, filenames in os.walk(images_dir):
            for n in filenames:
                st = os.lstat(os.path.join(dirpath, n))
                if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                    self.assertEqual(st.st_rdev, 0, "device node %s in the image store" % os.path.join(dirpath, n))

    def test_blob_with_wrong_digest_is_refused(self):
        nonce = ("berth-%d" % (int(time.time() * 1000) % 100000000)).encode()
        layer = tar_gz([tar_dir("etc/"), tar_file("etc/marker", nonce * 200)])
        img = self.registry.push_single_layer_image("corrupt/layer", "v1", layer)
        # Same size, different bytes: only the digest check can tell.
        path = self.registry.blob_data_path(img["layer"])
        with open(path, "r+b") as f:
            data = bytearray(f.read())
            mid = len(data) // 2
            data[mid] ^= 0xFF
            data[mid + 1] ^= 0xFF
            f.seek(0)
            f.write(data)
        self.expect_pull_refused(img["ref"], "digest")

    # 7 ---------------------------------------------------------------------------
    def test_aws_cli_drives_a_task_and_reports_resources(self):
        aws = self.server.aws
        family = self.family("cli")
        td = aws("ecs", "register-task-definition", "--family", family, "--cpu", "512", "--memory", "128",
                 "--container-definitions", json.dumps([{
                     "name": "app", "image": self.image, "essential": True, "command": ["sleep", "3600"],
                     "linuxParameters": {"initProcessEnabled": True}}]))["taskDefinition"]
        self.assertEqual(td["revision"], 1)

        ci = aws("ecs", "describe-container-instances", "--cluster", self.cluster,
                 "--container-instances", self.instance_arn)["containerInstances"][0]
        self.assertTrue(ci["agentConnected"])
        self.assertEqual(ci["status"], "ACTIVE")
        self.assertEqual(resource(ci["registeredResources"], "CPU"), AGENT_CPU)
        self.assertEqual(resource(ci["registeredResources"], "MEMORY"), AGENT_MEMORY)
        self.assertEqual(resource(ci["remainingResources"], "CPU"), AGENT_CPU)
        self.assertEqual(resource(ci["remainingResources"], "MEMORY"), AGENT_MEMORY)
        attrs = {a["name"]: a.get("value") for a in ci["attributes"]}
        self.assertEqual(attrs.get("ecs.availability-zone"), AZ)
        self.assertEqual(attrs.get("team"), "berth-it")
        self.assertEqual(attrs.get("ecs.os-type"), "linux")
        self.assertIn("ecs.cpu-architecture", attrs)
        self.assertTrue(ci["versionInfo"]["agentVersion"])

        run = aws("ecs", "run-task", "--cluster", self.cluster, "--task-definition", family,
                  "--started-by", "aws-cli-it")
        self.assertEqual(run["failures"], [])
        arn = run["tasks"][0]["taskArn"]
        self.started_tasks.append((self.cluster, arn))
        self.assertEqual(run["tasks"][0]["containerInstanceArn"], self.instance_arn)

        def cli_task():
            out = aws("ecs", "describe-tasks", "--cluster", self.cluster, "--tasks", arn)
            self.assertEqual(out["failures"], [])
            return out["tasks"][0]

        t = wait_for(cli_task, lambda t: t["lastStatus"] == "RUNNING", 30, interval=0.3, what="RUNNING via the CLI")
        self.assertEqual(t["desiredStatus"], "RUNNING")
        self.assertEqual(t["cpu"], "512")
        self.assertEqual(t["memory"], "128")
        self.assertEqual(t["availabilityZone"], AZ)
        self.assertEqual(t["startedBy"], "aws-cli-it")
        self.assertEqual(t["containers"][0]["lastStatus"], "RUNNING")
        self.assertTrue(t["containers"][0].get("runtimeId"), t["containers"][0])

        ci = aws("ecs", "describe-container-instances", "--cluster", self.cluster,
                 "--container-instances", self.instance_arn)["containerInstances"][0]
        self.assertEqual(resource(ci["remainingResources"], "CPU"), AGENT_CPU - 512)
        self.assertEqual(resource(ci["remainingResources"], "MEMORY"), AGENT_MEMORY - 128)
        self.assertEqual(resource(ci["registeredResources"], "CPU"), AGENT_CPU)
        self.assertEqual(ci["runningTasksCount"], 1)
        listed = aws("ecs", "list-tasks", "--cluster", self.cluster, "--container-instance", self.instance_arn)
        self.assertIn(arn, listed["taskArns"])
        self.assertIn(arn, aws("ecs", "list-tasks", "--cluster", self.cluster, "--family", family)["taskArns"])

        stopped = aws("ecs", "stop-task", "--cluster", self.cluster, "--task", arn, "--reason", "cli says stop")["task"]
        self.assertEqual(stopped["desiredStatus"], "STOPPED")
        t = wait_for(cli_task, lambda t: t["lastStatus"] == "STOPPED", 30, interval=0.3, what="STOPPED via the CLI")
        self.assertEqual(t["stopCode"], "UserInitiated")
        self.assertEqual(t["stoppedReason"], "cli says stop")
        self.assertEqual(t["containers"][0]["exitCode"], 143)
        for field in ("createdAt", "pullStartedAt", "pullStoppedAt", "startedAt", "stoppingAt", "stoppedAt"):
            self.assertIn(field, t)

        ci = aws("ecs", "describe-container-instances", "--cluster", self.cluster,
                 "--container-instances", self.instance_arn)["containerInstances"][0]
        self.assertEqual(resource(ci["remainingResources"], "CPU"), AGENT_CPU)
        self.assertEqual(resource(ci["remainingResources"], "MEMORY"), AGENT_MEMORY)
        self.assertEqual(ci["runningTasksCount"], 0)
        self.assertIn(arn, aws("ecs", "list-tasks", "--cluster", self.cluster,
                               "--desired-status", "STOPPED")["taskArns"])
        self.assertNotIn(arn, aws("ecs", "list-tasks", "--cluster", self.cluster)["taskArns"])


class AgentRestartTest(AgentTaskTestBase):
    """kill -9 of the agent: containers live on, the restarted agent takes them back."""

    with_main_agent = False  # each test starts (and kills) its own agent on its own cluster

    def own_agent(self):
        cluster = "restart-%s-%d" % (self._testMethodName[-12:].replace("_", "-"), int(time.time() * 1000) % 1000000)
        agent = self.start_agent(cluster, "agent-" + cluster)
        instance = self.wait_for_instance(cluster)
        return cluster, agent, instance

    def container_pid(self, agent, arn, name):
        state = agent.runc_state(self.runtime_id(arn, name))
        self.assertIsNotNone(state, "runc does not know the container")
        self.assertEqual(state["status"], "running")
        return state["pid"]

    # 5 ---------------------------------------------------------------------------
    def test_kill_9_leaves_containers_running_and_restart_picks_them_up(self):
        cluster, agent, instance = self.own_agent()
        td = self.register([self.container(command=["sleep", "3600"], linuxParameters={"initProcessEnabled": True})])
        arn = self.run_task(td, cluster=cluster)
        self.wait_task(arn, "RUNNING", timeout=30, cluster=cluster)
        pid = self.container_pid(agent, arn, "app")

        agent.kill9()
        time.sleep(1)
        self.assertTrue(pid_alive(pid), "the container died with the agent")
        self.assertEqual(self.container_pid(agent, arn, "app"), pid)
        self.assertEqual(self.describe(arn, cluster)["lastStatus"], "RUNNING")

        agent.start()
        wait_for(agent.log, lambda log: "recovered task" in log, 20, what="the restarted agent to recover the task")
        self.assertEqual(self.wait_for_instance(cluster), instance, "same container instance after restart")
        time.sleep(1)
        t = self.describe(arn, cluster)
        self.assertEqual(t["lastStatus"], "RUNNING")
        self.assertEqual(t["desiredStatus"], "RUNNING")
        self.assertEqual(self.container_pid(agent, arn, "app"), pid, "the same process, not a new container")

        self.ecs.stop_task(cluster=cluster, task=arn, reason="after restart")
        t = self.wait_task(arn, "STOPPED", timeout=15, cluster=cluster)
        self.assertEqual(container_named(t, "app").get("exitCode"), 143)
        self.assertEqual(t.get("stopCode"), "UserInitiated")
        self.assertEqual(t.get("stoppedReason"), "after restart")
        self.assertFalse(pid_alive(pid))
        self.assert_cleaned_up(agent, arn, ["app"])

    def test_exit_while_agent_is_down_is_reported_after_restart(self):
        cluster, agent, _ = self.own_agent()
        td = self.register([self.container(command=["sh", "-c", "sleep 3; exit 42"])])
        arn = self.run_task(td, cluster=cluster)
        self.wait_task(arn, "RUNNING", timeout=30, cluster=cluster)
        agent.kill9()
        # The container exits on its own while nobody watches.
        wait_for(lambda: agent.runc_state(self.runtime_id(arn, "app")),
                 lambda s: s is None or s["status"] == "stopped", 10, what="the container to exit")
        time.sleep(1)
        self.assertEqual(self.describe(arn, cluster)["lastStatus"], "RUNNING", "nobody has told the server yet")

        agent.start()
        t = self.wait_task(arn, "STOPPED", timeout=20, cluster=cluster)
        c = container_named(t, "app")
        self.assertEqual(c.get("exitCode"), 42, t)
        self.assertEqual(t.get("stopCode"), "EssentialContainerExited")
        self.assertEqual(t.get("stoppedReason"), ESSENTIAL_EXITED)
        self.assert_cleaned_up(agent, arn, ["app"])

    def test_essential_exit_while_agent_is_down_stops_the_sibling_after_restart(self):
        cluster, agent, _ = self.own_agent()
        td = self.register([
            self.container("main", command=["sh", "-c", "sleep 2; exit 4"]),
            self.container("side", essential=False, command=["sleep", "3600"], stopTimeout=2)])
        arn = self.run_task(td, cluster=cluster)
        self.wait_task(arn, "RUNNING", timeout=30, cluster=cluster)
        agent.kill9()
        wait_for(lambda: agent.runc_state(self.runtime_id(arn, "main")),
                 lambda s: s is None or s["status"] == "stopped", 10, what="the essential container to exit")
        self.assertEqual(agent.runc_state(self.runtime_id(arn, "side"))["status"], "running")

        agent.start()
        t = self.wait_task(arn, "STOPPED", timeout=20, cluster=cluster)
        self.assertEqual(container_named(t, "main").get("exitCode"), 4, t)
        self.assertEqual(container_named(t, "side").get("exitCode"), 137, t)
        self.assertEqual(t.get("stopCode"), "EssentialContainerExited")
        self.assert_cleaned_up(agent, arn, ["main", "side"])

    def test_stop_task_while_agent_is_down_is_carried_out_after_restart(self):
        cluster, agent, _ = self.own_agent()
        td = self.register([self.container(command=["sleep", "3600"], linuxParameters={"initProcessEnabled": True})])
        arn = self.run_task(td, cluster=cluster)
        self.wait_task(arn, "RUNNING", timeout=30, cluster=cluster)
        agent.kill9()
        self.ecs.stop_task(cluster=cluster, task=arn, reason="while the agent was away")
        t = self.describe(arn, cluster)
        self.assertEqual((t["lastStatus"], t["desiredStatus"]), ("RUNNING", "STOPPED"))
        self.assertEqual(agent.runc_state(self.runtime_id(arn, "app"))["status"], "running")

        agent.start()
        t = self.wait_task(arn, "STOPPED", timeout=15, cluster=cluster)
        self.assertEqual(container_named(t, "app").get("exitCode"), 143)
        self.assertEqual(t.get("stopCode"), "UserInitiated")
        self.assertEqual(t.get("stoppedReason"), "while the agent was away")
        self.assert_cleaned_up(agent, arn, ["app"])


if __name__ == "__main__":
    unittest.main()
