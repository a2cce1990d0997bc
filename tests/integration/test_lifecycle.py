"""Process lifecycle: generated credentials, restart with state intact, SIGTERM while busy."""
import configparser
import os
import shutil
import signal
import stat
import tempfile
import threading
import unittest

from berth_harness import BerthServer


class LifecycleTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="berth-life-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_generated_credentials_are_saved_0600_and_printed_once(self):
        server = BerthServer(data_dir=self.dir, env_credentials=False).start()
        try:
            path = os.path.join(self.dir, "credentials")
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            cfg = configparser.ConfigParser()
            cfg.read(path)
            key = cfg["default"]["aws_access_key_id"]
            secret = cfg["default"]["aws_secret_access_key"]
            printed = "".join(server.stdout_lines)
            self.assertIn(key, printed)
            self.assertIn(secret, printed)
            ecs = server.boto3_client(access_key=key, secret_key=secret)
            ecs.create_cluster(clusterName="gen")
        finally:
            self.assertEqual(server.stop(), 0)
        # Second start: same credentials from the file, not printed again.
        again = BerthServer(data_dir=self.dir, env_credentials=False).start()
        try:
            self.assertNotIn(secret, "".join(again.stdout_lines))
            ecs = again.boto3_client(access_key=key, secret_key=secret)
            self.assertEqual(ecs.describe_clusters(clusters=["gen"])["clusters"][0]["status"], "ACTIVE")
        finally:
            again.stop()

    def test_state_survives_restart_and_revisions_continue(self):
        server = BerthServer(data_dir=self.dir).start()
        ecs = server.boto3_client()
        ecs.create_cluster(clusterName="keep", tags=[{"key": "a", "value": "b"}])
        for _ in range(3):
            ecs.register_task_definition(family="keep", containerDefinitions=[{"name": "a", "image": "i", "memory": 8}])
        ecs.deregister_task_definition(taskDefinition="keep:2")
        self.assertEqual(server.stop(), 0)

        server = BerthServer(data_dir=self.dir).start()
        try:
            ecs = server.boto3_client()
            c = ecs.describe_clusters(clusters=["keep"], include=["TAGS"])["clusters"][0]
            self.assertEqual(c["tags"], [{"key": "a", "value": "b"}])
            arns = ecs.list_task_definitions(familyPrefix="keep")["taskDefinitionArns"]
            self.assertEqual([a.rsplit(":", 1)[1] for a in arns], ["1", "3"])
            td = ecs.register_task_definition(family="keep", containerDefinitions=[{"name": "a", "image": "i", "memory": 8}])
            self.assertEqual(td["taskDefinition"]["revision"], 4)
        finally:
            server.stop()

    def test_sigterm_under_load_answers_in_flight_and_loses_no_acknowledged_write(self):
        server = BerthServer(data_dir=self.dir).start()
        acknowledged, errors = [], []
        stop = threading.Event()

        clients = [server.boto3_client() for _ in range(8)]  # client creation is not thread-safe

        def writer(n):
            ecs = clients[n]
            i = 0
            while not stop.is_set() and i < 500:
                name = "w%d-%d" % (n, i)
                try:
                    ecs.create_cluster(clusterName=name)
                    acknowledged.append(name)
                except Exception as e:  # connection refused/reset after shutdown is expected
                    errors.append(e)
                    return
                i += 1

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        while len(acknowledged) < 100:
            threading.Event().wait(0.01)
        rc = server.stop(signal.SIGTERM)
        stop.set()
        for t in threads:
            t.join(30)
        self.assertEqual(rc, 0, server.log()[-3000:])

        server = BerthServer(data_dir=self.dir).start()
        try:
            ecs = server.boto3_client()
            names = set()
            for page in ecs.get_paginator("list_clusters").paginate():
                names.update(a.rsplit("/", 1)[1] for a in page["clusterArns"])
            missing = [n for n in acknowledged if n not in names]
            self.assertEqual(missing, [], "acknowledged clusters lost across SIGTERM")
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
