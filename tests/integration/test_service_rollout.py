"""Services end to end with real containers (issue #7): a REPLICA service of
busybox httpd tasks through `berth agent`, driven with boto3 and the AWS CLI.

1. v1 with 3 tasks reaches a steady state (the botocore `services_stable` waiter).
2. Update to v2 with minimumHealthyPercent 50 / maximumPercent 150: at every
   poll, RUNNING tasks stay >= ceil(3 x 50%) = 2 and tasks not STOPPED stay
   <= floor(3 x 150%) = 4, and every RUNNING task answers HTTP; the rollout
   completes with 3 v2 tasks.
3. Update to an image that cannot be pulled, with the circuit breaker on
   (rollback): the new deployment FAILS after 3 failed starts, the service
   rolls back to the v2 deployment by itself, and v2 keeps serving with 3
   tasks at every poll.
"""
import http.client
import math
import time
import unittest

from agent_harness import wait_for
from test_agent_tasks import AgentTaskTestBase, container_named
from test_events import all_events

MIN_HEALTHY = 50
MAX_PERCENT = 150
DESIRED = 3


def http_body(port, timeout=2.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/")
        return conn.getresponse().read().decode(errors="replace").strip()
    finally:
        conn.close()


class ServiceRolloutTest(AgentTaskTestBase):

    def web(self, text):
        # httpd as PID 1 ignores SIGTERM: a short stopTimeout keeps stops quick.
        script = "mkdir -p /www && echo %s > /www/index.html && exec httpd -f -p 80 -h /www" % text
        return self.container("web", entryPoint=["sh", "-c"], command=[script], memory=16, stopTimeout=2,
                              portMappings=[{"containerPort": 80}])

    def service(self, name):
        out = self.ecs.describe_services(cluster=self.cluster, services=[name])
        self.assertEqual(out["failures"], [])
        return out["services"][0]

    def live_tasks(self, name):
        """Every task of the service that is not STOPPED (desired RUNNING or being stopped)."""
        # A task whose stop is requested between the two calls is in both
        # lists: count each task once.
        arns = []
        for desired in ("RUNNING", "STOPPED"):
            for arn in self.ecs.list_tasks(cluster=self.cluster, serviceName=name, desiredStatus=desired)["taskArns"]:
                if arn not in arns:
                    arns.append(arn)
        tasks = []
        for i in range(0, len(arns), 100):
            tasks += self.ecs.describe_tasks(cluster=self.cluster, tasks=arns[i:i + 100])["tasks"]
        return [t for t in tasks if t["lastStatus"] != "STOPPED"]

    def serving(self, tasks):
        """(task definition ARN, body) of every RUNNING task that answers on its host port."""
        out = []
        for t in tasks:
            if t["lastStatus"] != "RUNNING" or t["desiredStatus"] != "RUNNING":
                continue
            bindings = container_named(t, "web").get("networkBindings", [])
            if not bindings:
                continue
            try:
                out.append((t["taskDefinitionArn"], http_body(bindings[0]["hostPort"])))
            except OSError:
                pass  # httpd still binding in a task that just started
        return out

    def wait_stable(self, name, timeout=60):
        self.ecs.get_waiter("services_stable").wait(cluster=self.cluster, services=[name],
                                                    WaiterConfig={"Delay": 1, "MaxAttempts": timeout})
        return self.service(name)

    def tearDown(self):
        for name in getattr(self, "services", []):
            try:
                self.ecs.delete_service(cluster=self.cluster, service=name, force=True)
                wait_for(lambda: self.live_tasks(name), lambda t: t == [], 60, interval=0.5,
                         what="service %s tasks to stop" % name)
            except Exception as e:  # noqa: BLE001 - teardown goes on; the test already reported
                print("teardown of service %s: %s" % (name, e))
        super().tearDown()

    def test_rolling_update_respects_bounds_then_circuit_breaker_rolls_back(self):
        name = "web-%d" % (int(time.time() * 1000) % 10000000)
        self.services = [name]
        v1 = self.register([self.web("v1")], networkMode="bridge")
        v2 = self.register([self.web("v2")], networkMode="bridge")
        broken = self.register([self.container("web", image=self.image.rsplit("/", 2)[0] + "/test/does-not-exist:1",
                                               memory=16)], networkMode="bridge")

        # 1. v1, 3 tasks, steady.
        created = self.ecs.create_service(
            cluster=self.cluster, serviceName=name, taskDefinition=v1, desiredCount=DESIRED,
            deploymentConfiguration={"minimumHealthyPercent": MIN_HEALTHY, "maximumPercent": MAX_PERCENT,
                                     "deploymentCircuitBreaker": {"enable": True, "rollback": True}})["service"]
        self.assertEqual(created["status"], "ACTIVE")
        self.assertEqual(len(created["deployments"]), 1)
        svc = self.wait_stable(name)
        self.assertEqual(svc["runningCount"], DESIRED)
        self.assertEqual(svc["deployments"][0]["rolloutState"], "COMPLETED")
        v1_deployment = svc["deployments"][0]["id"]
        self.assertTrue(any(e["message"] == "(service %s) has reached a steady state." % name for e in svc["events"]))
        tasks = self.live_tasks(name)
        self.assertEqual(len(tasks), DESIRED)
        self.assertTrue(all(t["group"] == "service:" + name and t["startedBy"] == v1_deployment for t in tasks))
        wait_for(lambda: self.serving(self.live_tasks(name)), lambda s: len(s) == DESIRED, 15,
                 what="3 v1 tasks answering HTTP")

        # 2. v2: watch the bounds at every poll until the rollout completes.
        floor = math.ceil(DESIRED * MIN_HEALTHY / 100)
        ceiling = math.floor(DESIRED * MAX_PERCENT / 100)
        self.ecs.update_service(cluster=self.cluster, service=name, taskDefinition=v2)
        polls, min_running, max_live = 0, DESIRED, 0
        deadline = time.time() + 90
        while True:
            tasks = self.live_tasks(name)
            running = [t for t in tasks if t["lastStatus"] == "RUNNING" and t["desiredStatus"] == "RUNNING"]
            polls += 1
            min_running = min(min_running, len(running))
            max_live = max(max_live, len(tasks))
            self.assertGreaterEqual(len(running), floor, "below minimumHealthyPercent at poll %d: %r" % (
                polls, [(t["taskDefinitionArn"], t["lastStatus"], t["desiredStatus"]) for t in tasks]))
            self.assertLessEqual(len(tasks), ceiling, "above maximumPercent at poll %d" % polls)
            svc = self.service(name)
            if (len(svc["deployments"]) == 1 and svc["deployments"][0]["taskDefinition"] == v2
                    and svc["deployments"][0]["rolloutState"] == "COMPLETED" and svc["runningCount"] == DESIRED):
                break
            self.assertLess(time.time(), deadline, "v2 rollout did not complete: %r" % svc["deployments"])
            time.sleep(0.2)
        print("v2 rollout: %d polls, fewest RUNNING %d (floor %d), most live %d (ceiling %d)"
              % (polls, min_running, floor, max_live, ceiling))
        self.assertGreater(polls, 1)
        v2_deployment = svc["deployments"][0]["id"]
        self.assertNotEqual(v2_deployment, v1_deployment)
        bodies = wait_for(lambda: self.serving(self.live_tasks(name)), lambda s: len(s) == DESIRED, 15,
                          what="3 v2 tasks answering HTTP")
        self.assertEqual(sorted(b for _, b in bodies), ["v2"] * DESIRED)
        messages = [e["message"] for e in svc["events"]]
        self.assertTrue(any(m.startswith("(service %s) has started" % name) for m in messages), messages)
        self.assertIn("(service %s) (deployment %s) deployment completed." % (name, v2_deployment), messages)

        # 3. An image that cannot be pulled: the breaker trips after 3 failed
        # starts and the service rolls back to v2, which serves throughout.
        self.ecs.update_service(cluster=self.cluster, service=name, taskDefinition=broken,
                                deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 200})
        seen_broken = False
        deadline = time.time() + 120
        while True:
            tasks = self.live_tasks(name)
            v2_running = [t for t in tasks if t["taskDefinitionArn"] == v2 and t["lastStatus"] == "RUNNING"]
            self.assertEqual(len(v2_running), DESIRED, "v2 must keep serving during the failed rollout")
            svc = self.service(name)
            for d in svc["deployments"]:
                if d["taskDefinition"] == broken:
                    seen_broken = True
                    if d["rolloutState"] == "FAILED":  # visible until its last task is gone
                        self.assertEqual(d["rolloutStateReason"], "ECS deployment circuit breaker: task failed to start.")
                        self.assertGreaterEqual(d["failedTasks"], 3)
            primary = svc["deployments"][0]
            if (primary["id"] == v2_deployment and primary["rolloutState"] == "COMPLETED"
                    and len(svc["deployments"]) == 1 and any("deployment failed" in e["message"] for e in svc["events"])):
                break
            self.assertLess(time.time(), deadline, "no rollback: %r" % svc["deployments"])
            time.sleep(0.3)
        self.assertEqual(svc["taskDefinition"], v2)
        stopped = self.ecs.list_tasks(cluster=self.cluster, serviceName=name, desiredStatus="STOPPED")["taskArns"]
        failed_tasks = [t for t in self.ecs.describe_tasks(cluster=self.cluster, tasks=stopped[:100])["tasks"]
                        if t["taskDefinitionArn"] == broken]
        # At least the threshold's worth failed to start; replacements that
        # were still pulling when the breaker tripped were stopped by the
        # scheduler (the rollback), none of them ever ran.
        failed_to_start = [t for t in failed_tasks if t["stopCode"] == "TaskFailedToStart"]
        self.assertGreaterEqual(len(failed_to_start), 3, failed_tasks)
        self.assertTrue(all(t["stopCode"] in ("TaskFailedToStart", "ServiceSchedulerInitiated") for t in failed_tasks))
        self.assertTrue(all("startedAt" not in t for t in failed_tasks), failed_tasks)
        failed_id = failed_tasks[0]["startedBy"]
        print("broken deployment %s seen in deployments: %s" % (failed_id, seen_broken))
        messages = [e["message"] for e in svc["events"]]
        self.assertIn("(service %s) (deployment %s) deployment failed: tasks failed to start." % (name, failed_id),
                      messages)
        self.assertIn("(service %s) rolling back to deployment %s." % (name, v2_deployment), messages)
        bodies = self.serving(self.live_tasks(name))
        self.assertEqual(sorted(b for _, b in bodies), ["v2"] * DESIRED)

        # The same story as EventBridge events (/berth/events).
        events, _ = all_events(self.server, cluster=self.cluster)
        ours = [e for e in events if e["resources"] == [svc["serviceArn"]]]
        deployment_events = [(e["detail"]["eventName"], e["detail"]["deploymentId"]) for e in ours
                             if e["detail-type"] == "ECS Deployment State Change"]
        self.assertIn(("SERVICE_DEPLOYMENT_COMPLETED", v1_deployment), deployment_events)
        self.assertIn(("SERVICE_DEPLOYMENT_COMPLETED", v2_deployment), deployment_events)
        self.assertIn(("SERVICE_DEPLOYMENT_FAILED", failed_id), deployment_events)
        self.assertIn(("SERVICE_DEPLOYMENT_IN_PROGRESS", v2_deployment), deployment_events)  # the rollback
        failed_event = next(e for e in ours if e["detail"].get("eventName") == "SERVICE_DEPLOYMENT_FAILED")
        self.assertEqual(failed_event["detail"]["eventType"], "ERROR")
        self.assertEqual(failed_event["detail"]["reason"], "ECS deployment circuit breaker: task failed to start.")
        self.assertEqual(failed_event["source"], "aws.ecs")
        actions = [e["detail"]["eventName"] for e in ours if e["detail-type"] == "ECS Service Action"]
        self.assertIn("SERVICE_STEADY_STATE", actions)
        task_events = [e for e in events if e["detail-type"] == "ECS Task State Change"
                       and e["detail"].get("startedBy") == failed_id and e["detail"]["lastStatus"] == "STOPPED"
                       and e["detail"].get("stopCode") == "TaskFailedToStart"]
        self.assertGreaterEqual(len(task_events), 3)


if __name__ == "__main__":
    unittest.main()
