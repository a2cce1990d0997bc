"""Starts a real `berth server` for integration tests and builds real clients.

Tests run with Debian's python3 (/usr/bin/python3) so boto3/botocore are the
Debian packages (python3-boto3 1.26, python3-botocore 1.29), and drive the AWS
CLI from /usr/bin/aws (Debian's awscli v2).
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

BERTH_BIN = os.environ.get("BERTH_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "build", "berth"))
AWS_CLI = os.environ.get("BERTH_AWS_CLI", "/usr/bin/aws")
ACCESS_KEY = "AKIABERTHTEST0000001"
SECRET_KEY = "berth-test-secret-key-0123456789abcdefghij"
REGION = "eu-west-3"
ACCOUNT = "123456789012"


class BerthServer:
    """A `berth server` process on a free loopback port with its own data dir."""

    def __init__(self, data_dir=None, extra_args=(), env_credentials=True, subcommand="server",
                 listen="127.0.0.1:0"):
        self.subcommand = subcommand
        self.listen = listen  # HOST:PORT; port 0 picks a free one (read back from the banner)
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="berth-it-")
        self.extra_args = list(extra_args)
        self.env_credentials = env_credentials
        self.proc = None
        self.endpoint = None
        self.stdout_lines = []

    def start(self, timeout=20):
        env = dict(os.environ)
        if self.env_credentials:
            env["BERTH_ACCESS_KEY_ID"] = ACCESS_KEY
            env["BERTH_SECRET_ACCESS_KEY"] = SECRET_KEY
        else:
            env.pop("BERTH_ACCESS_KEY_ID", None)
            env.pop("BERTH_SECRET_ACCESS_KEY", None)
        args = [BERTH_BIN, self.subcommand, "--listen", self.listen, "--data-dir", self.data_dir,
                "--region", REGION, "--account-id", ACCOUNT] + self.extra_args
        self.stderr_file = open(os.path.join(self.data_dir, "server.log"), "ab")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.stderr_file, env=env, text=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.stdout_lines.append(line)
            m = re.search(r"listening on (http://[\d.]+:\d+)", line)
            if m:
                self.endpoint = m.group(1)
                return self
        self.stop()
        raise RuntimeError("berth server did not start; see " + os.path.join(self.data_dir, "server.log"))

    @property
    def host(self):
        return self.endpoint.split("//", 1)[1].rsplit(":", 1)[0]

    @property
    def port(self):
        return int(self.endpoint.rsplit(":", 1)[1])

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        if getattr(self, "stderr_file", None):
            self.stderr_file.close()
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def log(self):
        with open(os.path.join(self.data_dir, "server.log"), "r", errors="replace") as f:
            return f.read()

    # --- clients -------------------------------------------------------
    def boto3_client(self, service="ecs", access_key=ACCESS_KEY, secret_key=SECRET_KEY):
        import boto3
        from botocore.config import Config
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                            config=Config(retries={"max_attempts": 1}))

    def aws(self, *args, check=True):
        """Runs the real AWS CLI against this server; returns parsed JSON (or None)."""
        env = {"PATH": "/usr/bin:/bin", "HOME": self.data_dir,
               "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
               "AWS_DEFAULT_REGION": REGION, "AWS_PAGER": "", "AWS_EC2_METADATA_DISABLED": "true",
               "AWS_MAX_ATTEMPTS": "1"}
        proc = subprocess.run([AWS_CLI, "--endpoint-url", self.endpoint, "--output", "json"] + list(args),
                              capture_output=True, text=True, env=env, timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError("aws %s failed (%d): %s" % (" ".join(args), proc.returncode, proc.stderr))
        if check:
            return json.loads(proc.stdout) if proc.stdout.strip() else None
        return proc

    def raw(self, body, target="AmazonEC2ContainerServiceV20141113.ListClusters", headers=None,
            sign=True, secret_key=SECRET_KEY, access_key=ACCESS_KEY, amz_date=None, method="POST", path="/"):
        """Sends one request with botocore's SigV4 signer (or unsigned); returns (status, headers, body)."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        import http.client
        hdrs = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}
        hdrs.update(headers or {})
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        if isinstance(data, str):
            data = data.encode()
        url = self.endpoint + path
        if sign:
            req = AWSRequest(method=method, url=url, data=data, headers=hdrs)
            signer = SigV4Auth(Credentials(access_key, secret_key), "ecs", REGION)
            if amz_date:
                import datetime
                from unittest import mock
                fixed = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
                with mock.patch("botocore.auth.datetime") as dt:
                    dt.datetime.utcnow.return_value = fixed
                    dt.datetime.strptime = datetime.datetime.strptime
                    signer.add_auth(req)
            else:
                signer.add_auth(req)
            hdrs = dict(req.headers.items())
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            payload = resp.read()
            return resp.status, dict(resp.getheaders()), payload
        finally:
            conn.close()


class ServerTestCase(unittest.TestCase):
    """One server per test class (fast); tests use unique names to stay independent."""

    server_args = ()

    @classmethod
    def setUpClass(cls):
        cls.server = BerthServer(extra_args=cls.server_args).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        log = cls.server.log()
        cls.server.cleanup()
        # A clean SIGTERM shutdown exits 0; anything else is a bug worth failing on.
        if rc != 0:
            raise AssertionError("server exited with %s; log:\n%s" % (rc, log[-4000:]))

    def unique(self, prefix):
        return "%s-%s-%d" % (prefix, self._testMethodName.replace("_", "-")[:40], int(time.time() * 1000) % 100000000)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
