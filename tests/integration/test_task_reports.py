"""What the agent reports beyond statuses (issue #5), through real boto3 and the
AWS CLI against a real `berth server`. The test plays the agent: it registers a
container instance and calls SubmitTaskStateChange itself (raw, signed, for the
Berth members boto3 does not know: containers[].healthStatus and
networkInterface). Shows dynamic host ports in networkBindings and in the
instance's remaining PORTS, the awsvpc ENI attachment in describe-tasks, and
task health."""
import json
import re
import unittest

from botocore.exceptions import ClientError

from berth_harness import ServerTestCase

ECS_TARGET = "AmazonEC2ContainerServiceV20141113."


def resources(cpu=2048, memory=4096):
    return [{"name": "CPU", "type": "INTEGER", "integerValue": cpu},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
            {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]},
            {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []}]


def value(resource_list, name):
    for r in resource_list:
        if r["name"] == name:
            return r["stringSetValue"] if r["type"] == "STRINGSET" else r["integerValue"]
    raise AssertionError("no resource %s in %r" % (name, resource_list))


def details(attachment):
    return {d["name"]: d["value"] for d in attachment["details"]}


class TaskReportsTest(ServerTestCase):
    def setUp(self):
        self.ecs = self.server.boto3_client()
        self.addCleanup(self.ecs.close)
        self.cluster = self.unique("ctl")
        self.ecs.create_cluster(clusterName=self.cluster)
        self.instance = self.ecs.register_container_instance(
            cluster=self.cluster, totalResources=resources(),
            versionInfo={"agentVersion": "0.1.0", "agentHash": "test", "dockerVersion": "runc"},
            attributes=[{"name": "ecs.os-type", "value": "linux"}])["containerInstance"]["containerInstanceArn"]

    def report(self, body):
        """SubmitTaskStateChange as the agent sends it, Berth members included."""
        body = dict(body, cluster=self.cluster)
        status, _, out = self.server.raw(body, target=ECS_TARGET + "SubmitTaskStateChange")
        self.assertEqual(status, 200, out)
        return json.loads(out)

    def remaining(self, name):
        out = self.server.aws("ecs", "describe-container-instances", "--cluster", self.cluster,
                              "--container-instances", self.instance)
        return value(out["containerInstances"][0]["remainingResources"], name)

    def describe(self, arn):
        return self.ecs.describe_tasks(cluster=self.cluster, tasks=[arn])["tasks"][0]

    def test_dynamic_host_ports_are_held_while_the_task_runs(self):
        dynamic = self.unique("dyn")
        self.ecs.register_task_definition(family=dynamic, containerDefinitions=[
            {"name": "web", "image": "busybox", "memory": 64, "portMappings": [{"containerPort": 80, "hostPort": 0}]}])
        fixed = self.unique("fixed")
        self.ecs.register_task_definition(family=fixed, containerDefinitions=[
            {"name": "web", "image": "busybox", "memory": 64, "portMappings": [{"containerPort": 80, "hostPort": 32768}]}])
        arn = self.ecs.run_task(cluster=self.cluster, taskDefinition=dynamic)["tasks"][0]["taskArn"]
        self.assertEqual(self.remaining("PORTS"), ["22"])

        binding = {"bindIP": "0.0.0.0", "containerPort": 80, "hostPort": 32768, "protocol": "tcp"}
        self.assertEqual(self.report({"task": arn, "status": "RUNNING", "containers": [
            {"containerName": "web", "status": "RUNNING", "networkBindings": [binding]}]})["acknowledgment"], "ACK")
        self.assertEqual(self.describe(arn)["containers"][0]["networkBindings"], [binding])
        self.assertEqual(self.remaining("PORTS"), ["22", "32768"])

        # The static port is taken now: placement says so.
        run = self.ecs.run_task(cluster=self.cluster, taskDefinition=fixed)
        self.assertEqual(run["tasks"], [])
        self.assertEqual(run["failures"], [{"arn": self.instance, "reason": "RESOURCE:PORTS"}])

        self.report({"task": arn, "status": "STOPPED",
                     "containers": [{"containerName": "web", "status": "STOPPED", "exitCode": 0}]})
        self.assertEqual(self.remaining("PORTS"), ["22"])
        self.assertEqual(len(self.ecs.run_task(cluster=self.cluster, taskDefinition=fixed)["tasks"]), 1)

    def test_awsvpc_task_gets_an_eni_attachment(self):
        family = self.unique("vpc")
        self.ecs.register_task_definition(family=family, networkMode="awsvpc", containerDefinitions=[
            {"name": "app", "image": "busybox", "memory": 64}])
        with self.assertRaises(ClientError) as e:
            self.ecs.run_task(cluster=self.cluster, taskDefinition=family)
        self.assertEqual(e.exception.response["Error"]["Code"], "InvalidParameterException")
        self.assertEqual(e.exception.response["Error"]["Message"],
                         "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
        with self.assertRaises(ClientError) as e:
            self.ecs.run_task(cluster=self.cluster, taskDefinition=family, networkConfiguration={
                "awsvpcConfiguration": {"subnets": ["subnet-1"], "assignPublicIp": "ENABLED"}})
        self.assertEqual(e.exception.response["Error"]["Message"], "Assign public IP is not supported for this launch type.")

        out = self.server.aws("ecs", "run-task", "--cluster", self.cluster, "--task-definition", family,
                              "--network-configuration",
                              "awsvpcConfiguration={subnets=[subnet-0ctl],securityGroups=[sg-0ctl],assignPublicIp=DISABLED}")
        task = out["tasks"][0]
        arn = task["taskArn"]
        self.assertEqual(task["lastStatus"], "PROVISIONING")
        [attachment] = task["attachments"]
        self.assertEqual(attachment["type"], "ElasticNetworkInterface")
        self.assertEqual(attachment["status"], "PRECREATED")
        self.assertEqual(details(attachment), {"subnetId": "subnet-0ctl"})

        self.report({"task": arn, "status": "RUNNING",
                     "containers": [{"containerName": "app", "status": "RUNNING"}],
                     "networkInterface": {"privateIPv4Address": "10.214.0.5", "macAddress": "0e:aa:bb:cc:dd:ee",
                                          "ipv4SubnetCidrBlock": "10.214.0.0/24", "gatewayIpv4Address": "10.214.0.1"}})
        task = self.describe(arn)
        [attachment] = task["attachments"]
        self.assertEqual(attachment["id"], task["containers"][0]["networkInterfaces"][0]["attachmentId"])
        self.assertEqual(attachment["status"], "ATTACHED")
        d = details(attachment)
        self.assertRegex(d.pop("networkInterfaceId"), r"^eni-[0-9a-f]{17}$")
        self.assertEqual(d, {"subnetId": "subnet-0ctl", "macAddress": "0e:aa:bb:cc:dd:ee",
                             "privateDnsName": "ip-10-214-0-5.eu-west-3.compute.internal",
                             "privateIPv4Address": "10.214.0.5"})
        self.assertEqual(task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"], "10.214.0.5")
        self.assertEqual(self.remaining("PORTS"), ["22"])

        self.report({"task": arn, "status": "STOPPED"})
        self.assertEqual(self.describe(arn)["attachments"][0]["status"], "DELETED")

    def test_task_health_follows_essential_containers(self):
        family = self.unique("hc")
        check = {"command": ["CMD-SHELL", "true"], "interval": 5}
        self.ecs.register_task_definition(family=family, containerDefinitions=[
            {"name": "app", "image": "busybox", "memory": 64, "healthCheck": check},
            {"name": "sidecar", "image": "busybox", "memory": 64, "essential": False, "healthCheck": check}])
        arn = self.ecs.run_task(cluster=self.cluster, taskDefinition=family)["tasks"][0]["taskArn"]

        def health():
            t = self.describe(arn)
            return [t["healthStatus"]] + [c["healthStatus"] for c in t["containers"]]

        self.assertEqual(health(), ["UNKNOWN", "UNKNOWN", "UNKNOWN"])
        self.report({"task": arn, "status": "RUNNING", "containers": [
            {"containerName": "app", "status": "RUNNING", "healthStatus": "HEALTHY"},
            {"containerName": "sidecar", "status": "RUNNING", "healthStatus": "UNHEALTHY"}]})
        self.assertEqual(health(), ["HEALTHY", "HEALTHY", "UNHEALTHY"])
        self.report({"task": arn, "containers": [{"containerName": "app", "healthStatus": "UNHEALTHY"}]})
        self.assertEqual(health(), ["UNHEALTHY", "UNHEALTHY", "UNHEALTHY"])
        self.report({"task": arn, "containers": [{"containerName": "app", "healthStatus": "HEALTHY"}]})
        self.assertEqual(health()[0], "HEALTHY")
        status, _, out = self.server.raw({"cluster": self.cluster, "task": arn, "containers": [
            {"containerName": "app", "healthStatus": "GREEN"}]}, target=ECS_TARGET + "SubmitTaskStateChange")
        self.assertEqual(status, 400, out)
        self.assertEqual(json.loads(out)["__type"], "InvalidParameterException")


if __name__ == "__main__":
    unittest.main()
