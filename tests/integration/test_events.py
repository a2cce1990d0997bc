"""ECS events in EventBridge shapes: /berth/events, its SSE stream and `berth events`.

A real server with one simulated container instance (`berth agent --simulate 1`):
tasks run through the AWS CLI, then the events are read back with SigV4-signed
GETs (botocore's signer on raw requests), followed live with `berth events
--follow`, resumed over SSE with Last-Event-ID, and kept across a restart.
"""
import http.client
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from berth_harness import ACCESS_KEY, ACCOUNT, BERTH_BIN, REGION, SECRET_KEY, BerthServer, ServerTestCase
from test_simulated_agents import Simulator, wait_for

TASK_CHANGE = "ECS Task State Change"
INSTANCE_CHANGE = "ECS Container Instance State Change"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ISO_S = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def signed_headers(server, path, extra=None):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method="GET", url=server.endpoint + path, data=b"", headers=dict(extra or {}))
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "ecs", REGION).add_auth(req)
    return dict(req.headers.items())


def query(**params):
    return urllib.parse.urlencode({k: v for k, v in params.items() if v is not None}, quote_via=urllib.parse.quote)


def get_events(server, **params):
    """GET /berth/events (signed); returns (status, parsed body)."""
    path = "/berth/events?" + query(**params)
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        conn.request("GET", path, headers=signed_headers(server, path))
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"null")
    finally:
        conn.close()


def all_events(server, **params):
    events, since = [], 0
    while True:
        status, page = get_events(server, since=since, limit=1000, **params)
        assert status == 200, page
        if not page["events"]:
            return events, since
        events += page["events"]
        since = page["nextSince"]


class SseStream:
    """An open /berth/events/stream connection, read frame by frame."""

    def __init__(self, server, params, last_event_id=None):
        path = "/berth/events/stream?" + query(**params)
        extra = {"Last-Event-ID": last_event_id} if last_event_id else {}
        self.conn = http.client.HTTPConnection(server.host, server.port, timeout=20)
        self.conn.request("GET", path, headers=signed_headers(server, path, extra))
        self.resp = self.conn.getresponse()

    def next_frame(self):
        """{"id", "event", "data"} of the next event (comments skipped)."""
        frame = {}
        while True:
            line = self.resp.fp.readline()
            if not line:
                raise AssertionError("stream ended")
            line = line.decode().rstrip("\r\n")
            if line == "":
                if "data" in frame:
                    return frame
                continue
            if line.startswith(":"):
                continue
            key, _, value = line.partition(": ")
            frame[key] = value

    def close(self):
        self.conn.close()


