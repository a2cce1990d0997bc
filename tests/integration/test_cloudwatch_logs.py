"""CloudWatch Logs API (Logs_20140328) against a real `berth server`, driven by
the real AWS CLI (/usr/bin/aws) and boto3."""
import os
import subprocess
import threading
import time
import unittest

from berth_harness import ACCESS_KEY, AWS_CLI, REGION, SECRET_KEY, ServerTestCase


def now_ms():
    return int(time.time() * 1000)


class CloudWatchLogsTest(ServerTestCase):
    # Retention runs every second so expiry is observable in a test.
    server_args = ("--logs-retention-interval", "1")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.logs = cls.server.boto3_client("logs")

    def make_stream(self, group, *streams):
        self.server.aws("logs", "create-log-group", "--log-group-name", group)
        for s in streams:
            self.server.aws("logs", "create-log-stream", "--log-group-name", group, "--log-stream-name", s)

    def put(self, group, stream, events):
        return self.logs.put_log_events(logGroupName=group, logStreamName=stream,
                                        logEvents=[{"timestamp": t, "message": m} for t, m in events])

    def test_put_and_get_log_events_with_paging(self):
        group = "/berth/" + self.unique("get")
        self.make_stream(group, "app/web/1")
        t = now_ms() - 60000
        out = self.put(group, "app/web/1", [(t + i, "line %d" % i) for i in range(25)])
        self.assertIn("nextSequenceToken", out)

        # The CLI: newest page by default, oldest with --start-from-head.
        newest = self.server.aws("logs", "get-log-events", "--log-group-name", group,
                                 "--log-stream-name", "app/web/1", "--limit", "10")
        self.assertEqual([e["message"] for e in newest["events"]], ["line %d" % i for i in range(15, 25)])
        head = self.server.aws("logs", "get-log-events", "--log-group-name", group,
                               "--log-stream-name", "app/web/1", "--start-from-head")
        self.assertEqual([e["message"] for e in head["events"]], ["line %d" % i for i in range(25)])
        self.assertTrue(head["nextForwardToken"].startswith("f/"))
        self.assertTrue(head["nextBackwardToken"].startswith("b/"))
        for e in head["events"]:
            self.assertIn("ingestionTime", e)

        # boto3 forward paging until the same token comes back.
        kwargs = dict(logGroupName=group, logStreamName="app/web/1", limit=7, startFromHead=True)
        seen, token = [], None
        for _ in range(20):
            if token:
                kwargs["nextToken"] = token
            page = self.logs.get_log_events(**kwargs)
            seen += [e["message"] for e in page["events"]]
            if page["nextForwardToken"] == token:
                break
            token = page["nextForwardToken"]
        self.assertEqual(seen, ["line %d" % i for i in range(25)])

        # Backward paging from the newest page.
        page = self.logs.get_log_events(logGroupName=group, logStreamName="app/web/1", limit=10)
        back = self.logs.get_log_events(logGroupName=group, logStreamName="app/web/1", limit=10,
                                        nextToken=page["nextBackwardToken"])
        self.assertEqual([e["message"] for e in back["events"]], ["line %d" % i for i in range(5, 15)])

    def test_filter_log_events_interleaves_streams(self):
        group = "/berth/" + self.unique("filter")
        self.make_stream(group, "one", "two")
        t = now_ms() - 60000
        self.put(group, "one", [(t, "ERROR disk full"), (t + 2, "INFO ok"), (t + 4, "WARN slow")])
        self.put(group, "two", [(t + 1, "ERROR timeout"), (t + 3, "INFO fine")])

        out = self.server.aws("logs", "filter-log-events", "--log-group-name", group,
                              "--log-stream-names", "one", "two")
        self.assertEqual([(e["logStreamName"], e["message"]) for e in out["events"]],
                         [("one", "ERROR disk full"), ("two", "ERROR timeout"), ("one", "INFO ok"),
                          ("two", "INFO fine"), ("one", "WARN slow")])
        errors = self.server.aws("logs", "filter-log-events", "--log-group-name", group, "--filter-pattern", "ERROR")
        self.assertEqual([e["message"] for e in errors["events"]], ["ERROR disk full", "ERROR timeout"])
        anyof = self.logs.filter_log_events(logGroupName=group, filterPattern="?WARN ?timeout")
        self.assertEqual([e["message"] for e in anyof["events"]], ["ERROR timeout", "WARN slow"])

        # boto3's paginator over small pages sees everything once, in order.
        paginator = self.logs.get_paginator("filter_log_events")
        msgs = [e["message"] for p in paginator.paginate(logGroupName=group, PaginationConfig={"PageSize": 2})
                for e in p["events"]]
        self.assertEqual(msgs, ["ERROR disk full", "ERROR timeout", "INFO ok", "INFO fine", "WARN slow"])

    def test_describe_groups_and_streams(self):
        base = "/berth/" + self.unique("desc")
        self.make_stream(base + "/a", "s1", "s2", "s3")
        self.server.aws("logs", "create-log-group", "--log-group-name", base + "/b")
        t = now_ms() - 1000
        self.put(base + "/a", "s2", [(t, "x")])
        self.put(base + "/a", "s1", [(t + 1, "x")])
        groups = self.server.aws("logs", "describe-log-groups", "--log-group-name-prefix", base)["logGroups"]
        self.assertEqual([g["logGroupName"] for g in groups], [base + "/a", base + "/b"])
        self.assertTrue(groups[0]["arn"].startswith("arn:aws:logs:%s:" % REGION))
        streams = self.server.aws("logs", "describe-log-streams", "--log-group-name", base + "/a",
                                  "--order-by", "LastEventTime", "--descending")["logStreams"]
        self.assertEqual([s["logStreamName"] for s in streams], ["s1", "s2", "s3"])
        self.assertEqual(streams[0]["lastEventTimestamp"], t + 1)
        paginator = self.logs.get_paginator("describe_log_streams")
        names = [s["logStreamName"] for p in paginator.paginate(logGroupName=base + "/a",
                                                                 PaginationConfig={"PageSize": 1})
                 for s in p["logStreams"]]
        self.assertEqual(names, ["s1", "s2", "s3"])

    def test_errors_are_aws_shaped(self):
        proc = self.server.aws("logs", "get-log-events", "--log-group-name", "/berth/missing-logs",
                               "--log-stream-name", "x", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("ResourceNotFoundException", proc.stderr)
        self.assertIn("The specified log group does not exist.", proc.stderr)
        group = "/berth/" + self.unique("err")
        self.make_stream(group, "s")
        with self.assertRaises(self.logs.exceptions.ResourceAlreadyExistsException):
            self.logs.create_log_group(logGroupName=group)
        with self.assertRaises(self.logs.exceptions.ResourceNotFoundException) as cm:
            self.logs.put_log_events(logGroupName=group, logStreamName="nope",
                                     logEvents=[{"timestamp": now_ms(), "message": "x"}])
        self.assertEqual(cm.exception.response["Error"]["Message"], "The specified log stream does not exist.")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        with self.assertRaises(self.logs.exceptions.InvalidParameterException) as cm:
            self.put(group, "s", [(now_ms(), "b"), (now_ms() - 10, "a")])
        self.assertIn("chronological order", cm.exception.response["Error"]["Message"])
        with self.assertRaises(self.logs.exceptions.InvalidParameterException):
            self.logs.put_retention_policy(logGroupName=group, retentionInDays=2)
        # Model violations: InvalidParameterException as Logs reports them.
        with self.assertRaises(self.logs.exceptions.InvalidParameterException):
            self.logs.describe_log_streams(logGroupName=group, limit=51)
        # Too new / too old events are reported, not failed.
        out = self.put(group, "s", [(now_ms(), "ok"), (now_ms() + 3 * 3600 * 1000, "future")])
        self.assertEqual(out["rejectedLogEventsInfo"]["tooNewLogEventStartIndex"], 1)

    def test_retention_expires_events_and_delete_removes_them(self):
        group = "/berth/" + self.unique("ret")
        self.make_stream(group, "s")
        t = now_ms()
        self.put(group, "s", [(t - 3 * 86400 * 1000, "three days old")])
        self.put(group, "s", [(t - 1000, "fresh")])
        self.server.aws("logs", "put-retention-policy", "--log-group-name", group, "--retention-in-days", "1")
        desc = self.server.aws("logs", "describe-log-groups", "--log-group-name-prefix", group)
        self.assertEqual(desc["logGroups"][0]["retentionInDays"], 1)
        deadline = time.time() + 15
        msgs = None
        while time.time() < deadline:
            out = self.logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True)
            msgs = [e["message"] for e in out["events"]]
            if msgs == ["fresh"]:
                break
            time.sleep(0.3)
        self.assertEqual(msgs, ["fresh"])

        self.server.aws("logs", "delete-log-stream", "--log-group-name", group, "--log-stream-name", "s")
        self.assertEqual(self.server.aws("logs", "describe-log-streams", "--log-group-name", group)["logStreams"], [])
        self.server.aws("logs", "delete-log-group", "--log-group-name", group)
        with self.assertRaises(self.logs.exceptions.ResourceNotFoundException):
            self.logs.filter_log_events(logGroupName=group)

    def test_events_survive_server_restart(self):
        group = "/berth/" + self.unique("durable")
        self.make_stream(group, "s")
        self.put(group, "s", [(now_ms(), "kept across restart")])
        # Restart the same data dir.
        from berth_harness import BerthServer
        data_dir = self.server.data_dir
        self.server.stop()
        type(self).server = BerthServer(data_dir=data_dir, extra_args=self.server_args).start()
        self.server.own_dir = True  # tearDownClass removes it
        type(self).logs = self.server.boto3_client("logs")
        out = self.logs.get_log_events(logGroupName=group, logStreamName="s")
        self.assertEqual([e["message"] for e in out["events"]], ["kept across restart"])

    def tail(self, *args, timeout=20):
        env = {"PATH": "/usr/bin:/bin", "HOME": self.server.data_dir,
               "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
               "AWS_DEFAULT_REGION": REGION, "AWS_PAGER": "", "AWS_EC2_METADATA_DISABLED": "true",
               "PYTHONUNBUFFERED": "1"}  # lines reach our pipe as --follow prints them
        return subprocess.Popen([AWS_CLI, "--endpoint-url", self.server.endpoint, "logs", "tail"] + list(args),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    def test_aws_logs_tail(self):
        group = "/berth/" + self.unique("tail")
        self.make_stream(group, "app/web/1", "app/web/2")
        self.put(group, "app/web/1", [(now_ms() - 5000, "before follow")])

        # Without --follow: prints what is there and exits.
        proc = self.tail(group, "--since", "1h", "--format", "short")
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn("before follow", out)

        # --follow: lines put while it runs show up; the process is bounded.
        proc = self.tail(group, "--follow", "--since", "1m")
        lines = []
        reader = threading.Thread(target=lambda: [lines.append(l) for l in iter(proc.stdout.readline, "")])
        reader.start()
        try:
            for i in range(3):
                self.put(group, "app/web/%d" % (i % 2 + 1), [(now_ms(), "followed line %d" % i)])
                time.sleep(0.5)
            deadline = time.time() + 20  # the CLI polls every 5 s
            while time.time() < deadline and sum("followed line" in l for l in lines) < 3:
                time.sleep(0.2)
        finally:
            proc.kill()
            proc.wait(timeout=10)
            reader.join(timeout=10)
        text = "".join(lines)
        err = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        for i in range(3):
            self.assertIn("followed line %d" % i, text, err)
        self.assertIn("before follow", text)
        self.assertIn("app/web/2", text)


if __name__ == "__main__":
    unittest.main()
