"""Task-role credentials: the server mints them for an agent
(BerthAgentService_V1.GetTaskCredentials) and accepts them, session token
and all, on every AWS-protocol request signed by boto3; tampered tokens,
wrong secrets and foreign tasks are refused."""
import json
import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from berth_harness import REGION, ServerTestCase

AGENT_TARGET = "BerthAgentService_V1."
ROLE = "arn:aws:iam::000000000000:role/meta-app"


def resources():
    return [{"name": "CPU", "type": "INTEGER", "integerValue": 2048},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": 2048},
            {"name": "PORTS", "type": "STRINGSET", "stringSetValue": []},
            {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []}]


class TaskCredentialsTest(ServerTestCase):
    def setUp(self):
        self.ecs = self.server.boto3_client()
        self.cluster = self.unique("meta")
        self.ecs.create_cluster(clusterName=self.cluster)
        self.family = self.unique("role")
        self.ecs.register_task_definition(
            family=self.family, taskRoleArn=ROLE,
            containerDefinitions=[{"name": "app", "image": "busybox", "memory": 64}])
        self.instances = [self.ecs.register_container_instance(
            cluster=self.cluster, totalResources=resources(),
            versionInfo={"agentVersion": "0.1.0", "agentHash": "test", "dockerVersion": "runc"})
            ["containerInstance"]["containerInstanceArn"] for _ in range(2)]
        self.task = self.ecs.start_task(cluster=self.cluster, taskDefinition=self.family,
                                        containerInstances=[self.instances[0]])["tasks"][0]["taskArn"]

    def get_credentials(self, instance):
        status, _, body = self.server.raw(
            {"cluster": self.cluster, "containerInstance": instance, "task": self.task},
            target=AGENT_TARGET + "GetTaskCredentials")
        return status, json.loads(body)

    def client_with(self, key, secret, token):
        return boto3.client("ecs", endpoint_url=self.server.endpoint, region_name=REGION,
                            aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
                            config=Config(retries={"max_attempts": 1}))

    def test_minted_credentials_sign_requests(self):
        status, out = self.get_credentials(self.instances[0])
        self.assertEqual(status, 200, out)
        self.assertEqual(out["taskArn"], self.task)
        self.assertEqual(out["roleArn"], ROLE)
        c = out["credentials"]
        self.assertRegex(c["accessKeyId"], r"^ASIA[A-Z2-7]{16}$")
        self.assertEqual(len(c["secretAccessKey"]), 40)
        self.assertIsInstance(c["expiration"], int)

        ecs = self.client_with(c["accessKeyId"], c["secretAccessKey"], c["sessionToken"])
        clusters = ecs.list_clusters()["clusterArns"]
        self.assertTrue(any(a.endswith("/" + self.cluster) for a in clusters))
        # The AWS CLI takes them the same way (AWS_SESSION_TOKEN).
        described = ecs.describe_tasks(cluster=self.cluster, tasks=[self.task])["tasks"]
        self.assertEqual(described[0]["taskArn"], self.task)

    def test_tampered_token_wrong_secret_and_missing_token_are_refused(self):
        status, out = self.get_credentials(self.instances[0])
        self.assertEqual(status, 200, out)
        c = out["credentials"]
        token = c["sessionToken"]
        tampered = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
        secret = c["secretAccessKey"]
        wrong_secret = ("x" if secret[0] != "x" else "y") + secret[1:]  # always differs from the real one
        cases = [
            (c["accessKeyId"], c["secretAccessKey"], tampered, "UnrecognizedClientException"),
            (c["accessKeyId"], c["secretAccessKey"], None, "UnrecognizedClientException"),
            (c["accessKeyId"], wrong_secret, token, "InvalidSignatureException"),
        ]
        for key, secret, tok, code in cases:
            with self.subTest(code=code, token=tok is not None):
                with self.assertRaises(ClientError) as e:
                    self.client_with(key, secret, tok).list_clusters()
                self.assertEqual(e.exception.response["Error"]["Code"], code)

    def test_only_the_tasks_instance_gets_credentials(self):
        status, out = self.get_credentials(self.instances[1])
        self.assertEqual(status, 400, out)
        self.assertEqual(out["__type"].split("#")[-1], "ClientException")
        plain = self.unique("plain")
        self.ecs.register_task_definition(family=plain, containerDefinitions=[{"name": "a", "image": "busybox", "memory": 64}])
        self.task = self.ecs.start_task(cluster=self.cluster, taskDefinition=plain,
                                        containerInstances=[self.instances[0]])["tasks"][0]["taskArn"]
        status, out = self.get_credentials(self.instances[0])
        self.assertEqual(status, 400, out)
        self.assertIn("no task role", out.get("message", out.get("Message", "")))


if __name__ == "__main__":
    unittest.main()
