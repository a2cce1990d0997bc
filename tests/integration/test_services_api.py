"""ECS services through the real AWS CLI and boto3 against a `berth server`
(no agent): CreateService, DescribeServices, ListServices, UpdateService,
DeleteService, the services-inactive waiter and the services' error codes.
The server's service controller runs too: where it changes what a call left
behind (events, dropped deployments, DRAINING -> INACTIVE) the test waits for it.
Task definitions are registered with the AWS CLI, as a user would."""
import json
import re
import unittest

from botocore.exceptions import ClientError

from agent_harness import wait_for
from berth_harness import ACCOUNT, REGION, ServerTestCase


def resources(cpu, memory):
    return [{"name": "CPU", "type": "INTEGER", "integerValue": cpu},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
            {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]},
            {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []}]


class ServicesApiTest(ServerTestCase):
    def setUp(self):
        self.ecs = self.server.boto3_client()
        self.cluster = self.unique("svc")
        self.server.aws("ecs", "create-cluster", "--cluster-name", self.cluster)
        self.family = self.unique("web")
        self.register_family("nginx:1")

    def register_family(self, image):
        containers = [{"name": "app", "image": image, "memory": 128, "portMappings": [{"containerPort": 80}]}]
        out = self.server.aws("ecs", "register-task-definition", "--family", self.family,
                              "--container-definitions", json.dumps(containers))
        return out["taskDefinition"]["taskDefinitionArn"]

    def arn(self, name):
        return "arn:aws:ecs:%s:%s:service/%s/%s" % (REGION, ACCOUNT, self.cluster, name)

    def create(self, name, desired=2, *extra):
        return self.server.aws("ecs", "create-service", "--cluster", self.cluster, "--service-name", name,
                               "--task-definition", self.family, "--desired-count", str(desired), *extra)["service"]

    def describe(self, name):
        out = self.ecs.describe_services(cluster=self.cluster, services=[name], include=["TAGS"])
        self.assertEqual(out["failures"], [])
        return out["services"][0]

    def error_code(self, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        return cm.exception.response["Error"]["Code"], cm.exception.response["Error"]["Message"]

    def cli_error(self, *args):
        proc = self.server.aws(*args, check=False)
        self.assertNotEqual(proc.returncode, 0, proc.stdout)
        return proc.stderr

    def test_create_and_describe_with_the_cli(self):
        svc = self.create("web", 2, "--tags", "key=env,value=prod", "--propagate-tags", "SERVICE",
                          "--deployment-configuration",
                          "maximumPercent=150,minimumHealthyPercent=50,deploymentCircuitBreaker={enable=true,rollback=true}")
        self.assertEqual(svc["serviceArn"], self.arn("web"))
        self.assertEqual(svc["status"], "ACTIVE")
        self.assertEqual(svc["desiredCount"], 2)
        self.assertEqual(svc["launchType"], "EC2")
        self.assertEqual(svc["schedulingStrategy"], "REPLICA")
        self.assertEqual(svc["deploymentController"], {"type": "ECS"})
        self.assertEqual(svc["deploymentConfiguration"],
                         {"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                          "maximumPercent": 150, "minimumHealthyPercent": 50})
        self.assertEqual(svc["tags"], [{"key": "env", "value": "prod"}])
        self.assertEqual(len(svc["deployments"]), 1)
        dep = svc["deployments"][0]
        self.assertRegex(dep["id"], r"^ecs-svc/\d{19}$")
        self.assertEqual(dep["status"], "PRIMARY")
        self.assertEqual(dep["rolloutState"], "IN_PROGRESS")
        self.assertEqual(dep["rolloutStateReason"], "ECS deployment %s in progress." % dep["id"])
        self.assertNotIn("berth", json.dumps(svc))

        # boto3 parses the shape: timestamps become datetimes, lists stay lists.
        d = self.describe("web")
        self.assertEqual(d["serviceName"], "web")
        # The controller runs: with no container instance it says why nothing starts.
        unplaceable = ("(service web) was unable to place a task because no container instance met all of its "
                       "requirements. Reason: No Container Instances were found in your cluster. "
                       "For more information, see the Troubleshooting section.")
        d = wait_for(lambda: self.describe("web"), lambda s: s["events"], 10, what="a service event")
        self.assertEqual([e["message"] for e in d["events"]], [unplaceable])
        self.assertTrue(d["events"][0]["id"])
        self.assertEqual(d["deployments"][0]["id"], dep["id"])
        self.assertEqual(d["deployments"][0]["createdAt"].year >= 2024, True)
        self.assertEqual(d["createdBy"], "arn:aws:iam::%s:root" % ACCOUNT)
        self.assertEqual(d["tags"], [{"key": "env", "value": "prod"}])
        self.assertNotIn("tags", self.ecs.describe_services(cluster=self.cluster, services=["web"])["services"][0])

        # Names, both ARN formats, and unknown ones.
        old_arn = "arn:aws:ecs:%s:%s:service/web" % (REGION, ACCOUNT)
        out = self.ecs.describe_services(cluster=self.cluster, services=["web", self.arn("web"), old_arn, "ghost"])
        self.assertEqual([s["serviceName"] for s in out["services"]], ["web", "web", "web"])
        self.assertEqual(out["failures"], [{"arn": self.arn("ghost"), "reason": "MISSING"}])

        # The same name again is refused; the same clientToken returns the service.
        code, message = self.error_code(self.ecs.create_service, cluster=self.cluster, serviceName="web",
                                        taskDefinition=self.family, desiredCount=1)
        self.assertEqual((code, message), ("InvalidParameterException", "Creation of service was not idempotent."))
        first = self.ecs.create_service(cluster=self.cluster, serviceName="tok", taskDefinition=self.family,
                                        desiredCount=1, clientToken="token-1")["service"]
        again = self.ecs.create_service(cluster=self.cluster, serviceName="tok", taskDefinition=self.family,
                                        desiredCount=1, clientToken="token-1")["service"]
        self.assertEqual(again["deployments"][0]["id"], first["deployments"][0]["id"])

        # The cluster counts it.
        cluster = self.ecs.describe_clusters(clusters=[self.cluster])["clusters"][0]
        self.assertEqual(cluster["activeServicesCount"], 2)

        # Service ARNs take tags.
        self.server.aws("ecs", "tag-resource", "--resource-arn", self.arn("web"), "--tags", "key=owner,value=me")
        tags = self.server.aws("ecs", "list-tags-for-resource", "--resource-arn", self.arn("web"))["tags"]
        self.assertEqual(sorted(t["key"] for t in tags), ["env", "owner"])

    def test_list_services_filters_and_pages(self):
        names = ["a%d" % i for i in range(5)]
        for n in names:
            self.create(n, 0)
        self.ecs.create_service(cluster=self.cluster, serviceName="daemon", taskDefinition=self.family,
                                schedulingStrategy="DAEMON")
        every = self.server.aws("ecs", "list-services", "--cluster", self.cluster)["serviceArns"]
        self.assertEqual(every, [self.arn(n) for n in names + ["daemon"]])
        daemons = self.ecs.list_services(cluster=self.cluster, schedulingStrategy="DAEMON")["serviceArns"]
        self.assertEqual(daemons, [self.arn("daemon")])
        self.assertEqual(self.ecs.list_services(cluster=self.cluster, launchType="FARGATE")["serviceArns"], [])
        page = self.ecs.list_services(cluster=self.cluster, maxResults=2)
        self.assertEqual(len(page["serviceArns"]), 2)
        seen = list(page["serviceArns"])
        while "nextToken" in page:
            page = self.ecs.list_services(cluster=self.cluster, maxResults=2, nextToken=page["nextToken"])
            seen += page["serviceArns"]
        self.assertEqual(seen, every)
        # The CLI paginates by itself with --page-size.
        paged = self.server.aws("ecs", "list-services", "--cluster", self.cluster, "--page-size", "4")["serviceArns"]
        self.assertEqual(paged, every)

    def test_update_service_new_deployment_and_resize(self):
        svc = self.create("web", 2)
        first = svc["deployments"][0]["id"]
        resized = self.server.aws("ecs", "update-service", "--cluster", self.cluster, "--service", "web",
                                  "--desired-count", "4")["service"]
        self.assertEqual(resized["desiredCount"], 4)
        self.assertEqual([(d["id"], d["desiredCount"]) for d in resized["deployments"]], [(first, 4)])

        v2 = self.register_family("nginx:2")
        updated = self.server.aws("ecs", "update-service", "--cluster", self.cluster, "--service", "web",
                                  "--task-definition", v2)["service"]
        self.assertEqual(updated["taskDefinition"], v2)
        self.assertEqual([d["status"] for d in updated["deployments"]], ["PRIMARY", "ACTIVE"])
        self.assertEqual(updated["deployments"][1]["id"], first)
        self.assertEqual(updated["deployments"][0]["taskDefinition"], v2)
        self.assertEqual(updated["deployments"][0]["desiredCount"], 4)

        forced = self.ecs.update_service(cluster=self.cluster, service="web", forceNewDeployment=True)["service"]
        statuses = [d["status"] for d in forced["deployments"]]
        self.assertEqual(statuses[0], "PRIMARY")
        self.assertNotIn(forced["deployments"][0]["id"], (first, updated["deployments"][0]["id"]))
        # Older deployments stay ACTIVE while they have tasks; these never had
        # any (no instances), so the controller drops them as INACTIVE.
        self.assertTrue(all(s == "ACTIVE" for s in statuses[1:]), statuses)
        described = wait_for(lambda: self.describe("web"), lambda s: len(s["deployments"]) == 1, 10,
                             what="older deployments without tasks to go INACTIVE")
        self.assertEqual(described["deployments"][0]["id"], forced["deployments"][0]["id"])

        code, _ = self.error_code(self.ecs.update_service, cluster=self.cluster, service="ghost", desiredCount=1)
        self.assertEqual(code, "ServiceNotFoundException")
        code, _ = self.error_code(self.ecs.update_service, cluster=self.cluster, service="web",
                                  deploymentConfiguration={"maximumPercent": 50})
        self.assertEqual(code, "InvalidParameterException")
        code, _ = self.error_code(self.ecs.update_service, cluster=self.unique("nope"), service="web", desiredCount=1)
        self.assertEqual(code, "ClusterNotFoundException")

    def report_stopped(self, service):
        """Plays the agent: every task of `service` the scheduler is stopping is reported STOPPED."""
        arns = wait_for(lambda: self.ecs.list_tasks(cluster=self.cluster, serviceName=service,
                                                    desiredStatus="STOPPED")["taskArns"],
                        lambda a: a, 10, what="the controller to stop the tasks of " + service)
        for t in self.ecs.describe_tasks(cluster=self.cluster, tasks=arns)["tasks"]:
            self.assertEqual(t["stopCode"], "ServiceSchedulerInitiated")
            if t["lastStatus"] != "STOPPED":
                self.ecs.submit_task_state_change(cluster=self.cluster, task=t["taskArn"], status="STOPPED",
                                                  reason="stopped by the test agent")

    def test_delete_service_drains_or_goes_inactive(self):
        self.create("web", 2)
        stderr = self.cli_error("ecs", "delete-service", "--cluster", self.cluster, "--service", "web")
        self.assertIn("InvalidParameterException", stderr)
        self.assertIn("The service cannot be stopped while it is scaled above 0.", stderr)

        # No task was ever started: straight to INACTIVE, and the waiter agrees.
        deleted = self.server.aws("ecs", "delete-service", "--cluster", self.cluster, "--service", "web",
                                  "--force")["service"]
        self.assertEqual(deleted["status"], "INACTIVE")
        self.assertEqual(deleted["desiredCount"], 0)
        self.server.aws("ecs", "wait", "services-inactive", "--cluster", self.cluster, "--services", "web")
        self.assertEqual(self.ecs.list_services(cluster=self.cluster)["serviceArns"], [])
        code, message = self.error_code(self.ecs.update_service, cluster=self.cluster, service="web", desiredCount=1)
        self.assertEqual((code, message), ("ServiceNotActiveException", "Service was not ACTIVE."))
        code, _ = self.error_code(self.ecs.delete_service, cluster=self.cluster, service="ghost")
        self.assertEqual(code, "ServiceNotFoundException")

        # The name is free again once INACTIVE.
        again = self.create("web", 1)
        self.assertEqual(again["status"], "ACTIVE")

        # A service with a task drains: the controller asks for the stop, the
        # "agent" (this test, through SubmitTaskStateChange) reports STOPPED,
        # and the controller makes the service INACTIVE.
        self.ecs.register_container_instance(
            cluster=self.cluster, totalResources=resources(2048, 4096),
            versionInfo={"agentVersion": "0.1.0", "agentHash": "test", "dockerVersion": "runc"},
            attributes=[{"name": "ecs.availability-zone", "value": "eu-west-3a"}])
        wait_for(lambda: self.ecs.list_tasks(cluster=self.cluster, serviceName="web")["taskArns"],
                 lambda arns: len(arns) == 1, 10, what="the controller to start the service's task")
        draining = self.ecs.delete_service(cluster=self.cluster, service=self.arn("web"), force=True)["service"]
        self.assertEqual(draining["status"], "DRAINING")
        self.assertEqual(self.ecs.list_services(cluster=self.cluster)["serviceArns"], [])
        self.report_stopped("web")
        self.server.aws("ecs", "wait", "services-inactive", "--cluster", self.cluster, "--services", "web")
        self.assertEqual(self.ecs.list_tasks(cluster=self.cluster, serviceName="web")["taskArns"], [])
        # A DAEMON service needs no force; its task on the instance stops first.
        self.ecs.create_service(cluster=self.cluster, serviceName="daemon", taskDefinition=self.family,
                                schedulingStrategy="DAEMON")
        wait_for(lambda: self.describe("daemon"), lambda s: s["desiredCount"] == 1, 10,
                 what="the daemon's desired count to follow the one instance")
        self.assertIn(self.ecs.delete_service(cluster=self.cluster, service="daemon")["service"]["status"],
                      ("DRAINING", "INACTIVE"))
        self.report_stopped("daemon")
        self.server.aws("ecs", "wait", "services-inactive", "--cluster", self.cluster, "--services", "daemon")

    def test_validation_errors_reach_the_client(self):
        cases = [
            (dict(serviceName="bad name", taskDefinition=self.family, desiredCount=1), "InvalidParameterException"),
            (dict(serviceName="x", taskDefinition="missing-family", desiredCount=1), "ClientException"),
            (dict(serviceName="x", taskDefinition=self.family, desiredCount=1,
                  deploymentController={"type": "CODE_DEPLOY"}), "InvalidParameterException"),
            (dict(serviceName="x", taskDefinition=self.family, schedulingStrategy="DAEMON", desiredCount=1),
             "InvalidParameterException"),
            (dict(serviceName="x", taskDefinition=self.family, desiredCount=1,
                  loadBalancers=[{"targetGroupArn": "arn:aws:elasticloadbalancing:%s:%s:targetgroup/t/1" % (REGION, ACCOUNT),
                                  "containerName": "app", "containerPort": 8080}]), "InvalidParameterException"),
        ]
        for kwargs, expected in cases:
            code, _ = self.error_code(self.ecs.create_service, cluster=self.cluster, **kwargs)
            self.assertEqual(code, expected, kwargs)
        code, _ = self.error_code(self.ecs.create_service, cluster=self.unique("nope"), serviceName="x",
                                  taskDefinition=self.family, desiredCount=1)
        self.assertEqual(code, "ClusterNotFoundException")
        code, _ = self.error_code(self.ecs.describe_services, cluster=self.unique("nope"), services=["x"])
        self.assertEqual(code, "ClusterNotFoundException")
        code, _ = self.error_code(self.ecs.list_services, cluster=self.unique("nope"))
        self.assertEqual(code, "ClusterNotFoundException")


if __name__ == "__main__":
    unittest.main()
