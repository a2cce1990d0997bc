"""Container instances and tasks through real boto3 and the AWS CLI, with the
agent simulated over the API: RegisterContainerInstance as the agent does it,
BerthAgentService_V1.PollTasks for the task channel, SubmitTaskStateChange /
SubmitContainerStateChange for reports. No real agent or runtime is needed."""
import json
import re
import threading
import time
import unittest

from botocore.exceptions import ClientError

from berth_harness import ACCOUNT, REGION, ServerTestCase

AGENT_TARGET = "BerthAgentService_V1."


def resources(cpu, memory, ports=("22", "2375", "2376", "51678", "51679")):
    return [{"name": "CPU", "type": "INTEGER", "integerValue": cpu},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
            {"name": "PORTS", "type": "STRINGSET", "stringSetValue": list(ports)},
            {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []}]


def value(resource_list, name):
    for r in resource_list:
        if r["name"] == name:
            return r["stringSetValue"] if r["type"] == "STRINGSET" else r["integerValue"]
    raise AssertionError("no resource %s in %r" % (name, resource_list))


class TasksApiTest(ServerTestCase):
    def setUp(self):
        self.ecs = self.server.boto3_client()
        self.cluster = self.unique("c")
        self.ecs.create_cluster(clusterName=self.cluster)
        self.family = self.unique("web")
        self.ecs.register_task_definition(
            family=self.family,
            containerDefinitions=[
                {"name": "app", "image": "busybox", "cpu": 256, "memory": 512, "essential": True,
                 "command": ["sleep", "3600"], "portMappings": [{"containerPort": 80, "hostPort": 8080}]},
                {"name": "log", "image": "busybox", "memory": 64, "essential": False}])

    # --- the simulated agent ---------------------------------------------
    def register_instance(self, cpu=2048, memory=3900, **extra):
        return self.ecs.register_container_instance(
            cluster=self.cluster, totalResources=resources(cpu, memory),
            versionInfo={"agentVersion": "0.1.0", "agentHash": "test", "dockerVersion": "runc"},
            attributes=[{"name": "ecs.availability-zone", "value": "eu-west-3a"},
                        {"name": "ecs.os-type", "value": "linux"},
                        {"name": "ecs.cpu-architecture", "value": "x86_64"}],
            **extra)["containerInstance"]

    def poll(self, instance_arn, since=0, wait=0, cluster=None):
        status, headers, body = self.server.raw(
            {"cluster": cluster or self.cluster, "containerInstance": instance_arn,
             "sinceVersion": since, "waitSeconds": wait},
            target=AGENT_TARGET + "PollTasks")
        return status, json.loads(body)

    def describe_task(self, arn):
        out = self.ecs.describe_tasks(cluster=self.cluster, tasks=[arn], include=["TAGS"])
        self.assertEqual(out["failures"], [])
        return out["tasks"][0]

    def describe_instance(self, arn):
        out = self.ecs.describe_container_instances(cluster=self.cluster, containerInstances=[arn])
        self.assertEqual(out["failures"], [])
        return out["containerInstances"][0]

    # --- tests -----------------------------------------------------------
    def test_register_container_instance_like_an_agent(self):
        ci = self.register_instance(tags=[{"key": "team", "value": "infra"}])
        arn = ci["containerInstanceArn"]
        self.assertRegex(arn, r"^arn:aws:ecs:%s:%s:container-instance/%s/[0-9a-f]{32}$" % (REGION, ACCOUNT, self.cluster))
        self.assertRegex(ci["ec2InstanceId"], r"^i-[0-9a-f]{17}$")
        self.assertEqual(ci["status"], "ACTIVE")
        self.assertTrue(ci["agentConnected"])
        self.assertEqual(ci["registeredResources"], ci["remainingResources"])
        cpu = ci["registeredResources"][0]
        self.assertEqual(cpu, {"name": "CPU", "type": "INTEGER", "doubleValue": 0.0, "longValue": 0, "integerValue": 2048})
        self.assertEqual(value(ci["registeredResources"], "PORTS"), ["22", "2375", "2376", "51678", "51679"])
        self.assertEqual(ci["versionInfo"]["agentVersion"], "0.1.0")
        self.assertEqual(ci["runningTasksCount"], 0)
        self.assertEqual(ci["pendingTasksCount"], 0)

        # Re-registration after an agent restart keeps the identity.
        again = self.register_instance(containerInstanceArn=arn)
        self.assertEqual(again["containerInstanceArn"], arn)
        listed = self.ecs.list_container_instances(cluster=self.cluster)["containerInstanceArns"]
        self.assertEqual(listed, [arn])
        self.assertEqual(self.ecs.describe_container_instances(
            cluster=self.cluster, containerInstances=[arn], include=["TAGS"])["containerInstances"][0]["tags"],
            [{"key": "team", "value": "infra"}])
        cluster = self.ecs.describe_clusters(clusters=[self.cluster])["clusters"][0]
        self.assertEqual(cluster["registeredContainerInstancesCount"], 1)

        zone = self.ecs.list_container_instances(cluster=self.cluster, filter="attribute:ecs.availability-zone == eu-west-3a")
        self.assertEqual(zone["containerInstanceArns"], [arn])
        either = self.ecs.list_container_instances(
            cluster=self.cluster, filter="attribute:a == b or attribute:ecs.availability-zone == eu-west-3a")
        self.assertEqual(either["containerInstanceArns"], [arn])
        with self.assertRaises(ClientError) as e:
            self.ecs.list_container_instances(cluster=self.cluster, filter="attribute:a == b or")
        self.assertEqual(e.exception.response["Error"]["Code"], "InvalidParameterException")

    def test_task_lifecycle_with_a_simulated_agent(self):
        ci = self.register_instance()
        ci_arn = ci["containerInstanceArn"]
        status, first = self.poll(ci_arn)
        self.assertEqual(status, 200, first)
        self.assertEqual(first["tasks"], [])
        self.assertEqual(first["containerInstanceStatus"], "ACTIVE")

        run = self.ecs.run_task(cluster=self.cluster, taskDefinition=self.family, startedBy="it-test",
                                tags=[{"key": "k", "value": "v"}])
        self.assertEqual(run["failures"], [])
        self.assertEqual(len(run["tasks"]), 1)
        task = run["tasks"][0]
        arn = task["taskArn"]
        self.assertRegex(arn, r"^arn:aws:ecs:%s:%s:task/%s/[0-9a-f]{32}$" % (REGION, ACCOUNT, self.cluster))
        self.assertEqual(task["lastStatus"], "PENDING")
        self.assertEqual(task["desiredStatus"], "RUNNING")
        self.assertEqual(task["containerInstanceArn"], ci_arn)
        self.assertEqual(task["group"], "family:" + self.family)
        self.assertEqual(task["launchType"], "EC2")
        self.assertEqual(task["availabilityZone"], "eu-west-3a")
        self.assertEqual([c["lastStatus"] for c in task["containers"]], ["PENDING", "PENDING"])

        # PENDING, assigned, resources reserved.
        inst = self.describe_instance(ci_arn)
        self.assertEqual(value(inst["remainingResources"], "CPU"), 2048 - 256)
        self.assertEqual(value(inst["remainingResources"], "MEMORY"), 3900 - 576)
        self.assertIn("8080", value(inst["remainingResources"], "PORTS"))
        self.assertEqual(inst["pendingTasksCount"], 1)
        self.assertEqual(self.ecs.list_tasks(cluster=self.cluster)["taskArns"], [arn])
        self.assertEqual(self.ecs.list_tasks(cluster=self.cluster, containerInstance=ci_arn)["taskArns"], [arn])
        self.assertEqual(self.ecs.list_tasks(cluster=self.cluster, startedBy="it-test")["taskArns"], [arn])
        self.assertEqual(self.ecs.list_tasks(cluster=self.cluster, family=self.family)["taskArns"], [arn])

        # The agent channel delivers it at once, with its task definition.
        start = time.time()
        status, got = self.poll(ci_arn, since=first["version"], wait=10)
        self.assertLess(time.time() - start, 5)
        self.assertEqual([t["taskArn"] for t in got["tasks"]], [arn])
        self.assertEqual(got["tasks"][0]["taskDefinition"]["family"], self.family)
        self.assertEqual(got["tasks"][0]["tags"], [{"key": "k", "value": "v"}])
        version = got["version"]

        # The agent reports RUNNING.
        ack = self.ecs.submit_task_state_change(
            cluster=self.cluster, task=arn, status="RUNNING", pullStartedAt=time.time() - 2, pullStoppedAt=time.time() - 1,
            containers=[{"containerName": "app", "status": "RUNNING", "runtimeId": "rt-app",
                         "networkBindings": [{"bindIP": "0.0.0.0", "containerPort": 80, "hostPort": 8080, "protocol": "tcp"}]},
                        {"containerName": "log", "status": "RUNNING", "runtimeId": "rt-log"}])
        self.assertEqual(ack["acknowledgment"], "ACK")
        t = self.describe_task(arn)
        self.assertEqual(t["lastStatus"], "RUNNING")
        self.assertIn("startedAt", t)
        self.assertIn("pullStartedAt", t)
        self.assertEqual(t["containers"][0]["runtimeId"], "rt-app")
        self.assertEqual(t["containers"][0]["networkBindings"][0]["hostPort"], 8080)
        inst = self.describe_instance(ci_arn)
        self.assertEqual((inst["runningTasksCount"], inst["pendingTasksCount"]), (1, 0))
        cluster = self.ecs.describe_clusters(clusters=[self.cluster])["clusters"][0]
        self.assertEqual(cluster["runningTasksCount"], 1)

        # Never backward.
        self.ecs.submit_task_state_change(cluster=self.cluster, task=arn, status="PENDING")
        self.assertEqual(self.describe_task(arn)["lastStatus"], "RUNNING")

        # The agent's next poll sees its own report; nothing else is pending.
        status, got = self.poll(ci_arn, since=version, wait=5)
        self.assertEqual(got["tasks"][0]["lastStatus"], "RUNNING")
        version = got["version"]

        # StopTask while the agent waits on the channel: the poll returns with desiredStatus STOPPED.
        result = {}
        waiter = threading.Thread(target=lambda: result.update(zip(("status", "body"), self.poll(ci_arn, since=version, wait=15))))
        waiter.start()
        time.sleep(0.3)
        stopped = self.ecs.stop_task(cluster=self.cluster, task=arn)["task"]
        waiter.join(10)
        self.assertFalse(waiter.is_alive())
        self.assertEqual(stopped["desiredStatus"], "STOPPED")
        self.assertEqual(stopped["lastStatus"], "RUNNING")
        self.assertEqual(stopped["stopCode"], "UserInitiated")
        self.assertEqual(stopped["stoppedReason"], "Task stopped by user")
        self.assertEqual(result["status"], 200)
        self.assertEqual(result["body"]["tasks"][0]["desiredStatus"], "STOPPED")
        self.assertEqual(self.ecs.list_tasks(cluster=self.cluster, desiredStatus="STOPPED")["taskArns"], [arn])

        # The agent stops the containers and reports STOPPED: resources come back.
        self.ecs.submit_container_state_change(cluster=self.cluster, task=arn, containerName="app",
                                               status="STOPPED", exitCode=143, reason="SIGTERM")
        self.ecs.submit_task_state_change(cluster=self.cluster, task=arn, status="STOPPED",
                                          executionStoppedAt=time.time(),
                                          containers=[{"containerName": "log", "status": "STOPPED", "exitCode": 0}])
        t = self.describe_task(arn)
        self.assertEqual(t["lastStatus"], "STOPPED")
        self.assertEqual([c["lastStatus"] for c in t["containers"]], ["STOPPED", "STOPPED"])
        self.assertEqual(t["containers"][0]["exitCode"], 143)
        self.assertEqual(t["stopCode"], "UserInitiated")
        for f in ("stoppingAt", "executionStoppedAt", "stoppedAt"):
            self.assertIn(f, t)
        inst = self.describe_instance(ci_arn)
        self.assertEqual(inst["remainingResources"], inst["registeredResources"])
        self.assertEqual((inst["runningTasksCount"], inst["pendingTasksCount"]), (0, 0))
        self.assertEqual(self.ecs.list_tasks(cluster=self.cluster)["taskArns"], [])

    def test_placement_failures_and_errors(self):
        with self.assertRaises(ClientError) as e:
            self.ecs.run_task(cluster=self.cluster, taskDefinition=self.family)
        self.assertEqual(e.exception.response["Error"]["Code"], "InvalidParameterException")
        self.assertIn("No Container Instances", e.exception.response["Error"]["Message"])

        ci = self.register_instance(cpu=1024, memory=3000)["containerInstanceArn"]
        run = self.ecs.run_task(cluster=self.cluster, taskDefinition=self.family, count=3)
        self.assertEqual(len(run["tasks"]), 1)  # the second copy needs host port 8080 too
        self.assertEqual(run["failures"], [{"arn": ci, "reason": "RESOURCE:PORTS"}])

        missing = "0123456789abcdef0123456789abcdef"
        out = self.ecs.describe_tasks(cluster=self.cluster, tasks=[missing])
        self.assertEqual(out["failures"], [{"arn": "arn:aws:ecs:%s:%s:task/%s/%s" % (REGION, ACCOUNT, self.cluster, missing),
                                            "reason": "MISSING"}])
        out = self.ecs.describe_container_instances(cluster=self.cluster, containerInstances=[missing])
        self.assertEqual(out["failures"][0]["reason"], "MISSING")

        with self.assertRaises(ClientError) as e:
            self.ecs.run_task(cluster=self.cluster, taskDefinition="no-such-family")
        self.assertEqual(e.exception.response["Error"]["Code"], "ClientException")
        with self.assertRaises(ClientError) as e:
            self.ecs.run_task(cluster="no-such-cluster", taskDefinition=self.family)
        self.assertEqual(e.exception.response["Error"]["Code"], "ClusterNotFoundException")

        # Draining: no new placements.
        self.ecs.update_container_instances_state(cluster=self.cluster, containerInstances=[ci], status="DRAINING")
        self.assertEqual(self.ecs.list_container_instances(cluster=self.cluster, status="DRAINING")["containerInstanceArns"], [ci])
        self.assertEqual(self.ecs.run_task(cluster=self.cluster, taskDefinition=self.family)["tasks"], [])

        # Deregistration refuses while tasks run, unless forced.
        with self.assertRaises(ClientError) as e:
            self.ecs.deregister_container_instance(cluster=self.cluster, containerInstance=ci)
        self.assertEqual(e.exception.response["Error"]["Code"], "InvalidParameterException")
        gone = self.ecs.deregister_container_instance(cluster=self.cluster, containerInstance=ci, force=True)["containerInstance"]
        self.assertEqual(gone["status"], "INACTIVE")
        task = self.describe_task(run["tasks"][0]["taskArn"])
        self.assertEqual((task["lastStatus"], task["desiredStatus"]), ("STOPPED", "STOPPED"))
        self.assertEqual(self.ecs.list_container_instances(cluster=self.cluster)["containerInstanceArns"], [])
        status, body = self.poll(ci)
        self.assertEqual(status, 200)
        self.assertEqual(body["containerInstanceStatus"], "INACTIVE")
        self.ecs.delete_cluster(cluster=self.cluster)

    def test_poll_tasks_checks_input_and_times_out(self):
        ci = self.register_instance()["containerInstanceArn"]
        status, body = self.poll(ci, since=-1)
        self.assertEqual(status, 400)
        self.assertEqual(body["__type"], "InvalidParameterException")
        status, body = self.poll(ci, wait=60)
        self.assertEqual(status, 400)
        status, body = self.poll("0123456789abcdef0123456789abcdef")
        self.assertEqual(status, 400)
        self.assertEqual(body["__type"], "ClientException")
        status, first = self.poll(ci)
        start = time.time()
        status, body = self.poll(ci, since=first["version"], wait=1)
        self.assertGreaterEqual(time.time() - start, 0.9)
        self.assertEqual(status, 200)
        self.assertEqual(body["version"], first["version"])
        status, headers, payload = self.server.raw({}, target=AGENT_TARGET + "NoSuchOp")
        self.assertEqual(status, 400)

    def test_aws_cli(self):
        ci = self.server.aws("ecs", "register-container-instance", "--cluster", self.cluster,
                             "--total-resources", json.dumps(resources(4096, 8192)))["containerInstance"]
        ci_arn = ci["containerInstanceArn"]
        out = self.server.aws("ecs", "describe-container-instances", "--cluster", self.cluster,
                              "--container-instances", ci_arn)
        self.assertEqual(out["containerInstances"][0]["status"], "ACTIVE")
        run = self.server.aws("ecs", "run-task", "--cluster", self.cluster, "--task-definition", self.family,
                              "--overrides", json.dumps({"containerOverrides": [{"name": "app", "command": ["echo", "hi"],
                                                                                 "environment": [{"name": "X", "value": "1"}]}]}))
        arn = run["tasks"][0]["taskArn"]
        self.assertEqual(run["tasks"][0]["overrides"]["containerOverrides"][0]["command"], ["echo", "hi"])
        listed = self.server.aws("ecs", "list-tasks", "--cluster", self.cluster)
        self.assertEqual(listed["taskArns"], [arn])
        described = self.server.aws("ecs", "describe-tasks", "--cluster", self.cluster, "--tasks", arn)
        self.assertEqual(described["tasks"][0]["lastStatus"], "PENDING")
        stopped = self.server.aws("ecs", "stop-task", "--cluster", self.cluster, "--task", arn, "--reason", "done here")
        self.assertEqual(stopped["task"]["desiredStatus"], "STOPPED")
        self.assertEqual(stopped["task"]["stoppedReason"], "done here")
        inst = self.server.aws("ecs", "describe-container-instances", "--cluster", self.cluster,
                               "--container-instances", ci_arn)["containerInstances"][0]
        self.assertEqual(inst["pendingTasksCount"], 1)
        started = self.server.aws("ecs", "start-task", "--cluster", self.cluster, "--task-definition", self.family,
                                  "--container-instances", ci_arn, "--group", "service:api")
        self.assertEqual(started["failures"], [{"arn": ci_arn, "reason": "RESOURCE:PORTS"}])


if __name__ == "__main__":
    unittest.main()
