"""Task networking end to end (issue #5): real tasks through `berth agent` with
CNI networks, reached from the host over loopback or the task's own address.

bridge: dynamic host ports (portmap) are distinct, serve HTTP, are reported in
networkBindings and held in the instance's remainingResources until the task
stops; a fixed host port that is taken is a RESOURCE:PORTS placement failure.
awsvpc: the task's own IP (ElasticNetworkInterface attachment), containers
share localhost. host and none. 50 tasks on one instance never collide.
"""
import http.client
import time
import unittest

from berth_harness import free_port
from agent_harness import wait_for
from test_agent_tasks import AgentTaskTestBase, container_named, resource


def http_get(host, port, path="/", timeout=2.0):
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


def http_get_eventually(host, port, timeout=15.0):
    """GET until the server in the task answers (httpd needs a moment to bind)."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            return http_get(host, port)
        except OSError as e:
            last = e
            time.sleep(0.1)
    raise AssertionError("no HTTP answer from %s:%d within %.0fs: %s" % (host, port, timeout, last))


class TaskNetworkingTest(AgentTaskTestBase):

    def web(self, name, text, port=80, **kw):
        # httpd as PID 1 ignores SIGTERM: a short stopTimeout keeps StopTask quick.
        script = "mkdir -p /www && echo %s > /www/index.html && exec httpd -f -p %d -h /www" % (text, port)
        return self.container(name, entryPoint=["sh", "-c"], command=[script], memory=16, stopTimeout=2, **kw)

    def remaining_ports(self):
        ci = self.ecs.describe_container_instances(cluster=self.cluster,
                                                   containerInstances=[self.instance_arn])["containerInstances"][0]
        return set(resource(ci["remainingResources"], "PORTS"))

    def stop_and_wait(self, arns):
        for arn in arns:
            self.ecs.stop_task(cluster=self.cluster, task=arn, reason="test done")
        for arn in arns:
            self.wait_task(arn, "STOPPED", timeout=30)

    def test_two_bridge_tasks_get_distinct_dynamic_ports_and_serve_http(self):
        td = self.register([self.web("web", "hello-bridge", portMappings=[{"containerPort": 80}])],
                           networkMode="bridge")
        arns = [self.run_task(td), self.run_task(td)]
        ports = []
        for arn in arns:
            task = self.wait_task(arn, "RUNNING", timeout=30)
            bindings = container_named(task, "web")["networkBindings"]
            self.assertEqual(len(bindings), 1, bindings)
            self.assertEqual(bindings[0]["containerPort"], 80)
            self.assertEqual(bindings[0]["protocol"], "tcp")
            self.assertGreaterEqual(bindings[0]["hostPort"], 1024)
            ports.append(bindings[0]["hostPort"])
        self.assertNotEqual(ports[0], ports[1], "dynamic host ports are distinct")
        for port in ports:
            status, body = http_get_eventually("127.0.0.1", port)
            self.assertEqual((status, body.strip()), (200, "hello-bridge"))
        held = self.remaining_ports()
        for port in ports:
            self.assertIn(str(port), held, "a dynamic port is reserved in remainingResources")
        self.stop_and_wait(arns)
        held = wait_for(self.remaining_ports, lambda p: not any(str(x) in p for x in ports), 15,
                        what="dynamic ports released")
        for port in ports:
            with self.assertRaises(OSError, msg="nothing answers on a released port"):
                http_get("127.0.0.1", port, timeout=0.5)

    def test_fixed_host_port_conflict_is_a_placement_failure(self):
        port = free_port()
        td = self.register([self.web("web", "fixed", portMappings=[{"containerPort": 80, "hostPort": port}])])
        arn = self.run_task(td)
        task = self.wait_task(arn, "RUNNING", timeout=30)
        self.assertEqual(container_named(task, "web")["networkBindings"][0]["hostPort"], port)
        self.assertEqual(http_get_eventually("127.0.0.1", port)[1].strip(), "fixed")
        out = self.ecs.run_task(cluster=self.cluster, taskDefinition=td)
        self.assertEqual(out["tasks"], [])
        self.assertEqual([f["reason"] for f in out["failures"]], ["RESOURCE:PORTS"])
        self.stop_and_wait([arn])

    def test_awsvpc_task_serves_on_its_own_ip_and_its_containers_share_localhost(self):
        probe = self.container("probe", essential=False, entryPoint=["sh", "-c"], memory=16, command=[
            "for i in $(seq 1 100); do wget -q -O - http://127.0.0.1:80/ | grep -q hello-vpc && exit 0; sleep 0.1; done;"
            " exit 1"])
        td = self.register([self.web("web", "hello-vpc"), probe], networkMode="awsvpc")
        arn = self.run_task(td, networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-berth-it"]}})
        task = self.wait_task(arn, "RUNNING", timeout=30)
        attachments = [a for a in task.get("attachments", []) if a["type"] == "ElasticNetworkInterface"]
        self.assertEqual(len(attachments), 1, task.get("attachments"))
        eni = attachments[0]
        details = {d["name"]: d["value"] for d in eni["details"]}
        task = wait_for(lambda: self.describe(arn), lambda t: t["attachments"][0]["status"] == "ATTACHED", 15,
                        what="the ENI attachment to be ATTACHED")
        details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
        ip = details["privateIPv4Address"]
        self.assertEqual(details["subnetId"], "subnet-berth-it")
        self.assertIn("macAddress", details)
        self.assertEqual(container_named(task, "web")["networkInterfaces"][0]["privateIpv4Address"], ip)
        self.assertEqual(http_get_eventually(ip, 80)[1].strip(), "hello-vpc")
        probe_done = wait_for(lambda: container_named(self.describe(arn), "probe"),
                              lambda c: c["lastStatus"] == "STOPPED", 30, what="the localhost probe")
        self.assertEqual(probe_done.get("exitCode"), 0, "a sibling reaches the web container on localhost")
        self.stop_and_wait([arn])
        stopped = self.describe(arn)
        self.assertEqual(stopped["attachments"][0]["status"], "DELETED")
        with self.assertRaises(OSError):
            http_get(ip, 80, timeout=0.5)

    def test_host_and_none_modes(self):
        port = free_port()
        td_host = self.register([self.web("web", "hello-host", port=port,
                                          portMappings=[{"containerPort": port, "hostPort": port}])],
                                networkMode="host")
        host_arn = self.run_task(td_host)
        task = self.wait_task(host_arn, "RUNNING", timeout=30)
        self.assertEqual(container_named(task, "web")["networkBindings"][0]["hostPort"], port)
        self.assertEqual(http_get_eventually("127.0.0.1", port)[1].strip(), "hello-host")
        # none: a private namespace with loopback only.
        td_none = self.register([self.container("app", entryPoint=["sh", "-c"], memory=16,
                                                command=['test "$(ls /sys/class/net)" = lo'])],
                                networkMode="none")
        none_arn = self.run_task(td_none)
        stopped = self.wait_task(none_arn, "STOPPED", timeout=30)
        self.assertEqual(container_named(stopped, "app").get("exitCode"), 0, "only lo in networkMode none")
        self.stop_and_wait([host_arn])

    def test_fifty_tasks_on_one_instance_never_collide_on_a_port(self):
        td = self.register([self.container("sleeper", command=["sleep", "600"], memory=16, stopTimeout=1,
                                           portMappings=[{"containerPort": 80, "hostPort": 0},
                                                         {"containerPort": 53, "protocol": "udp"}])])
        arns = []
        for _ in range(5):
            out = self.ecs.run_task(cluster=self.cluster, taskDefinition=td, count=10)
            self.assertEqual(out["failures"], [])
            for t in out["tasks"]:
                arns.append(t["taskArn"])
                self.started_tasks.append((self.cluster, t["taskArn"]))
        self.assertEqual(len(arns), 50)

        def all_running():
            tasks = []
            for i in range(0, len(arns), 100):
                tasks += self.ecs.describe_tasks(cluster=self.cluster, tasks=arns[i:i + 100])["tasks"]
            return tasks
        tasks = wait_for(all_running, lambda ts: all(t["lastStatus"] == "RUNNING" for t in ts), 180,
                         interval=1, what="50 tasks RUNNING")
        tcp, udp = [], []
        for t in tasks:
            for b in container_named(t, "sleeper")["networkBindings"]:
                (tcp if b["protocol"] == "tcp" else udp).append(b["hostPort"])
        self.assertEqual(len(tcp), 50)
        self.assertEqual(len(set(tcp)), 50, "no two tasks share a TCP host port")
        self.assertEqual(len(set(udp)), 50, "no two tasks share a UDP host port")
        held = self.remaining_ports()
        self.assertTrue(all(str(p) in held for p in tcp))
        self.stop_and_wait(arns)


if __name__ == "__main__":
    unittest.main()
