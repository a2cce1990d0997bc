#!/usr/bin/python3
"""Logs ingestion benchmark; run it through bench/logs/run.sh (see its header).

    logs_bench.py --work DIR [--lines N] [--clients N] [--line-bytes N] [--berth BIN]
"""
import argparse
import http.client
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ACCESS_KEY = "AKIABERTHLOGSBENCH01"
SECRET_KEY = "berth-logs-bench-secret-0123456789abcdef"
REGION = "eu-west-3"
GROUP = "/bench/logs"
MAX_EVENTS = 10000
MAX_BATCH_BYTES = 1048576  # message bytes + 26 per event (PutLogEvents' limit)
BATCH = MAX_EVENTS  # set in main(): as many lines as the limits allow


def log(msg):
    print("logs_bench: " + msg, file=sys.stderr, flush=True)


def make_body(stream, line_bytes, batch_index, ts):
    events = []
    for i in range(BATCH):
        head = "stream %s batch %d line %d " % (stream, batch_index, i)
        events.append({"timestamp": ts, "message": (head + "x" * line_bytes)[:line_bytes]})
    return json.dumps({"logGroupName": GROUP, "logStreamName": stream, "logEvents": events}).encode()


def signed_headers(port, target, body):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method="POST", url="http://127.0.0.1:%d/" % port, data=body,
                     headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "logs", REGION).add_auth(req)
    return dict(req.headers.items())


def call(conn, port, op, payload):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    conn.request("POST", "/", body=body, headers=signed_headers(port, "Logs_20140328." + op, body))
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError("%s: HTTP %d %s" % (op, resp.status, data[:300]))
    return json.loads(data) if data else {}


def put_worker(port, stream, bodies, start_evt, out_q):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    start_evt.wait()
    t0 = time.perf_counter()
    for b in bodies:
        call(conn, port, "PutLogEvents", b)
    out_q.put((stream, time.perf_counter() - t0))


def file_limit(path, bodies):
    """Appends every body to one file with an fsync per batch (the durable floor)."""
    t0 = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for b in bodies:
            os.write(fd, b)
            os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--lines", type=int, default=500000)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--line-bytes", type=int, default=100)
    ap.add_argument("--berth", default=os.path.join(ROOT, "build", "berth"))
    a = ap.parse_args()
    global BATCH
    BATCH = min(MAX_EVENTS, MAX_BATCH_BYTES // (a.line_bytes + 26))
    batches_per_client = max(1, a.lines // (BATCH * a.clients))
    total = batches_per_client * BATCH * a.clients
    ts = int(time.time() * 1000) - 60000
    streams = ["s%d" % c for c in range(a.clients)]
    log("building %d batches of %d lines" % (batches_per_client * a.clients, BATCH))
    bodies = {s: [make_body(s, a.line_bytes, i, ts) for i in range(batches_per_client)] for s in streams}
    total_bytes = sum(len(b) for bs in bodies.values() for b in bs)

    # Physical limit first (same bytes, same disk).
    limit_s = file_limit(os.path.join(a.work, "limit.bin"), [b for s in streams for b in bodies[s]])
    os.unlink(os.path.join(a.work, "limit.bin"))

    env = dict(os.environ, BERTH_ACCESS_KEY_ID=ACCESS_KEY, BERTH_SECRET_ACCESS_KEY=SECRET_KEY)
    data_dir = os.path.join(a.work, "data")
    srv = subprocess.Popen([a.berth, "server", "--listen", "127.0.0.1:0", "--data-dir", data_dir,
                            "--region", REGION, "--max-body-bytes", str(8 << 20)],
                           stdout=subprocess.PIPE, stderr=open(os.path.join(a.work, "server.log"), "wb"),
                           env=env, text=True)
    try:
        port = None
        deadline = time.time() + 30
        while time.time() < deadline:
            line = srv.stdout.readline()
            if not line:
                break
            m = re.search(r"listening on http://[\d.]+:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        if not port:
            raise RuntimeError("berth server did not start")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        call(conn, port, "CreateLogGroup", {"logGroupName": GROUP})
        for s in streams:
            call(conn, port, "CreateLogStream", {"logGroupName": GROUP, "logStreamName": s})

        start = multiprocessing.Event()
        q = multiprocessing.Queue()
        procs = [multiprocessing.Process(target=put_worker, args=(port, s, bodies[s], start, q)) for s in streams]
        for p in procs:
            p.start()
        time.sleep(0.5)
        t0 = time.perf_counter()
        start.set()
        for p in procs:
            p.join(600)
        put_s = time.perf_counter() - t0
        if any(p.exitcode != 0 for p in procs):
            raise RuntimeError("a put worker failed")
        results = [q.get(timeout=5) for _ in procs]

        # Read everything back (GetLogEvents forward pages of up to 1 MB).
        t1 = time.perf_counter()
        seen = 0
        for s in streams:
            token = None
            for _ in range(100000):
                req = {"logGroupName": GROUP, "logStreamName": s, "startFromHead": True}
                if token:
                    req["nextToken"] = token
                out = call(conn, port, "GetLogEvents", req)
                seen += len(out["events"])
                if out["nextForwardToken"] == token:
                    break
                token = out["nextForwardToken"]
        get_s = time.perf_counter() - t1
        if seen != total:
            raise RuntimeError("read back %d lines, expected %d" % (seen, total))
        db_bytes = sum(os.path.getsize(os.path.join(data_dir, "logs", f)) for f in os.listdir(os.path.join(data_dir, "logs")))
    finally:
        srv.send_signal(signal.SIGTERM)
        try:
            srv.wait(30)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()

    mb = total_bytes / 1e6
    print("| measure | lines | seconds | lines/s | MB/s (request bytes) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print("| disk limit: same bytes appended + fsync per batch | %d | %.2f | %.0f | %.1f |"
          % (total, limit_s, total / limit_s, mb / limit_s))
    print("| Berth PutLogEvents (%d clients, batches of %d %d-byte lines) | %d | %.2f | %.0f | %.1f |"
          % (a.clients, BATCH, a.line_bytes, total, put_s, total / put_s, mb / put_s))
    print("| Berth GetLogEvents read-back (all visible) | %d | %.2f | %.0f | |" % (seen, get_s, seen / get_s))
    print()
    print("Berth / disk limit: %.2f; log database on disk: %.1f MB" % (limit_s / put_s, db_bytes / 1e6))


if __name__ == "__main__":
    main()
