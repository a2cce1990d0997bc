#!/usr/bin/python3
"""Generates botocore_vectors.json: requests signed by real botocore.

Run with Debian's python3-botocore (1.29.27 when generated):
    /usr/bin/python3 src/api/testdata/sigv4/gen_botocore_vectors.py > src/api/testdata/sigv4/botocore_vectors.json

Raw AWSRequest vectors use botocore.auth signers with the clock pinned to
2023-11-14T22:13:20Z. The client vectors go through the full botocore client
pipeline (serializer, user agent, signer) exactly as the aws CLI on this
machine does; when awscrt is installed botocore signs those with the CRT
signer (aws-c-auth), which reads the real clock, so their time is whatever
X-Amz-Date says ("now" is taken from it). The send is intercepted; nothing
touches the network. Keys are the AWS documentation example keys.
"""
import datetime
import json
import sys

import botocore
import botocore.auth
import botocore.session
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials

FIXED = datetime.datetime(2023, 11, 14, 22, 13, 20)
KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


class _FixedDatetime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return FIXED


class _DatetimeModule:
    datetime = _FixedDatetime


botocore.auth.datetime = _DatetimeModule


def capture_client_call(service, region, endpoint, op, params):
    session = botocore.session.get_session()
    session.set_credentials(KEY, SECRET)
    client = session.create_client(service, region_name=region, endpoint_url=endpoint)
    captured = {}

    def before_send(request, **kwargs):
        captured["request"] = request
        raw = type("Raw", (), {"stream": lambda self, **kw: iter([b"{}"])})()
        return AWSResponse(request.url, 200, {}, raw)

    client.meta.events.register("before-send", before_send)
    try:
        getattr(client, op)(**params)
    except Exception:
        pass  # the fake response may not parse; the request is what we want
    return captured["request"]


def describe(name, note, service, region, req):
    url = botocore.compat.urlsplit(req.url)
    target = url.path or "/"
    if url.query:
        target += "?" + url.query
    headers = []
    for k, v in req.headers.items():
        if isinstance(v, bytes):
            v = v.decode()
        headers.append([k.lower(), v])
    if not any(k == "host" for k, _ in headers):
        # botocore signs the host from the URL; the HTTP layer adds the header.
        headers.append(["host", url.netloc])
    now = dict(headers).get("x-amz-date")
    if now is None:
        now = dict(botocore.compat.parse_qsl(url.query))["X-Amz-Date"]
    body = req.body or b""
    if isinstance(body, str):
        body = body.encode()
    return {
        "name": name,
        "note": note,
        "service": service,
        "region": region,
        "method": req.method,
        "target": target,
        "headers": headers,
        "body": body.decode(),
        "now": now,
    }


def sign_raw(auth, method, url, headers=None, body=b""):
    req = AWSRequest(method=method, url=url, headers=headers or {}, data=body)
    auth.add_auth(req)
    p = req.prepare()
    return p


vectors = []

r = capture_client_call("ecs", "us-east-1", "http://localhost:8080", "list_clusters", {})
vectors.append(describe("ecs-list-clusters", "botocore client ecs.list_clusters via --endpoint-url", "ecs", "us-east-1", r))

r = capture_client_call("ecs", "eu-west-1", "http://127.0.0.1:31337", "run_task",
                        {"cluster": "prod", "taskDefinition": "web:3", "count": 2,
                         "overrides": {"containerOverrides": [{"name": "app", "command": ["sh", "-c", "echo  hi"]}]}})
vectors.append(describe("ecs-run-task", "botocore client ecs.run_task, non-default port", "ecs", "eu-west-1", r))

r = capture_client_call("elbv2", "us-east-1", "http://localhost:8080", "describe_target_groups",
                        {"Names": ["a b", "c/d"]})
vectors.append(describe("elbv2-describe-target-groups", "botocore client elbv2 (Query protocol, form body)", "elasticloadbalancing", "us-east-1", r))

r = capture_client_call("ecs", "us-east-1", "http://localhost:8080/some%20prefix/", "list_clusters", {})
vectors.append(describe("ecs-endpoint-with-path", "endpoint URL with an encoded path prefix", "ecs", "us-east-1", r))

creds = Credentials(KEY, SECRET)
p = sign_raw(botocore.auth.SigV4Auth(creds, "service", "us-east-1"), "GET",
             "http://localhost:8080/a%20b/./c~d//e/?b=2&a=1&a=0&sp=x%20y&plus=%2B&uni=%E1%88%B4",
             {"X-Custom": "  two   spaces  ", "User-Agent": "not-signed"})
vectors.append(describe("raw-path-and-query", "SigV4Auth on a raw AWSRequest: double-encoded path, dot segments, sorted query", "service", "us-east-1", p))

p = sign_raw(botocore.auth.SigV4Auth(creds, "ecs", "us-east-1"), "POST", "http://localhost:8080/",
             {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeClusters",
              "User-Agent": "aws-cli/1.x"},
             b'{"clusters": ["default"]}')
vectors.append(describe("ecs-sigv4auth", "pure-Python SigV4Auth, ecs, X-Amz-Target", "ecs", "us-east-1", p))

tcreds = Credentials(KEY, SECRET, token="SESSIONTOKENEXAMPLE")
p = sign_raw(botocore.auth.SigV4Auth(tcreds, "ecs", "us-east-1"), "POST", "http://localhost:8080/",
             {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters"},
             b"{}")
vectors.append(describe("ecs-session-token", "SigV4Auth with a session token (x-amz-security-token is signed)", "ecs", "us-east-1", p))

p = sign_raw(botocore.auth.SigV4QueryAuth(creds, "ecr", "us-east-1", expires=300), "GET",
             "http://localhost:8080/v2/library/busybox/manifests/latest")
vectors.append(describe("presign-ecr", "SigV4QueryAuth (generic presign: payload hash of the empty body)", "ecr", "us-east-1", p))

p = sign_raw(botocore.auth.S3SigV4QueryAuth(creds, "s3", "us-east-1", expires=3600), "GET",
             "http://localhost:8080/bucket/key%20with%20space")
vectors.append(describe("presign-s3", "S3SigV4QueryAuth (UNSIGNED-PAYLOAD, S3 path rules)", "s3", "us-east-1", p))

json.dump({"generator": "src/api/testdata/sigv4/gen_botocore_vectors.py",
           "botocore": botocore.__version__,
           "accessKeyId": KEY, "secretAccessKey": SECRET,
           "vectors": vectors}, sys.stdout, indent=2, ensure_ascii=False)
sys.stdout.write("\n")
