"""ECS attributes (PutAttributes / DeleteAttributes / ListAttributes) and the
cluster query language in ListContainerInstances --filter, through the real AWS
CLI and boto3 against a real `berth server` with three `berth agent
--fake-runtime` instances (no containers, no networking, no root needed).

One server and three agents per class, each agent in its own temp data dir,
stopped by PID in the class cleanup (also after a failure).
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from botocore.exceptions import ClientError

from berth_harness import ACCESS_KEY, BERTH_BIN, REGION, SECRET_KEY, BerthServer

# (availability zone, instance type, extra agent args)
AGENTS = [
    ("eu-west-3a", "t2.micro", ["--attribute", "stack=prod"]),
    ("eu-west-3b", "t2.large", []),
    ("eu-west-3c", "m5.large", []),
]


class FakeAgent:
    """`berth agent --fake-runtime`: registers an instance and runs tasks in memory."""

    def __init__(self, endpoint, cluster, data_dir, args):
        self.log_path = data_dir + ".log"
        env = dict(os.environ, BERTH_ACCESS_KEY_ID=ACCESS_KEY, BERTH_SECRET_ACCESS_KEY=SECRET_KEY)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([BERTH_BIN, "agent", "--server", endpoint, "--cluster", cluster,
                                          "--data-dir", data_dir, "--region", REGION, "--fake-runtime"] + args,
                                         stdout=log, stderr=subprocess.STDOUT, env=env)

    def log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def wait_running(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if "berth agent running" in self.log():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("berth agent did not start; log:\n" + self.log()[-4000:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class AttributesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="berth-it-qlang-")
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        cls.server = BerthServer(data_dir=os.path.join(cls.root, "server"))
        os.makedirs(cls.server.data_dir)
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()
        cls.ecs = cls.server.boto3_client()
        cls.cluster = "qlang-it-%d" % (int(time.time() * 1000) % 100000000)
        cls.ecs.create_cluster(clusterName=cls.cluster)
        cls.agents = []
        for i, (az, instance_type, extra) in enumerate(AGENTS):
            agent = FakeAgent(cls.server.endpoint, cls.cluster, os.path.join(cls.root, "agent%d" % i),
                              ["--availability-zone", az, "--instance-type", instance_type] + extra)
            cls.agents.append(agent)
            cls.addClassCleanup(agent.stop)
        for agent in cls.agents:
            agent.wait_running()
        deadline = time.time() + 20
        arns = []
        while time.time() < deadline and len(arns) < len(AGENTS):
            arns = cls.ecs.list_container_instances(cluster=cls.cluster)["containerInstanceArns"]
            time.sleep(0.05)
        if len(arns) != len(AGENTS):
            raise AssertionError("expected %d instances, got %r" % (len(AGENTS), arns))
        # Instance ARN by availability zone ("a", "b", "c").
        cls.arn = {}
        for ci in cls.ecs.describe_container_instances(cluster=cls.cluster, containerInstances=arns)["containerInstances"]:
            az = next(a["value"] for a in ci["attributes"] if a["name"] == "ecs.availability-zone")
            cls.arn[az[-1]] = ci["containerInstanceArn"]

    # --- helpers ---------------------------------------------------------
    def aws(self, *args, check=True):
        return self.server.aws("ecs", *args, "--cluster", self.cluster, check=check)

    def aws_error(self, *args):
        proc = self.aws(*args, check=False)
        self.assertNotEqual(proc.returncode, 0, "aws %s succeeded" % " ".join(args))
        return proc.stderr

    def listed(self, expression):
        """The instances (as "abc" letters) that --filter keeps, read with the AWS CLI."""
        out = self.aws("list-container-instances", "--filter", expression)
        letters = [k for k, arn in self.arn.items() if arn in out["containerInstanceArns"]]
        self.assertEqual(len(letters), len(out["containerInstanceArns"]), out)
        return "".join(sorted(letters))

    def custom(self, letter):
        """Custom attributes of one instance, from DescribeContainerInstances."""
        ci = self.ecs.describe_container_instances(cluster=self.cluster, containerInstances=[self.arn[letter]])
        return {a["name"]: a.get("value") for a in ci["containerInstances"][0]["attributes"]
                if not a["name"].startswith(("ecs.", "com.amazonaws.ecs."))}

    def client_error(self, fn, **kwargs):
        with self.assertRaises(ClientError) as ctx:
            fn(**kwargs)
        return ctx.exception.response["Error"]["Code"], ctx.exception.response["Error"]["Message"]

    # --- tests -----------------------------------------------------------
    def test_put_list_delete_with_the_aws_cli(self):
        arn_b = self.arn["b"]
        instance_id_c = self.arn["c"].rsplit("/", 1)[1]
        out = self.aws("put-attributes", "--attributes",
                       "name=rack,value=r1,targetId=%s" % arn_b,
                       "name=rack,value=r2,targetType=container-instance,targetId=%s" % instance_id_c)
        self.assertEqual(out["attributes"][0], {"name": "rack", "value": "r1", "targetType": "container-instance",
                                                "targetId": arn_b})
        self.assertEqual(self.custom("b"), {"rack": "r1"})
        self.assertEqual(self.custom("c"), {"rack": "r2"})

        racks = self.aws("list-attributes", "--target-type", "container-instance", "--attribute-name", "rack")
        self.assertEqual(sorted((a["targetId"], a["value"]) for a in racks["attributes"]),
                         sorted([(arn_b, "r1"), (self.arn["c"], "r2")]))
        r1 = self.aws("list-attributes", "--target-type", "container-instance", "--attribute-name", "rack",
                      "--attribute-value", "r1")
        self.assertEqual([a["targetId"] for a in r1["attributes"]], [arn_b])
        # The agent's --attribute is listed like any other attribute.
        stack = self.aws("list-attributes", "--target-type", "container-instance", "--attribute-name", "stack")
        self.assertEqual(stack["attributes"], [{"name": "stack", "value": "prod", "targetType": "container-instance",
                                                "targetId": self.arn["a"]}])

        # Query language on a custom attribute.
        self.assertEqual(self.listed("attribute:rack == r1"), "b")
        self.assertEqual(self.listed("attribute:rack in [r1, r2] and attribute:ecs.instance-type =~ t2.*"), "b")
        self.assertEqual(self.listed("attribute:rack exists"), "bc")

        out = self.aws("delete-attributes", "--attributes", "name=rack,targetId=%s" % arn_b)
        self.assertEqual(out["attributes"], [{"name": "rack", "targetType": "container-instance", "targetId": arn_b}])
        self.assertEqual(self.custom("b"), {})
        self.assertEqual(self.listed("attribute:rack exists"), "c")
        self.aws("delete-attributes", "--attributes", "name=rack,targetType=container-instance,targetId=%s" % instance_id_c)
        self.assertEqual(self.listed("attribute:rack exists"), "")

    def pages(self, page_size=None):
        """Every attribute of the cluster, walking nextToken; also the page sizes seen."""
        seen, sizes, token = [], [], None
        for _ in range(100):
            kwargs = {"cluster": self.cluster, "targetType": "container-instance"}
            if page_size:
                kwargs["maxResults"] = page_size
            if token:
                kwargs["nextToken"] = token
            page = self.ecs.list_attributes(**kwargs)
            seen += page["attributes"]
            sizes.append(len(page["attributes"]))
            token = page.get("nextToken")
            if not token:
                return seen, sizes
        raise AssertionError("ListAttributes never stopped paging")

    def test_list_attributes_pages_with_boto3(self):
        # Default page size 100 (ECS); the agents register about 40 ecs.* attributes each.
        everything, sizes = self.pages()
        self.assertGreater(len(everything), 100)
        self.assertEqual(sizes[0], 100)
        self.assertEqual(len({(a["targetId"], a["name"]) for a in everything}), len(everything), "no duplicates")
        seven, sizes = self.pages(7)
        self.assertEqual(seven, everything)
        self.assertTrue(all(n == 7 for n in sizes[:-1]), sizes)
        # boto3's paginator speaks the same tokens.
        paged = [a for p in self.ecs.get_paginator("list_attributes").paginate(
            cluster=self.cluster, targetType="container-instance", PaginationConfig={"PageSize": 10}) for a in p["attributes"]]
        self.assertEqual(paged, everything)

    def test_list_container_instances_filters(self):
        self.assertEqual(self.listed("attribute:ecs.instance-type =~ t2.*"), "ab")
        self.assertEqual(self.listed("attribute:ecs.instance-type == t2.*"), "ab")
        self.assertEqual(self.listed("attribute:ecs.availability-zone in [eu-west-3a, 'eu-west-3c']"), "ac")
        self.assertEqual(self.listed("attribute:ecs.instance-type == t2.* and not(attribute:ecs.availability-zone == eu-west-3b)"), "a")
        self.assertEqual(self.listed("attribute:stack == prod or attribute:ecs.instance-type equals m5.large"), "ac")
        self.assertEqual(self.listed("agentConnected == true and attribute:ecs.os-type == linux"), "abc")
        self.assertEqual(self.listed("registeredAt > 2018-06-18T22:28:28Z"), "abc")
        self.assertEqual(self.listed("registeredAt < 2018-06-18"), "")
        ec2_id = self.ecs.describe_container_instances(cluster=self.cluster, containerInstances=[self.arn["c"]])[
            "containerInstances"][0]["ec2InstanceId"]
        self.assertEqual(self.listed("ec2InstanceId in ['%s']" % ec2_id), "c")

        # Task facts: one task of group family:qlang-web running on instance b.
        self.ecs.register_task_definition(family="qlang-web", containerDefinitions=[
            {"name": "app", "image": "busybox", "memory": 16}])
        task = self.ecs.start_task(cluster=self.cluster, taskDefinition="qlang-web",
                                   containerInstances=[self.arn["b"]])["tasks"][0]
        try:
            deadline, status = time.time() + 15, None
            while time.time() < deadline and status != "RUNNING":
                status = self.ecs.describe_tasks(cluster=self.cluster, tasks=[task["taskArn"]])["tasks"][0]["lastStatus"]
                time.sleep(0.05)
            self.assertEqual(status, "RUNNING")
            self.assertEqual(self.listed("task:group == family:qlang-web"), "b")
            self.assertEqual(self.listed("not(task:group == family:qlang-web)"), "ac")
            self.assertEqual(self.listed("runningTasksCount >= 1"), "b")
            self.assertEqual(self.listed("runningTasksCount == 0 and attribute:ecs.instance-type =~ t2.*"), "a")
        finally:
            self.ecs.stop_task(cluster=self.cluster, task=task["taskArn"], reason="test done")

    def test_bad_expressions_are_invalid_parameter(self):
        for expression, says in [
            ("attribute:ecs.instance-type === t2.micro", "unknown operator '==='"),
            ("attribute:ecs.instance-type == t2.micro and", "'and' needs an expression"),
            ("(attribute:stack == prod", "unbalanced '('"),
            ("colour == blue", "unknown subject 'colour'"),
            ("registeredAt > last-week", "is not a date"),
        ]:
            stderr = self.aws_error("list-container-instances", "--filter", expression)
            self.assertIn("InvalidParameterException", stderr, expression)
            self.assertIn(says, stderr, expression)
        code, _ = self.client_error(self.ecs.list_container_instances, cluster=self.cluster, filter="x" * 2001)
        self.assertEqual(code, "InvalidParameterException")

    def test_attribute_errors(self):
        missing = self.arn["a"].rsplit("/", 1)[0] + "/0123456789abcdef0123456789abcdef"
        stderr = self.aws_error("put-attributes", "--attributes", "name=rack,value=r1,targetId=%s" % missing)
        self.assertIn("TargetNotFoundException", stderr)
        code, _ = self.client_error(self.ecs.delete_attributes, cluster=self.cluster, attributes=[
            {"name": "rack", "targetType": "container-instance", "targetId": "0123456789abcdef0123456789abcdef"}])
        self.assertEqual(code, "TargetNotFoundException")

        target = self.arn["a"]
        for attribute in [
            {"name": "bad name", "value": "x", "targetId": target},
            {"name": "n" * 129, "value": "x", "targetId": target},
            {"name": "rack", "value": " leading", "targetId": target},
            {"name": "rack", "value": "semi;colon", "targetId": target},
            {"name": "rack", "value": "x", "targetId": target.rsplit("/", 1)[1]},  # short id needs targetType
            {"name": "ecs.instance-type", "value": "huge", "targetId": target},   # built-in
        ]:
            code, message = self.client_error(self.ecs.put_attributes, cluster=self.cluster, attributes=[attribute])
            self.assertEqual(code, "InvalidParameterException", attribute)
        code, message = self.client_error(self.ecs.delete_attributes, cluster=self.cluster, attributes=[
            {"name": "ecs.availability-zone", "targetId": target}])
        self.assertEqual(code, "InvalidParameterException")
        self.assertIn("built-in", message)

        eleven = [{"name": "k%d" % i, "value": "v", "targetId": target} for i in range(11)]
        code, _ = self.client_error(self.ecs.put_attributes, cluster=self.cluster, attributes=eleven)
        self.assertEqual(code, "AttributeLimitExceededException")
        # Ten more custom attributes on top of the agent's "stack" is eleven.
        code, _ = self.client_error(self.ecs.put_attributes, cluster=self.cluster, attributes=eleven[:10])
        self.assertEqual(code, "AttributeLimitExceededException")
        self.assertEqual(self.custom("a"), {"stack": "prod"}, "a refused call applies nothing")

        code, _ = self.client_error(self.ecs.list_attributes, cluster=self.cluster, targetType="container-instance",
                                    attributeValue="prod")
        self.assertEqual(code, "InvalidParameterException")
        code, _ = self.client_error(self.ecs.put_attributes, cluster="qlang-no-such-cluster", attributes=eleven[:1])
        self.assertEqual(code, "ClusterNotFoundException")


if __name__ == "__main__":
    unittest.main()