class EventsTest(ServerTestCase):
    def setUp(self):
        self.cluster = self.unique("ev")
        self.server.aws("ecs", "create-cluster", "--cluster-name", self.cluster)
        self.work = tempfile.mkdtemp(prefix="berth-events-it-")
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        self.sim = Simulator(self.server.endpoint, self.cluster, os.path.join(self.work, "agent"), count=1)
        self.addCleanup(self.sim.stop)
        self.sim.start()
        self.ecs = self.server.boto3_client()
        wait_for(lambda: self.ecs.list_container_instances(cluster=self.cluster)["containerInstanceArns"],
                 lambda v: len(v) == 1, 30, what="the simulated instance")
        self.td = self.server.aws("ecs", "register-task-definition", "--family", self.unique("evtd"),
                                  "--container-definitions",
                                  json.dumps([{"name": "app", "image": "busybox", "memory": 64}]),
                                  )["taskDefinition"]["taskDefinitionArn"]

    def task_status(self, arn):
        return self.ecs.describe_tasks(cluster=self.cluster, tasks=[arn])["tasks"][0]["lastStatus"]

    def run_and_stop(self):
        arn = self.server.aws("ecs", "run-task", "--cluster", self.cluster, "--task-definition",
                              self.td)["tasks"][0]["taskArn"]
        wait_for(lambda: self.task_status(arn), lambda s: s == "RUNNING", 30, what="RUNNING")
        self.server.aws("ecs", "stop-task", "--cluster", self.cluster, "--task", arn, "--reason", "events test")
        wait_for(lambda: self.task_status(arn), lambda s: s == "STOPPED", 30, what="STOPPED")
        return arn

    def task_events(self, arn):
        # The last event is committed within milliseconds of the state change.
        def fetch():
            events, _ = all_events(self.server, cluster=self.cluster, detailType=TASK_CHANGE)
            return [e for e in events if e["resources"] == [arn]]
        return wait_for(fetch, lambda evs: evs and evs[-1]["detail"]["lastStatus"] == "STOPPED", 10,
                        what="the STOPPED event")

    def test_task_state_changes_in_eventbridge_shape(self):
        arn = self.run_and_stop()
        events = self.task_events(arn)
        statuses = [e["detail"]["lastStatus"] for e in events]
        collapsed = [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s]
        self.assertEqual(collapsed, ["PENDING", "RUNNING", "STOPPED"], statuses)
        versions = [e["detail"]["version"] for e in events]
        self.assertEqual(versions, sorted(set(versions)), "one event per version, in order")
        for e in events:
            self.assertEqual(e["version"], "0")
            self.assertEqual(e["source"], "aws.ecs")
            self.assertEqual(e["detail-type"], TASK_CHANGE)
            self.assertEqual(e["account"], ACCOUNT)
            self.assertEqual(e["region"], REGION)
            self.assertRegex(e["id"], r"^[0-9a-f-]{36}$")
            self.assertRegex(e["time"], ISO_S)
            self.assertRegex(e["detail"]["updatedAt"], ISO_MS)
            self.assertRegex(e["detail"]["createdAt"], ISO_MS)
            self.assertEqual(e["detail"]["taskArn"], arn)
            self.assertEqual(e["detail"]["clusterArn"],
                             "arn:aws:ecs:%s:%s:cluster/%s" % (REGION, ACCOUNT, self.cluster))
            self.assertNotIn("berth", e["detail"])
        last = events[-1]["detail"]
        self.assertEqual(last["desiredStatus"], "STOPPED")
        self.assertEqual(last["stopCode"], "UserInitiated")
        self.assertEqual(last["stoppedReason"], "events test")
        self.assertRegex(last["stoppedAt"], ISO_MS)
        self.assertEqual(last["containers"][0]["name"], "app")
        self.assertEqual(last["containers"][0]["lastStatus"], "STOPPED")

        # The instance announced itself, and the filters separate the kinds.
        instances, _ = all_events(self.server, cluster=self.cluster, detailType=INSTANCE_CHANGE)
        self.assertTrue(instances)
        self.assertEqual(instances[0]["detail"]["status"], "ACTIVE")
        self.assertIn("registeredResources", instances[0]["detail"])
        other, _ = all_events(self.server, cluster="arn:aws:ecs:%s:%s:cluster/%s-none" % (REGION, ACCOUNT, self.cluster))
        self.assertEqual(other, [])

    def test_bad_parameters_and_unsigned_requests_are_refused(self):
        for params in ({"limit": 0}, {"limit": 1001}, {"since": -1}, {"since": "x"}, {"bogus": 1},
                       {"cluster": "arn:aws:ecs:%s:%s:service/a/b" % (REGION, ACCOUNT)}):
            status, body = get_events(self.server, **params)
            self.assertEqual(status, 400, params)
            self.assertEqual(body["__type"], "InvalidParameterException", params)
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=10)
        conn.request("GET", "/berth/events")
        resp = conn.getresponse()
        self.assertEqual(resp.status, 400)
        self.assertIn(b"MissingAuthenticationToken", resp.read())
        conn.close()

    def test_follow_prints_new_events_and_exits_cleanly_on_sigint(self):
        env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
        env.pop("BERTH_ACCESS_KEY_ID", None)
        env.pop("BERTH_SECRET_ACCESS_KEY", None)
        # Follow from the newest event now (a loaded machine may take seconds
        # to start the process; --since makes "after it started" exact).
        status, page = get_events(self.server, since="latest")
        self.assertEqual(status, 200, page)
        self.assertEqual(page["events"], [])
        proc = subprocess.Popen([BERTH_BIN, "events", "--server", self.server.endpoint, "--region", REGION,
                                 "--cluster", self.cluster, "--detail-type", TASK_CHANGE, "--follow",
                                 "--since", str(page["nextSince"])],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()
        arn = self.run_and_stop()
        seen, others = [], []
        deadline = time.time() + 20
        while time.time() < deadline and not (seen and seen[-1] == "STOPPED"):
            try:
                event = json.loads(lines.get(timeout=1))
            except queue.Empty:
                continue
            self.assertEqual(event["detail-type"], TASK_CHANGE)
            others.append(event["resources"])
            if event["resources"] == [arn]:
                seen.append(event["detail"]["lastStatus"])
        if not seen:
            proc.kill()
            self.fail("the follower printed nothing for %s; exit %s, stderr: %s, printed %s" % (arn, proc.wait(), proc.stderr.read(), others))
        self.assertEqual(seen[0], "PENDING", seen)
        self.assertEqual(seen[-1], "STOPPED", seen)
        self.assertIn("RUNNING", seen)
        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.wait(timeout=10), 0, proc.stderr.read())

    def test_list_cli_prints_history(self):
        arn = self.run_and_stop()
        self.task_events(arn)
        # Credentials from a data dir's bootstrap credentials file (no env).
        creds_dir = os.path.join(self.work, "server-data")
        os.makedirs(creds_dir)
        with open(os.path.join(creds_dir, "credentials"), "w") as f:
            f.write("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (ACCESS_KEY, SECRET_KEY))
        proc = subprocess.run([BERTH_BIN, "events", "--server", self.server.endpoint, "--region", REGION,
                               "--cluster", self.cluster, "--data-dir", creds_dir],
                              capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        events = [json.loads(l) for l in proc.stdout.splitlines()]
        mine = [e["detail"]["lastStatus"] for e in events if e["resources"] == [arn]]
        self.assertEqual(mine[0], "PENDING")
        self.assertEqual(mine[-1], "STOPPED")
        self.assertTrue(any(e["detail-type"] == INSTANCE_CHANGE for e in events))

    def test_sse_stream_and_last_event_id_resume(self):
        arn = self.run_and_stop()
        expected = self.task_events(arn)
        params = {"cluster": self.cluster, "detailType": TASK_CHANGE}
        stream = SseStream(self.server, params)
        self.assertEqual(stream.resp.status, 200)
        self.assertEqual(stream.resp.getheader("Content-Type"), "text/event-stream")
        frames = [stream.next_frame() for _ in range(len(expected))]
        stream.close()
        self.assertEqual([json.loads(f["data"]) for f in frames], expected)
        self.assertTrue(all(f["event"] == TASK_CHANGE for f in frames))
        ids = [int(f["id"]) for f in frames]
        self.assertEqual(ids, sorted(ids))
        # Resume after the first frame: the second comes next.
        resumed = SseStream(self.server, dict(params, since=0), last_event_id=str(ids[0]))
        again = resumed.next_frame()
        self.assertEqual(int(again["id"]), ids[1])
        self.assertEqual(json.loads(again["data"]), expected[1])
        # And a live event arrives on the open stream.
        arn2 = self.server.aws("ecs", "run-task", "--cluster", self.cluster, "--task-definition",
                               self.td)["tasks"][0]["taskArn"]
        while True:
            frame = resumed.next_frame()
            if json.loads(frame["data"])["resources"] == [arn2]:
                break
        resumed.close()


class EventsRestartTest(unittest.TestCase):
    def test_events_survive_a_restart_and_numbering_continues(self):
        data_dir = tempfile.mkdtemp(prefix="berth-events-restart-")
        self.addCleanup(shutil.rmtree, data_dir, ignore_errors=True)
        server = BerthServer(data_dir=data_dir).start()
        try:
            server.aws("ecs", "create-cluster", "--cluster-name", "restart")
            ecs = server.boto3_client()
            ecs.register_container_instance(cluster="restart", totalResources=[
                {"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                {"name": "MEMORY", "type": "INTEGER", "integerValue": 2048}])
            before = wait_for(lambda: all_events(server, cluster="restart"), lambda r: len(r[0]) >= 1, 10,
                              what="the registration event")
        finally:
            self.assertEqual(server.stop(), 0)
        server = BerthServer(data_dir=data_dir).start()
        try:
            after, since = all_events(server, cluster="restart")
            self.assertEqual(after[:len(before[0])], before[0])
            ecs = server.boto3_client()
            ecs.register_container_instance(cluster="restart", totalResources=[
                {"name": "CPU", "type": "INTEGER", "integerValue": 512},
                {"name": "MEMORY", "type": "INTEGER", "integerValue": 512}])
            status, page = wait_for(lambda: get_events(server, since=since, cluster="restart"),
                                    lambda r: r[1]["events"], 10, what="a new event")
            self.assertGreater(page["nextSince"], since)
            self.assertEqual(page["events"][0]["detail-type"], INSTANCE_CHANGE)
        finally:
            self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main()
