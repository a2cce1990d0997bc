"""ECS task definition operations driven by real boto3 against a real berth server."""
import json
import unittest

from botocore.exceptions import ClientError

from berth_harness import ACCOUNT, REGION, ServerTestCase


def td_arn(family, rev):
    return "arn:aws:ecs:%s:%s:task-definition/%s:%d" % (REGION, ACCOUNT, family, rev)


# A container definition touching every field of the model that a Linux EC2
# task can carry; everything must come back from DescribeTaskDefinition.
FULL_CONTAINER = {
    "name": "web",
    "image": "public.ecr.aws/docker/library/busybox:latest",
    "repositoryCredentials": {"credentialsParameter": "arn:aws:secretsmanager:eu-west-3:123456789012:secret:x"},
    "cpu": 256,
    "memory": 512,
    "memoryReservation": 256,
    "links": ["db"],
    "portMappings": [{"containerPort": 80, "hostPort": 8080, "protocol": "tcp"},
                     {"containerPort": 53, "hostPort": 0, "protocol": "udp"}],
    "essential": True,
    "entryPoint": ["/bin/sh", "-c"],
    "command": ["echo hello; sleep 3600"],
    "environment": [{"name": "A", "value": "1"}],
    "environmentFiles": [{"value": "arn:aws:s3:::bucket/env.env", "type": "s3"}],
    "mountPoints": [{"sourceVolume": "data", "containerPath": "/data", "readOnly": False}],
    "volumesFrom": [{"sourceContainer": "db", "readOnly": True}],
    "linuxParameters": {"capabilities": {"add": ["NET_ADMIN"], "drop": ["MKNOD"]},
                        "initProcessEnabled": True, "sharedMemorySize": 64,
                        "tmpfs": [{"containerPath": "/tmp", "size": 32, "mountOptions": ["rw"]}]},
    "secrets": [{"name": "PASSWORD", "valueFrom": "arn:aws:ssm:eu-west-3:123456789012:parameter/pw"}],
    "dependsOn": [{"containerName": "db", "condition": "START"}],
    "startTimeout": 60,
    "stopTimeout": 30,
    "hostname": "web",
    "user": "1000:1000",
    "workingDirectory": "/srv",
    "disableNetworking": False,
    "privileged": False,
    "readonlyRootFilesystem": True,
    "dnsServers": ["10.0.0.2"],
    "dnsSearchDomains": ["example.internal"],
    "extraHosts": [{"hostname": "db.local", "ipAddress": "10.0.0.5"}],
    "dockerSecurityOptions": ["no-new-privileges"],
    "interactive": False,
    "pseudoTerminal": False,
    "dockerLabels": {"team": "web"},
    "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 1024}],
    "logConfiguration": {"logDriver": "awslogs",
                         "options": {"awslogs-group": "/berth/web", "awslogs-region": "eu-west-3",
                                     "awslogs-stream-prefix": "web"}},
    "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 10, "timeout": 5, "retries": 3,
                    "startPeriod": 5},
    "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
}
DB_CONTAINER = {"name": "db", "image": "busybox", "memory": 128, "essential": False}


