"""Volumes, dependsOn and health checks end to end (issue #5): real busybox
containers through `berth agent`, observed with boto3.

A task-scoped volume written by one container is read by another that starts
only after the first exited 0 (dependsOn SUCCESS); dependsOn HEALTHY holds a
container back until its dependency's check passes; a failing check turns the
container and the task UNHEALTHY while the task keeps running.
"""
import os
import time
import unittest

from agent_harness import wait_for
from test_agent_tasks import AgentTaskTestBase, container_named


class TaskFeaturesTest(AgentTaskTestBase):

    def sh(self, name, script, **kw):
        kw.setdefault("stopTimeout", 2)  # sleep as PID 1 ignores SIGTERM
        return self.container(name, entryPoint=["sh", "-c"], command=[script], memory=16, **kw)

    def test_task_volume_written_by_one_container_is_read_by_another_after_success(self):
        writer = self.sh("writer", "echo from-writer > /data/msg", essential=False,
                         mountPoints=[{"sourceVolume": "shared", "containerPath": "/data"}])
        reader = self.sh("reader", 'test "$(cat /data/msg)" = from-writer && ! touch /data/ro-check',
                         dependsOn=[{"containerName": "writer", "condition": "SUCCESS"}],
                         mountPoints=[{"sourceVolume": "shared", "containerPath": "/data", "readOnly": True}])
        td = self.register([writer, reader], volumes=[{"name": "shared"}])
        arn = self.run_task(td)
        task = self.wait_task(arn, "STOPPED", timeout=60)
        self.assertEqual(container_named(task, "writer").get("exitCode"), 0)
        self.assertEqual(container_named(task, "reader").get("exitCode"), 0,
                         "the reader saw the writer's file on a read-only mount")
        wait_for(lambda: os.path.exists(os.path.join(self.agent.data_dir, "tasks", self.task_id(arn), "volumes")),
                 lambda exists: not exists, 15, what="the task's volumes removed with the task")

    def test_dependency_that_fails_keeps_its_dependent_from_starting(self):
        first = self.sh("first", "exit 3", essential=False)
        second = self.sh("second", "sleep 600", dependsOn=[{"containerName": "first", "condition": "SUCCESS"}])
        td = self.register([first, second])
        arn = self.run_task(td)
        task = self.wait_task(arn, "STOPPED", timeout=60)
        self.assertEqual(container_named(task, "first").get("exitCode"), 3)
        self.assertNotIn("exitCode", container_named(task, "second"), "second never started")
        self.assertTrue(task.get("stoppedReason"), task)

    def test_depends_on_healthy_holds_a_container_back_until_the_check_passes(self):
        db = self.sh("db", "sleep 4; touch /tmp/ready; exec sleep 600",
                     healthCheck={"command": ["CMD-SHELL", "test -f /tmp/ready"], "interval": 5, "timeout": 2,
                                  "retries": 3, "startPeriod": 1})
        app = self.sh("app", "exec sleep 600", dependsOn=[{"containerName": "db", "condition": "HEALTHY"}])
        td = self.register([db, app])
        arn = self.run_task(td)
        t0 = time.time()
        seen_held = wait_for(lambda: self.describe(arn),
                             lambda t: container_named(t, "db")["lastStatus"] == "RUNNING", 30,
                             what="db RUNNING")
        if container_named(seen_held, "db").get("healthStatus") != "HEALTHY":
            self.assertNotEqual(container_named(seen_held, "app")["lastStatus"], "RUNNING",
                                "app must wait for db to be HEALTHY")
        task = wait_for(lambda: self.describe(arn),
                        lambda t: container_named(t, "app")["lastStatus"] == "RUNNING", 60, interval=0.5,
                        what="app RUNNING after db HEALTHY")
        self.assertGreaterEqual(time.time() - t0, 4, "app cannot start before db's file exists")
        self.assertEqual(container_named(task, "db")["healthStatus"], "HEALTHY")
        self.assertEqual(task["lastStatus"], "RUNNING")
        task = wait_for(lambda: self.describe(arn), lambda t: t.get("healthStatus") == "HEALTHY", 15,
                        what="task HEALTHY")
        self.assertEqual(task["healthStatus"], "HEALTHY")

    def test_failing_health_check_turns_the_task_unhealthy(self):
        app = self.sh("app", "exec sleep 600",
                      healthCheck={"command": ["CMD", "false"], "interval": 5, "timeout": 2, "retries": 1})
        td = self.register([app])
        arn = self.run_task(td)
        self.wait_task(arn, "RUNNING", timeout=30)
        task = wait_for(lambda: self.describe(arn), lambda t: t.get("healthStatus") == "UNHEALTHY", 30,
                        interval=0.5, what="task UNHEALTHY")
        self.assertEqual(container_named(task, "app")["healthStatus"], "UNHEALTHY")
        self.assertEqual(task["lastStatus"], "RUNNING", "a standalone task is not stopped for being unhealthy")

    def test_bind_and_shared_volumes(self):
        host_dir = os.path.join(self.root.path, "bind-src-%d" % (int(time.time() * 1000) % 1000000))
        os.makedirs(host_dir)
        with open(os.path.join(host_dir, "in.txt"), "w") as f:
            f.write("from-host\n")
        shared = "sharedvol-%d" % (int(time.time() * 1000) % 1000000)
        app = self.sh("app", 'test "$(cat /in/in.txt)" = from-host && echo v1 > /shared/out',
                      mountPoints=[{"sourceVolume": "hostvol", "containerPath": "/in", "readOnly": True},
                                   {"sourceVolume": shared, "containerPath": "/shared"}])
        vols = [{"name": "hostvol", "host": {"sourcePath": host_dir}},
                {"name": shared, "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": True,
                                                               "driver": "local"}}]
        # A shared volume is found by name: a second task sees the first one's file.
        td = self.register([app], volumes=vols)
        first = self.wait_task(self.run_task(td), "STOPPED", timeout=60)
        self.assertEqual(container_named(first, "app").get("exitCode"), 0)
        reader = self.sh("app", 'test "$(cat /shared/out)" = v1',
                         mountPoints=[{"sourceVolume": shared, "containerPath": "/shared"}])
        td2 = self.register([reader], volumes=[vols[1]])
        second = self.wait_task(self.run_task(td2), "STOPPED", timeout=60)
        self.assertEqual(container_named(second, "app").get("exitCode"), 0, "a shared volume outlives its task")
        self.assertTrue(os.path.exists(os.path.join(host_dir, "in.txt")), "a bind source is never removed")


if __name__ == "__main__":
    unittest.main()
