#!/usr/bin/python3
"""Measures the agent channel with one batched poll of N registered instances
(issue #6; default N = 10,000) against a fresh `berth server` on loopback:

  - time to register N instances (16 connections),
  - cost of a batched poll with nothing to wait for (heartbeat of N instances),
  - time from StartTask on one instance to the parked batched poll's answer,
  - server CPU while the batched poll of N instances is parked idle.

  BERTH_BIN=build/berth /usr/bin/python3 bench/agent_channel_scale.py [N]

Bounded: every request has a timeout, the run stops by itself (a few minutes
at N = 10,000), and the server is stopped and its data dir removed at the end.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))

from agent_channel_client import AGENT, ECS, SignedClient, register_instance  # noqa: E402
from berth_harness import BerthServer  # noqa: E402


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick  # utime + stime


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    server = BerthServer().start()
    try:
        run(server, n)
    finally:
        server.stop()
        server.cleanup()


def run(server, n):
    main_client = SignedClient(server, timeout=120)
    cluster = "scale-bench"
    main_client.ok(ECS + "CreateCluster", {"clusterName": cluster})
    main_client.ok(ECS + "RegisterTaskDefinition", {
        "family": "bench", "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 16}]})

    arns = [None] * n
    started = time.monotonic()

    def register(worker, workers):
        c = SignedClient(server, timeout=120)
        for i in range(worker, n, workers):
            arns[i] = register_instance(c, cluster)
        c.close()

    threads = [threading.Thread(target=register, args=(w, 16)) for w in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("registered %d instances in %.1f s" % (n, time.monotonic() - started))

    def poll(client, since, wait):
        return client.ok(AGENT + "PollTasks", {"cluster": cluster, "containerInstances": arns,
                                               "sinceVersion": since, "waitSeconds": wait})

    t0 = time.monotonic()
    first = poll(main_client, 0, 0)
    print("first batched poll (since 0): %.1f ms, %d instances listed" % ((time.monotonic() - t0) * 1000, len(first["instances"])))
    version = first["version"]
    samples = []
    for _ in range(5):
        t0 = time.monotonic()
        out = poll(main_client, version, 0)
        samples.append((time.monotonic() - t0) * 1000)
        assert out["instances"] == [], out
    print("batched poll, nothing changed, waitSeconds 0 (heartbeats for %d): median %.1f ms (%s)"
          % (n, sorted(samples)[2], ", ".join("%.1f" % s for s in samples)))

    # Parked idle: CPU of the server process over 10 s.
    answer = {}

    def parked(since, wait):
        c = SignedClient(server, timeout=60)
        t = time.monotonic()
        answer["out"] = poll(c, since, wait)
        answer["at"] = time.monotonic()
        answer["took"] = answer["at"] - t
        c.close()

    th = threading.Thread(target=parked, args=(version, 20))
    th.start()
    time.sleep(1.0)
    c0, w0 = cpu_seconds(server.proc.pid), time.monotonic()
    time.sleep(10.0)
    c1, w1 = cpu_seconds(server.proc.pid), time.monotonic()
    print("server CPU while the batched poll of %d instances is parked: %.2f%% of one core (%.3f s CPU in %.1f s)"
          % (n, 100 * (c1 - c0) / (w1 - w0), c1 - c0, w1 - w0))
    assert "out" not in answer, "the poll answered while nothing changed"

    # One task changes: time to the parked poll's answer.
    target = arns[n // 2]
    t_call = time.monotonic()
    task = main_client.ok(ECS + "StartTask", {"cluster": cluster, "taskDefinition": "bench",
                                              "containerInstances": [target]})["tasks"][0]["taskArn"]
    t_done = time.monotonic()
    th.join(timeout=30)
    out = answer["out"]
    assert [x["containerInstanceArn"] for x in out["instances"]] == [target], out
    assert out["instances"][0]["tasks"][0]["taskArn"] == task
    print("StartTask call took %.1f ms; parked poll answered %.1f ms after StartTask was sent "
          "(%.1f ms after its response)"
          % ((t_done - t_call) * 1000, (answer["at"] - t_call) * 1000, (answer["at"] - t_done) * 1000))
    main_client.close()


if __name__ == "__main__":
    main()
