"""The real AWS CLI v2 (Debian's awscli) against a real berth server."""
import json
import os
import tempfile
import unittest

from berth_harness import ACCOUNT, REGION, ServerTestCase


class AwsCliTest(ServerTestCase):
    def test_cluster_lifecycle(self):
        name = self.unique("cli")
        c = self.server.aws("ecs", "create-cluster", "--cluster-name", name,
                            "--tags", "key=team,value=core")["cluster"]
        self.assertEqual(c["clusterArn"], "arn:aws:ecs:%s:%s:cluster/%s" % (REGION, ACCOUNT, name))
        self.assertEqual(c["status"], "ACTIVE")
        d = self.server.aws("ecs", "describe-clusters", "--clusters", name, "missing-" + name, "--include", "TAGS")
        self.assertEqual(d["clusters"][0]["tags"], [{"key": "team", "value": "core"}])
        self.assertEqual(d["failures"][0]["reason"], "MISSING")
        arns = self.server.aws("ecs", "list-clusters")["clusterArns"]
        self.assertIn(c["clusterArn"], arns)
        gone = self.server.aws("ecs", "delete-cluster", "--cluster", name)["cluster"]
        self.assertEqual(gone["status"], "INACTIVE")

    def test_cli_auto_paginates_list_clusters(self):
        prefix = self.unique("clipage")
        for i in range(4):
            self.server.aws("ecs", "create-cluster", "--cluster-name", "%s-%d" % (prefix, i))
        # --page-size forces several round trips; the CLI stitches the pages together.
        arns = self.server.aws("ecs", "list-clusters", "--page-size", "1")["clusterArns"]
        for i in range(4):
            self.assertIn("arn:aws:ecs:%s:%s:cluster/%s-%d" % (REGION, ACCOUNT, prefix, i), arns)
        first = self.server.aws("ecs", "list-clusters", "--max-items", "2")
        self.assertEqual(len(first["clusterArns"]), 2)
        self.assertIn("NextToken", first)

    def test_task_definition_from_json_file(self):
        family = self.unique("clitd")
        spec = {"family": family, "networkMode": "host",
                "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 32,
                                          "portMappings": [{"containerPort": 8080}],
                                          "environment": [{"name": "MODE", "value": "cli"}]}]}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(spec, f)
        try:
            td = self.server.aws("ecs", "register-task-definition", "--cli-input-json", "file://" + f.name)["taskDefinition"]
        finally:
            os.unlink(f.name)
        self.assertEqual(td["revision"], 1)
        self.assertEqual(td["networkMode"], "host")
        self.assertEqual(td["containerDefinitions"][0]["portMappings"][0]["hostPort"], 8080)
        listed = self.server.aws("ecs", "list-task-definitions", "--family-prefix", family)["taskDefinitionArns"]
        self.assertEqual(listed, [td["taskDefinitionArn"]])
        families = self.server.aws("ecs", "list-task-definition-families", "--family-prefix", family)["families"]
        self.assertEqual(families, [family])
        out = self.server.aws("ecs", "deregister-task-definition", "--task-definition", family + ":1")
        self.assertEqual(out["taskDefinition"]["status"], "INACTIVE")

    def test_cli_reports_aws_errors(self):
        proc = self.server.aws("ecs", "describe-task-definition", "--task-definition", "nope-" + self.unique("x"),
                               check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("ClientException", proc.stderr)
        self.assertIn("Unable to describe task definition.", proc.stderr)
        proc = self.server.aws("ecs", "update-cluster-settings", "--cluster", "nope-" + self.unique("y"),
                               "--settings", "name=containerInsights,value=enabled", check=False)
        self.assertIn("ClusterNotFoundException", proc.stderr)

    def test_cli_with_wrong_secret_fails_with_signature_error(self):
        env_secret = "wrong"
        import subprocess
        proc = subprocess.run(
            ["/usr/bin/aws", "--endpoint-url", self.server.endpoint, "ecs", "list-clusters"],
            capture_output=True, text=True, timeout=60,
            env={"PATH": "/usr/bin:/bin", "HOME": self.server.data_dir, "AWS_ACCESS_KEY_ID": "AKIABERTHTEST0000001",
                 "AWS_SECRET_ACCESS_KEY": env_secret, "AWS_DEFAULT_REGION": REGION, "AWS_MAX_ATTEMPTS": "1"})
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("InvalidSignatureException", proc.stderr)


if __name__ == "__main__":
    unittest.main()
