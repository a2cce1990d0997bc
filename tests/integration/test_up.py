"""`berth up`: the embedded default (server + local agent in one process)."""
import time
import unittest

from berth_harness import BerthServer


class UpTest(unittest.TestCase):
    def test_up_runs_a_task_end_to_end_and_stops_cleanly(self):
        # --fake-runtime: the local agent runs no containers, so this checks the
        # wiring (registration, task channel, reports) independent of runc.
        up = BerthServer(subcommand="up", extra_args=("--fake-runtime", "--availability-zone", "lab-1b")).start()
        try:
            ecs = up.boto3_client()
            deadline = time.time() + 10
            arns = []
            while time.time() < deadline and not arns:
                arns = ecs.list_container_instances()["containerInstanceArns"]
                time.sleep(0.05)
            self.assertEqual(len(arns), 1, "the local agent registered in cluster default")
            ci = ecs.describe_container_instances(containerInstances=arns)["containerInstances"][0]
            self.assertTrue(ci["agentConnected"])
            attrs = {a["name"]: a.get("value") for a in ci["attributes"]}
            self.assertEqual(attrs["ecs.availability-zone"], "lab-1b")
            ecs.register_task_definition(family="up", containerDefinitions=[{"name": "a", "image": "busybox", "memory": 16}])
            task = ecs.run_task(taskDefinition="up")["tasks"][0]
            status = None
            deadline = time.time() + 10
            while time.time() < deadline and status != "RUNNING":
                status = ecs.describe_tasks(tasks=[task["taskArn"]])["tasks"][0]["lastStatus"]
                time.sleep(0.02)
            self.assertEqual(status, "RUNNING")
            ecs.stop_task(task=task["taskArn"], reason="test done")
            deadline = time.time() + 10
            while time.time() < deadline and status != "STOPPED":
                t = ecs.describe_tasks(tasks=[task["taskArn"]])["tasks"][0]
                status = t["lastStatus"]
                time.sleep(0.02)
            self.assertEqual(status, "STOPPED")
            self.assertEqual(t["stoppedReason"], "test done")
        finally:
            started = time.time()
            rc = up.stop()
            took = time.time() - started
            up.cleanup()
        self.assertEqual(rc, 0)
        self.assertLess(took, 10, "SIGTERM must not wait for a long poll")


if __name__ == "__main__":
    unittest.main()
