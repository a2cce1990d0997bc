"""What a task gets from Berth's own AWS services, end to end (issue #5): the
awslogs driver shipping a container's lines to the CloudWatch Logs API (read
back with `aws logs get-log-events` and `aws logs tail`), secrets from SSM
Parameter Store injected as environment variables and found nowhere else, and
the task metadata / credentials endpoints answering from inside containers in
every network mode.
"""
import json
import os
import subprocess
import time
import unittest

from berth_harness import AWS_CLI, ACCESS_KEY, REGION, SECRET_KEY
from agent_harness import wait_for
from test_agent_tasks import AgentTaskTestBase, container_named

VPC = {"awsvpcConfiguration": {"subnets": ["subnet-berth-it"]}}


class TaskServicesTest(AgentTaskTestBase):

    def sh(self, name, script, **kw):
        kw.setdefault("stopTimeout", 2)  # sleep as PID 1 ignores SIGTERM
        return self.container(name, entryPoint=["sh", "-c"], command=[script], memory=16, **kw)

    def unique_name(self, prefix):
        return "%s-%d" % (prefix, int(time.time() * 1000) % 100000000)

    # --- awslogs -----------------------------------------------------------
    def test_awslogs_lines_reach_get_log_events_and_tail(self):
        group = "/berth-it/" + self.unique_name("app")
        logs = {"logDriver": "awslogs", "options": {"awslogs-group": group, "awslogs-region": REGION,
                                                    "awslogs-stream-prefix": "web", "awslogs-create-group": "true"}}
        app = self.sh("app", "for i in 1 2 3; do echo line-$i; done; echo to-stderr >&2; sleep 1",
                      logConfiguration=logs)
        arn = self.run_task(self.register([app]))
        task = self.wait_task(arn, "STOPPED", timeout=60)
        self.assertEqual(container_named(task, "app").get("exitCode"), 0)
        stream = "web/app/" + self.task_id(arn)

        def messages():
            out = self.server.aws("logs", "get-log-events", "--log-group-name", group, "--log-stream-name",
                                  stream, "--start-from-head", check=False)
            if out.returncode != 0:
                return []
            return [e["message"] for e in json.loads(out.stdout)["events"]]
        got = wait_for(messages, lambda m: len(m) >= 4, 20, what="the container's lines in CloudWatch Logs")
        self.assertEqual([m for m in got if m.startswith("line-")], ["line-1", "line-2", "line-3"])
        self.assertIn("to-stderr", got)
        tail = self.server.aws("logs", "tail", group, "--since", "1h", "--format", "short", check=False)
        self.assertEqual(tail.returncode, 0, tail.stderr)
        for line in ("line-1", "line-2", "line-3", "to-stderr"):
            self.assertIn(line, tail.stdout)

    def test_awslogs_follow_sees_lines_of_a_running_container(self):
        group = "/berth-it/" + self.unique_name("follow")
        logs = {"logDriver": "awslogs", "options": {"awslogs-group": group, "awslogs-region": REGION,
                                                    "awslogs-stream-prefix": "f", "awslogs-create-group": "true"}}
        app = self.sh("app", "i=0; while [ $i -lt 300 ]; do echo tick-$i; i=$((i+1)); sleep 0.2; done",
                      logConfiguration=logs)
        arn = self.run_task(self.register([app]))
        self.wait_task(arn, "RUNNING", timeout=30)
        env = {"PATH": "/usr/bin:/bin", "HOME": self.server.data_dir, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
               "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": REGION, "AWS_PAGER": "",
               "AWS_EC2_METADATA_DISABLED": "true", "PYTHONUNBUFFERED": "1"}
        # `tail --follow` never ends by itself: bound it with timeout(1) (and
        # unbuffered, or what it printed is lost when it is killed).
        proc = subprocess.run(["timeout", "8", AWS_CLI, "--endpoint-url", self.server.endpoint, "logs", "tail",
                               group, "--follow", "--format", "short"],
                              capture_output=True, text=True, env=env, timeout=30)
        self.assertEqual(proc.returncode, 124, "ended by the timeout, not an error: " + proc.stderr)
        ticks = [l for l in proc.stdout.splitlines() if "tick-" in l]
        self.assertGreaterEqual(len(ticks), 5, proc.stdout + proc.stderr)

    # --- secrets -------------------------------------------------------------
    def test_secret_reaches_the_container_and_nothing_else(self):
        name = "/berth-it/" + self.unique_name("db-password")
        value = "S3cr3t-" + self.unique_name("v")
        self.server.aws("ssm", "put-parameter", "--name", name, "--type", "SecureString", "--value", value)
        group = "/berth-it/" + self.unique_name("secrets")
        logs = {"logDriver": "awslogs", "options": {"awslogs-group": group, "awslogs-region": REGION,
                                                    "awslogs-stream-prefix": "s", "awslogs-create-group": "true"}}
        # The script reads the expected value from a bind mount: carrying it in
        # the command would put it in describe-task-definition.
        app = self.sh("app", 'test "$DB_PASSWORD" = "$(cat /expected-dir/expected)" && echo secret-ok',
                      secrets=[{"name": "DB_PASSWORD", "valueFrom": name}], logConfiguration=logs)
        expected_dir = os.path.join(self.root.path, self.unique_name("expected"))
        os.makedirs(expected_dir)
        with open(os.path.join(expected_dir, "expected"), "w") as f:
            f.write(value)
        app["mountPoints"] = [{"sourceVolume": "expected", "containerPath": "/expected-dir", "readOnly": True}]
        td = self.register([app], volumes=[{"name": "expected", "host": {"sourcePath": expected_dir}}])
        arn = self.run_task(td)
        task = self.wait_task(arn, "STOPPED", timeout=60)
        self.assertEqual(container_named(task, "app").get("exitCode"), 0, "the container saw the secret")
        # ... and nothing else did.
        api_views = [json.dumps(task, default=str),
                     json.dumps(self.ecs.describe_task_definition(taskDefinition=td), default=str),
                     self.server.log(), self.agent_log()]
        events = wait_for(lambda: self.server.aws("logs", "filter-log-events", "--log-group-name", group,
                                                  check=False),
                          lambda p: p.returncode == 0 and "secret-ok" in p.stdout, 20, what="the log line")
        api_views.append(events.stdout)
        with open(os.path.join(self.agent.data_dir, "agent-state.json"), errors="replace") as f:
            api_views.append(f.read())
        for view in api_views:
            self.assertNotIn(value, view)
        plain = self.server.aws("ssm", "get-parameter", "--name", name)["Parameter"]["Value"]
        self.assertNotEqual(plain, value, "without --with-decryption the value stays encrypted")

    def test_missing_parameter_stops_the_task_with_a_clear_reason(self):
        missing = "/berth-it/" + self.unique_name("missing")
        app = self.sh("app", "echo never", secrets=[{"name": "X", "valueFrom": missing}])
        arn = self.run_task(self.register([app]))
        task = self.wait_task(arn, "STOPPED", timeout=60)
        self.assertEqual(task["stopCode"], "TaskFailedToStart")
        self.assertIn(missing, task["stoppedReason"])
        self.assertIn("ResourceInitializationError", task["stoppedReason"])

    # --- metadata + credentials ----------------------------------------------
    def test_metadata_endpoint_answers_from_inside_a_container_in_every_network_mode(self):
        script = ('set -e; wget -q -O /tmp/task "$ECS_CONTAINER_METADATA_URI_V4/task";'
                  ' grep -q "\\"TaskARN\\"" /tmp/task; grep -q "$TASK_MARK" /tmp/task;'
                  ' wget -q -O /tmp/c "$ECS_CONTAINER_METADATA_URI_V4"; grep -q "\\"DockerId\\"" /tmp/c;'
                  ' wget -q -O /tmp/s "$ECS_CONTAINER_METADATA_URI_V4/task/stats"; grep -q "memory_stats" /tmp/s;'
                  ' if [ -n "$AWS_CONTAINER_CREDENTIALS_FULL_URI" ]; then u="$AWS_CONTAINER_CREDENTIALS_FULL_URI";'
                  ' else u="http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"; fi;'
                  ' wget -q -O /tmp/cred "$u"; grep -q AccessKeyId /tmp/cred; grep -q SecretAccessKey /tmp/cred')
        role = "arn:aws:iam::000000000000:role/berth-it-app"
        for mode in ("bridge", "awsvpc", "host", "none"):
            with self.subTest(mode=mode):
                family = self.unique_name("meta-" + mode)  # /task names the family: the container checks it
                app = self.sh("app", script, environment=[{"name": "TASK_MARK", "value": family}])
                td = self.ecs.register_task_definition(family=family,
                                                       containerDefinitions=[app], networkMode=mode,
                                                       taskRoleArn=role)["taskDefinition"]["taskDefinitionArn"]
                kw = {"networkConfiguration": VPC} if mode == "awsvpc" else {}
                arn = self.run_task(td, **kw)
                task = self.wait_task(arn, "STOPPED", timeout=60)
                self.assertEqual(container_named(task, "app").get("exitCode"), 0,
                                 "metadata/credentials unreachable in mode %s: %s" % (mode, self.agent_log()[-2000:]))


if __name__ == "__main__":
    unittest.main()
