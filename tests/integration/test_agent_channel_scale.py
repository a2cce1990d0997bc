"""The agent channel at scale (issue #6): parked long polls hold no HTTP worker
thread, so 200 of them on a server with 4 workers leave the API responsive,
and one task change answers exactly the polls that wait for its instance.
Batched polls (containerInstances) list only the instances that changed."""
import threading
import time
import unittest

from agent_channel_client import AGENT, ECS, SignedClient, register_instance
from berth_harness import ServerTestCase

PARKED = 200


class AgentChannelScaleTest(ServerTestCase):
    server_args = ("--worker-threads", "4")

    def setUp(self):
        self.client = SignedClient(self.server)
        self.cluster = self.unique("scale")
        self.client.ok(ECS + "CreateCluster", {"clusterName": self.cluster})
        self.family = self.unique("fam")
        self.client.ok(ECS + "RegisterTaskDefinition", {
            "family": self.family,
            "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 16}]})

    def tearDown(self):
        self.client.close()

    def poll(self, client, body):
        body = dict(body, cluster=self.cluster)
        return client.call(AGENT + "PollTasks", body)

    def version_now(self, instance):
        return self.poll(self.client, {"containerInstance": instance, "sinceVersion": 0, "waitSeconds": 0})[1]["version"]

    def start_task(self, instance):
        out = self.client.ok(ECS + "StartTask", {"cluster": self.cluster, "taskDefinition": self.family,
                                                 "containerInstances": [instance]})
        return out["tasks"][0]["taskArn"]

    def park(self, bodies):
        """Sends each body as a long poll on its own connection; returns (threads, results)."""
        results = [None] * len(bodies)

        def run(i, body):
            c = SignedClient(self.server, timeout=60)
            try:
                started = time.monotonic()
                status, out = self.poll(c, body)
                results[i] = (status, out, time.monotonic() - started)
            except Exception as e:  # reported by the assertions below
                results[i] = (0, repr(e), 0)
            finally:
                c.close()

        threads = [threading.Thread(target=run, args=(i, b), daemon=True) for i, b in enumerate(bodies)]
        for t in threads:
            t.start()
        return threads, results

    def test_parked_polls_leave_the_api_responsive_and_wake_on_their_instance(self):
        a = register_instance(self.client, self.cluster)
        b = register_instance(self.client, self.cluster)
        since = self.version_now(a)
        bodies = []
        for i in range(PARKED):
            if i % 2:
                bodies.append({"containerInstance": a, "sinceVersion": since, "waitSeconds": 20})
            else:
                bodies.append({"containerInstances": [a, b], "sinceVersion": since, "waitSeconds": 20})
        threads, results = self.park(bodies)
        time.sleep(2.0)  # let them all arrive and park
        self.assertTrue(all(r is None for r in results), "a poll answered without a change: %r" % [r for r in results if r][:3])
        # Four workers, 200 parked polls: other calls are still answered promptly.
        for _ in range(5):
            started = time.monotonic()
            out = self.client.ok(ECS + "ListClusters", {})
            took = time.monotonic() - started
            self.assertLess(took, 1.0, "ListClusters took %.2fs with %d parked polls" % (took, PARKED))
            self.assertIn(self.cluster, " ".join(out["clusterArns"]))
        # A task on b wakes only the batched polls (which list b).
        task_b = self.start_task(b)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and sum(r is not None for r in results) < PARKED // 2:
            time.sleep(0.05)
        time.sleep(0.3)  # a wrongly woken single-instance poll would show up by now
        answered = [i for i, r in enumerate(results) if r is not None]
        self.assertEqual(sorted(answered), [i for i in range(PARKED) if i % 2 == 0])
        for i in answered:
            status, out, _ = results[i]
            self.assertEqual(status, 200, out)
            self.assertEqual([x["containerInstanceArn"] for x in out["instances"]], [b])
            self.assertEqual(out["instances"][0]["tasks"][0]["taskArn"], task_b)
        # A task on a answers the single-instance polls at once.
        task_a = self.start_task(a)
        for t in threads:
            t.join(timeout=10)
        for i in range(1, PARKED, 2):
            status, out, took = results[i]
            self.assertEqual(status, 200, out)
            self.assertEqual([t["taskArn"] for t in out["tasks"]], [task_a])
            self.assertGreater(out["version"], since)
            self.assertLess(took, 10.0)

    def test_batched_poll_times_out_with_the_same_version(self):
        instances = [register_instance(self.client, self.cluster) for _ in range(3)]
        since = self.version_now(instances[0])
        started = time.monotonic()
        status, out = self.poll(self.client, {"containerInstances": instances, "sinceVersion": since, "waitSeconds": 1})
        self.assertEqual(status, 200, out)
        self.assertGreaterEqual(time.monotonic() - started, 0.9)
        self.assertEqual(out, {"version": since, "instances": []})

    def test_batched_and_single_together_is_invalid(self):
        a = register_instance(self.client, self.cluster)
        status, out = self.poll(self.client, {"containerInstance": a, "containerInstances": [a]})
        self.assertEqual(status, 400)
        self.assertEqual(out["__type"], "InvalidParameterException")


if __name__ == "__main__":
    unittest.main()
