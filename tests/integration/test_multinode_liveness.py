"""Container instance liveness across real nodes: one `berth server` with
--instance-lost-timeout 30 and three `berth agent`s, each in its own network
namespace (multinode_harness), running real containers (busybox, conmon +
runc, networkMode host).

An agent killed with SIGKILL leaves its containers running and says nothing
more. The server must (docs/dev/agent-protocol.md, Liveness):
  - within the lost timeout (plus one housekeeping tick) mark that node's
    tasks STOPPED with the lost reason, show its instance agentConnected=false
    (still ACTIVE, still registered) and leave the other nodes' tasks alone;
  - when the agent starts again on the same data dir, see it reconnect
    (agentConnected=true), and the agent stops the orphaned containers of the
    tasks the server stopped while it was away.
"""
import time
import unittest

from agent_harness import wait_for
from multinode_harness import MultiNodeTestCase, NodeSpec

ZONES = ("lv-a", "lv-b", "lv-c")
LOST_TIMEOUT = 30
LOST_REASON = "Task stopped because its container instance %s was lost: its agent has not been heard from for "


class MultiNodeLivenessTest(MultiNodeTestCase):
    NAME = "mnlive"
    SERVER_ARGS = ("--instance-lost-timeout", str(LOST_TIMEOUT))

    @classmethod
    def node_specs(cls):
        return [NodeSpec(zone) for zone in ZONES]

    def setUp(self):
        self.started = []

    def tearDown(self):
        for node in self.mn.nodes:  # a failed test may have left an agent down
            if node.agent is None or not node.agent.alive():
                try:
                    self.mn.start_agent(node.index)
                except Exception as e:  # noqa: BLE001 - cleanup removes its containers anyway
                    print("teardown: restarting an agent: %s" % e)
        for arn in self.started:
            try:
                if self.describe([arn])[0]["lastStatus"] != "STOPPED":
                    self.ecs.stop_task(cluster=self.mn.cluster, task=arn, reason="test teardown")
            except Exception as e:  # noqa: BLE001
                print("teardown of %s: %s" % (arn, e))

    # --- helpers ----------------------------------------------------------------
    def register(self):
        family = "mnlive-%d" % (int(time.time() * 1000) % 10000000)
        app = {"name": "app", "image": self.image, "memory": 16, "essential": True, "stopTimeout": 2,
               "entryPoint": ["sh", "-c"], "command": ["trap 'exit 0' TERM; sleep 600 & wait"]}
        return self.ecs.register_task_definition(family=family, containerDefinitions=[app],
                                                 networkMode="host")["taskDefinition"]["taskDefinitionArn"]

    def describe(self, arns):
        out = self.ecs.describe_tasks(cluster=self.mn.cluster, tasks=arns)
        self.assertEqual(out["failures"], [])
        return out["tasks"]

    def instance(self, arn):
        return self.ecs.describe_container_instances(cluster=self.mn.cluster,
                                                     containerInstances=[arn])["containerInstances"][0]

    @staticmethod
    def runtime_id(task):
        return "berth-%s-app" % task["taskArn"].rsplit("/", 1)[1]

    # --- the test -----------------------------------------------------------------
    def test_killed_agent_is_lost_its_tasks_stop_and_it_cleans_up_when_it_returns(self):
        out = self.ecs.run_task(cluster=self.mn.cluster, taskDefinition=self.register(), count=6,
                                placementStrategy=[{"type": "spread", "field": "instanceId"}])
        self.started = [t["taskArn"] for t in out["tasks"]]
        self.assertEqual(out["failures"], [])
        self.assertEqual(len(self.started), 6)
        tasks = wait_for(lambda: self.describe(self.started), lambda ts: all(t["lastStatus"] == "RUNNING" for t in ts),
                         90, interval=0.5, what="6 tasks RUNNING")
        by_instance = {}
        for t in tasks:
            by_instance.setdefault(t["containerInstanceArn"], []).append(t)
        self.assertEqual(sorted(len(v) for v in by_instance.values()), [2, 2, 2], "spread by instance: 2 per node")

        victim_arn = tasks[0]["containerInstanceArn"]
        victim = self.mn.node_of_instance(victim_arn)
        victim_index = self.mn.nodes.index(victim)
        lost_tasks = by_instance[victim_arn]
        other_tasks = [t for t in tasks if t["containerInstanceArn"] != victim_arn]
        for t in lost_tasks:
            self.assertEqual(victim.agent.runc_state(self.runtime_id(t))["status"], "running")

        self.mn.kill_agent(victim_index)
        killed_at = time.monotonic()

        # Lost within the timeout plus one housekeeping tick (and some slack).
        def lost_view():
            return self.describe([t["taskArn"] for t in lost_tasks])
        stopped = wait_for(lost_view, lambda ts: all(t["lastStatus"] == "STOPPED" for t in ts),
                           LOST_TIMEOUT + 10, interval=1, what="the killed node's tasks to be STOPPED")
        detected = time.monotonic() - killed_at
        print("lost after %.1f s (timeout %d s)" % (detected, LOST_TIMEOUT))
        self.assertGreaterEqual(detected, LOST_TIMEOUT - 20 - 1, "not before the timeout (the last poll may be 20 s old)")
        instance_id = victim_arn.rsplit("/", 1)[1]
        for t in stopped:
            self.assertEqual(t["desiredStatus"], "STOPPED")
            self.assertTrue(t["stoppedReason"].startswith(LOST_REASON % instance_id), t["stoppedReason"])
            self.assertNotIn("stopCode", t)
            self.assertEqual([c["lastStatus"] for c in t["containers"]], ["STOPPED"])
        ci = self.instance(victim_arn)
        self.assertEqual(ci["status"], "ACTIVE", "a lost instance stays registered")
        self.assertFalse(ci["agentConnected"])
        self.assertEqual(ci["runningTasksCount"], 0)
        remaining = {r["name"]: r.get("integerValue") for r in ci["remainingResources"]}
        registered = {r["name"]: r.get("integerValue") for r in ci["registeredResources"]}
        self.assertEqual(remaining["MEMORY"], registered["MEMORY"], "the lost tasks' memory is released")
        # The others are untouched.
        for t in self.describe([t["taskArn"] for t in other_tasks]):
            self.assertEqual(t["lastStatus"], "RUNNING")
            self.assertEqual(t["desiredStatus"], "RUNNING")
        for arn in {t["containerInstanceArn"] for t in other_tasks}:
            self.assertTrue(self.instance(arn)["agentConnected"])
        # The server's record says STOPPED, but nothing ran the stop: the
        # containers are orphans until their agent returns.
        for t in lost_tasks:
            state = victim.agent.runc_state(self.runtime_id(t))
            self.assertIsNotNone(state, "the orphan of %s is still known to runc" % t["taskArn"])
            self.assertEqual(state["status"], "running")

        # The agent comes back on the same data dir: it reconnects and stops the orphans.
        restarted_at = time.monotonic()
        self.mn.start_agent(victim_index)
        wait_for(lambda: self.instance(victim_arn), lambda ci: ci["agentConnected"], 30, interval=0.5,
                 what="the returning agent to reconnect")
        for t in lost_tasks:
            wait_for(lambda: victim.agent.runc_state(self.runtime_id(t)), lambda s: s is None, 30, interval=0.5,
                     what="the returning agent to remove the orphan %s" % self.runtime_id(t))
        print("orphans removed %.1f s after the agent restarted" % (time.monotonic() - restarted_at))
        self.assertEqual(self.instance(victim_arn)["status"], "ACTIVE")
        # The lost tasks stay STOPPED with the lost reason (the agent's late report changes nothing).
        for t in self.describe([t["taskArn"] for t in lost_tasks]):
            self.assertEqual(t["lastStatus"], "STOPPED")
            self.assertTrue(t["stoppedReason"].startswith(LOST_REASON % instance_id), t["stoppedReason"])
        for t in self.describe([t["taskArn"] for t in other_tasks]):
            self.assertEqual(t["lastStatus"], "RUNNING")


if __name__ == "__main__":
    unittest.main()
