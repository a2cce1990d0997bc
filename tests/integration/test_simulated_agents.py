"""`berth agent --simulate N` against a real server (issue #6).

One simulator process stands for 50 container instances over two zones; the
test checks them through boto3 like any other instances, runs and stops tasks
on them, fails a pull, and restarts the simulator (same identities, tasks keep
running). No root and no containers needed.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
from collections import Counter

from berth_harness import ACCESS_KEY, BERTH_BIN, REGION, SECRET_KEY, ServerTestCase

COUNT = 50


def wait_for(fetch, predicate, timeout, interval=0.2, what="condition"):
    deadline = time.time() + timeout
    while True:
        value = fetch()
        if predicate(value):
            return value
        if time.time() >= deadline:
            raise AssertionError("timed out after %.0fs waiting for %s; last value: %r" % (timeout, what, value))
        time.sleep(interval)


class Simulator:
    """One `berth agent --simulate` process; stopped by PID."""

    def __init__(self, endpoint, cluster, data_dir, count=COUNT):
        self.args = [BERTH_BIN, "agent", "--server", endpoint, "--cluster", cluster, "--data-dir", data_dir,
                     "--region", REGION, "--simulate", str(count), "--availability-zone", "sim-a,sim-b",
                     "--attribute", "rack=r-simulate", "--instance-type", "sim.large",
                     "--cpu", "4096", "--memory", "8192", "--log-level", "warn"]
        self.log_path = os.path.join(data_dir, "simulator.log")
        self.proc = None

    def start(self, timeout=60):
        env = dict(os.environ, BERTH_ACCESS_KEY_ID=ACCESS_KEY, BERTH_SECRET_ACCESS_KEY=SECRET_KEY)
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self.log_file, env=env, text=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if "simulating" in line:
                return self
        self.stop()
        raise AssertionError("simulator did not start: " + self.log())

    def stop(self, timeout=30):
        rc = None
        if self.proc:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            rc = self.proc.returncode
            self.proc.stdout.close()
            self.log_file.close()
            self.proc = None
        return rc

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()[-4000:]


class SimulatedAgentsTest(ServerTestCase):
    def setUp(self):
        self.ecs = self.server.boto3_client()
        self.cluster = self.unique("sim")
        self.work = tempfile.mkdtemp(prefix="berth-simulate-it-")
        self.sim = Simulator(self.server.endpoint, self.cluster, os.path.join(self.work, "agent"))
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        self.addCleanup(self.sim.stop)
        self.sim.start()

    def instances(self):
        arns = []
        for page in self.ecs.get_paginator("list_container_instances").paginate(cluster=self.cluster):
            arns += page["containerInstanceArns"]
        out = []
        for i in range(0, len(arns), 100):
            out += self.ecs.describe_container_instances(cluster=self.cluster,
                                                         containerInstances=arns[i:i + 100])["containerInstances"]
        return out

    def tasks(self, arns):
        out = []
        for i in range(0, len(arns), 100):
            out += self.ecs.describe_tasks(cluster=self.cluster, tasks=arns[i:i + 100])["tasks"]
        return out

    def register(self, image="busybox"):
        return self.ecs.register_task_definition(
            family=self.unique("simtd"),
            containerDefinitions=[{"name": "app", "image": image, "cpu": 128, "memory": 256, "essential": True},
                                  {"name": "sidecar", "image": "busybox", "memory": 64, "essential": False}],
        )["taskDefinition"]["taskDefinitionArn"]

    def run_tasks(self, td, count=10):
        r = self.ecs.run_task(cluster=self.cluster, taskDefinition=td, count=count,
                              placementStrategy=[{"type": "spread", "field": "attribute:ecs.availability-zone"},
                                                 {"type": "binpack", "field": "memory"}])
        self.assertEqual(r["failures"], [])
        self.assertEqual(len(r["tasks"]), count)
        return [t["taskArn"] for t in r["tasks"]]

    def test_instances_tasks_pull_failure_and_restart(self):
        instances = wait_for(self.instances, lambda v: len(v) == COUNT and all(i["agentConnected"] for i in v),
                             30, what="%d connected instances" % COUNT)
        zones = Counter()
        for i in instances:
            self.assertEqual(i["status"], "ACTIVE")
            attrs = {a["name"]: a.get("value") for a in i["attributes"]}
            zones[attrs["ecs.availability-zone"]] += 1
            self.assertEqual(attrs["rack"], "r-simulate")
            self.assertEqual(attrs["ecs.instance-type"], "sim.large")
            cpu = [r for r in i["registeredResources"] if r["name"] == "CPU"][0]
            self.assertEqual(cpu["integerValue"], 4096)
        self.assertEqual(zones, Counter({"sim-a": COUNT // 2, "sim-b": COUNT // 2}))
        original_arns = sorted(i["containerInstanceArn"] for i in instances)

        # RunTask count=10 a few times: every task reaches RUNNING.
        td = self.register()
        arns = []
        for _ in range(3):
            arns += self.run_tasks(td)
        running = wait_for(lambda: self.tasks(arns), lambda ts: all(t["lastStatus"] == "RUNNING" for t in ts),
                           30, what="30 tasks RUNNING")
        # (How they spread is the placement engine's business, not the simulator's.)
        self.assertLessEqual({t["availabilityZone"] for t in running}, {"sim-a", "sim-b"})
        for t in running:
            self.assertIn("startedAt", t)
            self.assertEqual({c["lastStatus"] for c in t["containers"]}, {"RUNNING"})

        # StopTask: STOPPED, containers exit 0, the user's reason kept.
        stop = arns[:5]
        for arn in stop:
            self.ecs.stop_task(cluster=self.cluster, task=arn, reason="simulated scale-in")
        stopped = wait_for(lambda: self.tasks(stop), lambda ts: all(t["lastStatus"] == "STOPPED" for t in ts),
                           30, what="5 tasks STOPPED")
        for t in stopped:
            self.assertEqual(t["stopCode"], "UserInitiated")
            self.assertEqual(t["stoppedReason"], "simulated scale-in")
            self.assertEqual({c["exitCode"] for c in t["containers"]}, {0})

        # An image that does not exist fails like a pull failure.
        bad = self.run_tasks(self.register(image="registry.invalid/does-not-exist:1"), count=2)
        failed = wait_for(lambda: self.tasks(bad), lambda ts: all(t["lastStatus"] == "STOPPED" for t in ts),
                          30, what="pull failures STOPPED")
        for t in failed:
            self.assertEqual(t["stopCode"], "TaskFailedToStart")
            self.assertTrue(t["stoppedReason"].startswith("CannotPullContainerError"), t["stoppedReason"])

        # Restart: same 50 identities, running tasks stay RUNNING and still obey StopTask.
        self.assertEqual(self.sim.stop(), 0, self.sim.log())
        self.sim.start()
        instances = wait_for(self.instances, lambda v: len(v) == COUNT and all(i["agentConnected"] for i in v),
                             30, what="instances after restart")
        self.assertEqual(sorted(i["containerInstanceArn"] for i in instances), original_arns)
        rest = arns[5:]
        self.assertTrue(all(t["lastStatus"] == "RUNNING" for t in self.tasks(rest)))
        self.ecs.stop_task(cluster=self.cluster, task=rest[0], reason="after restart")
        wait_for(lambda: self.tasks(rest[:1]), lambda ts: ts[0]["lastStatus"] == "STOPPED", 30,
                 what="stop after restart")
        more = self.run_tasks(td)
        wait_for(lambda: self.tasks(more), lambda ts: all(t["lastStatus"] == "RUNNING" for t in ts),
                 30, what="new tasks RUNNING after restart")


if __name__ == "__main__":
    unittest.main()