class TaskDefinitionTest(ServerTestCase):
    def setUp(self):
        self.ecs = self.server.boto3_client()

    def code(self, ctx):
        return ctx.exception.response["Error"]["Code"]

    def register(self, family, **kw):
        kw.setdefault("containerDefinitions", [{"name": "app", "image": "busybox", "memory": 64}])
        return self.ecs.register_task_definition(family=family, **kw)

    def test_register_round_trips_every_container_field(self):
        family = self.unique("full")
        out = self.ecs.register_task_definition(
            family=family, networkMode="bridge",
            containerDefinitions=[FULL_CONTAINER, DB_CONTAINER],
            volumes=[{"name": "data", "host": {"sourcePath": "/srv/data"}}],
            tags=[{"key": "app", "value": "web"}])
        td = out["taskDefinition"]
        self.assertEqual(td["taskDefinitionArn"], td_arn(family, 1))
        self.assertEqual(td["revision"], 1)
        self.assertEqual(td["status"], "ACTIVE")
        self.assertEqual(out["tags"], [{"key": "app", "value": "web"}])
        self.assertIn("registeredAt", td)
        described = self.ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
        web = next(c for c in described["containerDefinitions"] if c["name"] == "web")
        for field, value in FULL_CONTAINER.items():
            self.assertEqual(web[field], value, "field %s did not round-trip" % field)
        db = next(c for c in described["containerDefinitions"] if c["name"] == "db")
        self.assertFalse(db["essential"])
        self.assertEqual(described["volumes"][0]["host"], {"sourcePath": "/srv/data"})

    def test_defaults_are_filled(self):
        family = self.unique("defaults")
        td = self.register(family)["taskDefinition"]
        c = td["containerDefinitions"][0]
        self.assertTrue(c["essential"])
        self.assertEqual(c["cpu"], 0)
        for field in ("portMappings", "environment", "mountPoints", "volumesFrom"):
            self.assertEqual(c[field], [], field)
        self.assertIn("EC2", td["compatibilities"])
        self.assertEqual(td["volumes"], [])
        self.assertEqual(td["placementConstraints"], [])

    def test_revisions_increment_and_are_never_reused(self):
        family = self.unique("rev")
        for expected in (1, 2, 3):
            self.assertEqual(self.register(family)["taskDefinition"]["revision"], expected)
        self.ecs.deregister_task_definition(taskDefinition="%s:3" % family)
        self.assertEqual(self.register(family)["taskDefinition"]["revision"], 4)

    def test_describe_by_family_revision_and_arn(self):
        family = self.unique("desc")
        self.register(family)
        self.register(family, containerDefinitions=[{"name": "app", "image": "busybox:2", "memory": 64}])
        latest = self.ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
        self.assertEqual(latest["revision"], 2)
        first = self.ecs.describe_task_definition(taskDefinition=family + ":1")["taskDefinition"]
        self.assertEqual(first["containerDefinitions"][0]["image"], "busybox")
        by_arn = self.ecs.describe_task_definition(taskDefinition=td_arn(family, 2))["taskDefinition"]
        self.assertEqual(by_arn["containerDefinitions"][0]["image"], "busybox:2")
        # Family alone means the latest ACTIVE revision.
        self.ecs.deregister_task_definition(taskDefinition=family + ":2")
        self.assertEqual(self.ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]["revision"], 1)
        # An INACTIVE revision can still be described by revision.
        self.assertEqual(self.ecs.describe_task_definition(taskDefinition=family + ":2")["taskDefinition"]["status"],
                         "INACTIVE")

    def test_describe_include_tags(self):
        family = self.unique("tags")
        self.register(family, tags=[{"key": "k", "value": "v"}])
        without = self.ecs.describe_task_definition(taskDefinition=family)
        self.assertNotIn("tags", without)
        with_tags = self.ecs.describe_task_definition(taskDefinition=family, include=["TAGS"])
        self.assertEqual(with_tags["tags"], [{"key": "k", "value": "v"}])
        arn = with_tags["taskDefinition"]["taskDefinitionArn"]
        self.ecs.tag_resource(resourceArn=arn, tags=[{"key": "k2", "value": "v2"}])
        self.assertEqual(len(self.ecs.list_tags_for_resource(resourceArn=arn)["tags"]), 2)

    def test_describe_unknown_is_client_exception(self):
        with self.assertRaises(ClientError) as ctx:
            self.ecs.describe_task_definition(taskDefinition="does-not-exist-" + self.unique("x"))
        self.assertEqual(self.code(ctx), "ClientException")
        self.assertEqual(ctx.exception.response["Error"]["Message"], "Unable to describe task definition.")

    def test_list_task_definitions_filters_sort_and_pagination(self):
        family = self.unique("list")
        for _ in range(5):
            self.register(family)
        self.ecs.deregister_task_definition(taskDefinition=family + ":2")
        active = self.ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]
        self.assertEqual(active, [td_arn(family, r) for r in (1, 3, 4, 5)])
        inactive = self.ecs.list_task_definitions(familyPrefix=family, status="INACTIVE")["taskDefinitionArns"]
        self.assertEqual(inactive, [td_arn(family, 2)])
        desc = self.ecs.list_task_definitions(familyPrefix=family, sort="DESC")["taskDefinitionArns"]
        self.assertEqual(desc, [td_arn(family, r) for r in (5, 4, 3, 1)])
        # Pages of 2, in both directions.
        for sort, expected in (("ASC", active), ("DESC", desc)):
            pages, token, seen = 0, None, []
            while True:
                kw = {"familyPrefix": family, "maxResults": 2, "sort": sort}
                if token:
                    kw["nextToken"] = token
                out = self.ecs.list_task_definitions(**kw)
                seen += out["taskDefinitionArns"]
                pages += 1
                token = out.get("nextToken")
                if not token:
                    break
            self.assertEqual(seen, expected, sort)
            self.assertEqual(pages, 2, sort)

    def test_list_families_by_status(self):
        base = self.unique("fam")
        a, b = base + "-a", base + "-b"
        self.register(a)
        self.register(b)
        self.ecs.deregister_task_definition(taskDefinition=b + ":1")
        active = self.ecs.list_task_definition_families(familyPrefix=base)["families"]
        self.assertEqual(active, [a])
        inactive = self.ecs.list_task_definition_families(familyPrefix=base, status="INACTIVE")["families"]
        self.assertEqual(inactive, [b])
        both = self.ecs.list_task_definition_families(familyPrefix=base, status="ALL")["families"]
        self.assertEqual(both, [a, b])
        paged = self.ecs.list_task_definition_families(familyPrefix=base, status="ALL", maxResults=1)
        self.assertEqual(paged["families"], [a])
        rest = self.ecs.list_task_definition_families(familyPrefix=base, status="ALL", maxResults=1,
                                                      nextToken=paged["nextToken"])
        self.assertEqual(rest["families"], [b])
        self.assertNotIn("nextToken", rest)

    def test_deregister(self):
        family = self.unique("dereg")
        self.register(family)
        td = self.ecs.deregister_task_definition(taskDefinition=family + ":1")["taskDefinition"]
        self.assertEqual(td["status"], "INACTIVE")
        self.assertIn("deregisteredAt", td)
        with self.assertRaises(ClientError) as ctx:
            self.ecs.deregister_task_definition(taskDefinition=family)  # no revision
        self.assertEqual(self.code(ctx), "ClientException")
        with self.assertRaises(ClientError) as ctx:
            self.ecs.deregister_task_definition(taskDefinition=family + ":9")
        self.assertEqual(self.code(ctx), "ClientException")

    def test_delete_task_definitions(self):
        # DeleteTaskDefinitions is newer than Debian's botocore model, so this
        # sends it with botocore's SigV4 signer directly.
        family = self.unique("delete")
        self.register(family)
        self.register(family)
        self.ecs.deregister_task_definition(taskDefinition=family + ":1")
        status, _, body = self.server.raw(
            {"taskDefinitions": [family + ":1", td_arn(family, 2), family + ":7"]},
            target="AmazonEC2ContainerServiceV20141113.DeleteTaskDefinitions")
        self.assertEqual(status, 200, body)
        out = json.loads(body)
        self.assertEqual([t["taskDefinitionArn"] for t in out["taskDefinitions"]], [td_arn(family, 1)])
        self.assertEqual(out["taskDefinitions"][0]["status"], "DELETE_IN_PROGRESS")
        reasons = {f["arn"]: f["reason"] for f in out["failures"]}
        self.assertEqual(set(reasons), {td_arn(family, 2), td_arn(family, 7)})
        with self.assertRaises(ClientError):
            self.ecs.describe_task_definition(taskDefinition=family + ":1")
        self.assertEqual(self.register(family)["taskDefinition"]["revision"], 3)

    def test_validation_errors(self):
        cases = [
            ({"family": "bad family", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64}]}, "ClientException"),
            ({"family": self.unique("v1"), "containerDefinitions": [{"name": "a", "image": "i"}]}, "ClientException"),
            ({"family": self.unique("v2"), "containerDefinitions": [{"name": "a", "image": "i", "memory": 64, "essential": False}]}, "ClientException"),
            ({"family": self.unique("v3"), "containerDefinitions": [{"name": "a", "image": "i", "memory": 64},
                                                                     {"name": "a", "image": "i", "memory": 64}]}, "ClientException"),
            ({"family": self.unique("v4"), "networkMode": "awsvpc",
              "containerDefinitions": [{"name": "a", "image": "i", "memory": 64,
                                        "portMappings": [{"containerPort": 80, "hostPort": 81}]}]}, "ClientException"),
            ({"family": self.unique("v5"), "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
              "cpu": "256", "memory": "4096",
              "containerDefinitions": [{"name": "a", "image": "i"}]}, "ClientException"),
            ({"family": self.unique("v6"), "containerDefinitions": [{"name": "a", "image": "i", "memory": 64,
                                                                     "memoryReservation": 128}]}, "ClientException"),
        ]
        for request, expected in cases:
            with self.subTest(request=request):
                with self.assertRaises(ClientError) as ctx:
                    self.ecs.register_task_definition(**request)
                self.assertIn(self.code(ctx), (expected, "InvalidParameterException"))
                self.assertTrue(ctx.exception.response["Error"]["Message"])

    def test_fargate_definition_is_fargate_compatible(self):
        family = self.unique("fargate")
        td = self.ecs.register_task_definition(
            family=family, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="0.25 vCPU", memory="0.5GB",
            containerDefinitions=[{"name": "a", "image": "busybox", "portMappings": [{"containerPort": 80}]}])["taskDefinition"]
        self.assertEqual(td["cpu"], "256")
        self.assertEqual(td["memory"], "512")
        self.assertIn("FARGATE", td["compatibilities"])
        self.assertEqual(td["containerDefinitions"][0]["portMappings"][0]["hostPort"], 80)


if __name__ == "__main__":
    unittest.main()
