"""A REPLICA service heals after a node dies: one `berth server` with
--instance-lost-timeout 30 and three `berth agent`s, each in its own network
namespace (multinode_harness), running real containers (busybox, networkMode
host).

CreateService with desiredCount 6 reaches a steady state (6 RUNNING tasks, one
COMPLETED deployment). Then one agent is killed with SIGKILL: the server
declares its instance lost after the timeout and STOPs its tasks
(docs/dev/agent-protocol.md, Liveness), and the service scheduler replaces
them on the two remaining instances (reference/ecs-services.md §6). The
service must be back at a steady state — 6 RUNNING tasks, all on the
remaining instances, one COMPLETED deployment and a "has reached a steady
state." event newer than the kill — within the lost timeout + 10 s of the
kill. The measured recovery time is printed.
"""
import datetime
import time
import unittest

import botocore.exceptions

from agent_harness import wait_for
from multinode_harness import MultiNodeTestCase, NodeSpec

ZONES = ("sv-a", "sv-b", "sv-c")
LOST_TIMEOUT = 30
DESIRED = 6


class MultiNodeServicesTest(MultiNodeTestCase):
    NAME = "mnlivesvc"
    SERVER_ARGS = ("--instance-lost-timeout", str(LOST_TIMEOUT))

    @classmethod
    def node_specs(cls):
        return [NodeSpec(zone) for zone in ZONES]

    def setUp(self):
        self.service = None

    def tearDown(self):
        if self.service is None:
            return
        try:
            self.ecs.update_service(cluster=self.mn.cluster, service=self.service, desiredCount=0)
            self.ecs.delete_service(cluster=self.mn.cluster, service=self.service, force=True)
        except Exception as e:  # noqa: BLE001 - cleanup removes the containers anyway
            print("teardown of service %s: %s" % (self.service, e))

    # --- helpers ----------------------------------------------------------------
    def register(self):
        family = "mnlivesvc-%d" % (int(time.time() * 1000) % 10000000)
        app = {"name": "app", "image": self.image, "memory": 16, "essential": True, "stopTimeout": 2,
               "entryPoint": ["sh", "-c"], "command": ["trap 'exit 0' TERM; sleep 600 & wait"]}
        return self.ecs.register_task_definition(family=family, containerDefinitions=[app],
                                                 networkMode="host")["taskDefinition"]["taskDefinitionArn"]

    def describe_service(self):
        out = self.ecs.describe_services(cluster=self.mn.cluster, services=[self.service])
        self.assertEqual(out["failures"], [])
        return out["services"][0]

    def running_tasks(self):
        arns = self.ecs.list_tasks(cluster=self.mn.cluster, serviceName=self.service.rsplit("/", 1)[1],
                                   desiredStatus="RUNNING")["taskArns"]
        if not arns:
            return []
        tasks = self.ecs.describe_tasks(cluster=self.mn.cluster, tasks=arns)["tasks"]
        return [t for t in tasks if t["lastStatus"] == "RUNNING"]

    @staticmethod
    def steady_event_after(service, when):
        return [e for e in service.get("events", [])
                if e["message"].endswith("has reached a steady state.") and e["createdAt"] > when]

    def at_steady_state(self, service, on_instances, after):
        deployments = service.get("deployments", [])
        if service.get("runningCount") != DESIRED or len(deployments) != 1:
            return False
        if deployments[0].get("rolloutState") != "COMPLETED":
            return False
        tasks = self.running_tasks()
        if len(tasks) != DESIRED or not all(t["containerInstanceArn"] in on_instances for t in tasks):
            return False
        return after is None or bool(self.steady_event_after(service, after))

    # --- the test -----------------------------------------------------------------
    def test_replica_service_replaces_the_tasks_of_a_killed_node(self):
        td = self.register()
        name = "mnlivesvc-%d" % (int(time.time() * 1000) % 10000000)
        try:
            created = self.ecs.create_service(cluster=self.mn.cluster, serviceName=name, taskDefinition=td,
                                              desiredCount=DESIRED, launchType="EC2", schedulingStrategy="REPLICA",
                                              placementStrategy=[{"type": "spread", "field": "instanceId"}])
        except botocore.exceptions.ClientError as e:
            if e.response["Error"]["Code"] == "UnknownOperationException":
                self.skipTest("this server has no services yet (CreateService unknown)")
            raise
        self.service = created["service"]["serviceArn"]
        all_instances = {node.instance_arn() for node in self.mn.nodes}
        wait_for(self.describe_service, lambda s: self.at_steady_state(s, all_instances, None), 120, interval=1,
                 what="the service to reach a steady state with %d tasks" % DESIRED)
        tasks = self.running_tasks()
        per_instance = {}
        for t in tasks:
            per_instance[t["containerInstanceArn"]] = per_instance.get(t["containerInstanceArn"], 0) + 1
        self.assertEqual(sorted(per_instance.values()), [2, 2, 2], "spread by instance: 2 per node")

        victim_arn = tasks[0]["containerInstanceArn"]
        victim = self.mn.node_of_instance(victim_arn)
        survivors = all_instances - {victim_arn}
        # Event timestamps are the server's; the test runs on the same machine.
        killed_wall = datetime.datetime.now(datetime.timezone.utc)
        self.mn.kill_agent(self.mn.nodes.index(victim))
        killed_at = time.monotonic()

        timeline = []  # (seconds since the kill, runningCount, tasks on the victim)
        deadline = killed_at + LOST_TIMEOUT + 10
        recovered = None
        while time.monotonic() < deadline:
            service = self.describe_service()
            elapsed = time.monotonic() - killed_at
            on_victim = len([t for t in self.running_tasks() if t["containerInstanceArn"] == victim_arn])
            timeline.append((round(elapsed, 1), service.get("runningCount"), on_victim))
            if on_victim == 0 and self.at_steady_state(service, survivors, killed_wall):
                recovered = elapsed
                break
            time.sleep(1)
        print("timeline (s since kill, runningCount, tasks on the killed node): %s" % timeline)
        self.assertIsNotNone(recovered, "the service was not back at a steady state within %d s of the kill"
                             % (LOST_TIMEOUT + 10))
        print("service recovered %.1f s after the agent was killed (lost timeout %d s)" % (recovered, LOST_TIMEOUT))

        service = self.describe_service()
        self.assertEqual(service["runningCount"], DESIRED)
        self.assertEqual(service["desiredCount"], DESIRED)
        self.assertEqual(len(service["deployments"]), 1)
        self.assertEqual(service["deployments"][0]["rolloutState"], "COMPLETED")
        self.assertTrue(self.steady_event_after(service, killed_wall), service.get("events", [])[:5])
        tasks = self.running_tasks()
        self.assertEqual(len(tasks), DESIRED)
        self.assertTrue(all(t["containerInstanceArn"] in survivors for t in tasks))
        self.assertEqual(self.ecs.describe_container_instances(
            cluster=self.mn.cluster, containerInstances=[victim_arn])["containerInstances"][0]["agentConnected"], False)


if __name__ == "__main__":
    unittest.main()
