"""The wire: SigV4, AWS-shaped errors, hostile input. The server must keep serving."""
import datetime
import json
import socket
import threading
import time
import unittest

from berth_harness import ACCESS_KEY, SECRET_KEY, ServerTestCase

TARGET = "AmazonEC2ContainerServiceV20141113."


class ProtocolTest(ServerTestCase):
    server_args = ("--max-body-bytes", "65536")

    def error(self, status, headers, body):
        doc = json.loads(body)
        self.assertIn("__type", doc)
        self.assertIn("message", doc)
        self.assertEqual(headers.get("x-amzn-ErrorType"), doc["__type"])
        self.assertTrue(headers.get("x-amzn-RequestId"))
        return doc["__type"]

    def assert_still_serving(self):
        status, _, body = self.server.raw({}, target=TARGET + "ListClusters")
        self.assertEqual(status, 200, body)

    def test_signed_request_succeeds_with_request_id(self):
        status, headers, body = self.server.raw({}, target=TARGET + "ListClusters")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/x-amz-json-1.1")
        self.assertEqual(len(headers["x-amzn-RequestId"]), 36)
        self.assertIn("clusterArns", json.loads(body))

    def test_unsigned_request_is_missing_authentication_token(self):
        status, headers, body = self.server.raw({}, sign=False)
        self.assertEqual(status, 400)
        self.assertEqual(self.error(status, headers, body), "MissingAuthenticationTokenException")

    def test_unknown_access_key_is_unrecognized_client(self):
        status, headers, body = self.server.raw({}, access_key="AKIAUNKNOWNKEY000000")
        self.assertEqual(status, 400)
        self.assertEqual(self.error(status, headers, body), "UnrecognizedClientException")
        self.assertEqual(json.loads(body)["message"], "The security token included in the request is invalid.")

    def test_wrong_secret_is_invalid_signature(self):
        status, headers, body = self.server.raw({}, secret_key="not-the-secret")
        self.assertEqual(status, 400)
        self.assertEqual(self.error(status, headers, body), "InvalidSignatureException")

    def test_tampered_body_is_invalid_signature(self):
        # Sign one body, send another: the payload hash no longer matches.
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        import http.client
        req = AWSRequest(method="POST", url=self.server.endpoint + "/", data=b"{}",
                         headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + "ListClusters"})
        SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "ecs", "eu-west-3").add_auth(req)
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        conn.request("POST", "/", body=b'{"maxResults": 1}', headers=dict(req.headers.items()))
        resp = conn.getresponse()
        body = resp.read()
        self.assertEqual(resp.status, 400)
        self.assertEqual(json.loads(body)["__type"], "InvalidSignatureException")

    def test_signature_for_another_region_or_service_is_refused(self):
        import boto3
        other = boto3.client("ecs", endpoint_url=self.server.endpoint, region_name="us-west-2",
                             aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as ctx:
            other.list_clusters()
        self.assertEqual(ctx.exception.response["Error"]["Code"], "InvalidSignatureException")
        self.assertIn("us-west-2", ctx.exception.response["Error"]["Message"])
        # Signed for ECR's scope but sent to an ECS target.
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        import http.client
        req = AWSRequest(method="POST", url=self.server.endpoint + "/", data=b"{}",
                         headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + "ListClusters"})
        SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "ecr", "eu-west-3").add_auth(req)
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        conn.request("POST", "/", body=b"{}", headers=dict(req.headers.items()))
        resp = conn.getresponse()
        body = json.loads(resp.read())
        self.assertEqual(resp.status, 400)
        self.assertEqual(body["__type"], "InvalidSignatureException")
        self.assertIn("'ecs'", body["message"])

    def test_stale_and_future_requests_are_rejected(self):
        now = datetime.datetime.utcnow()
        for delta in (datetime.timedelta(minutes=-16), datetime.timedelta(minutes=16)):
            stamp = (now + delta).strftime("%Y%m%dT%H%M%SZ")
            status, headers, body = self.server.raw({}, amz_date=stamp)
            self.assertEqual(status, 400, body)
            self.assertEqual(self.error(status, headers, body), "InvalidSignatureException")
            message = json.loads(body)["message"]
            self.assertTrue(message.startswith("Signature expired") or message.startswith("Signature not yet current"),
                            message)
        ok_stamp = (now - datetime.timedelta(minutes=10)).strftime("%Y%m%dT%H%M%SZ")
        status, _, body = self.server.raw({}, amz_date=ok_stamp)
        self.assertEqual(status, 200, body)

    def test_garbage_authorization_header(self):
        for value in ("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 Credential=", "Basic Zm9vOmJhcg==", "\x01\x02",
                      "AWS4-HMAC-SHA256 Credential=AKIA/2/3, SignedHeaders=host, Signature=zz" * 50):
            status, headers, body = self.server.raw({}, sign=False, headers={"Authorization": value,
                                                                             "X-Amz-Date": "20200101T000000Z"})
            self.assertEqual(status // 100, 4, value)
            self.assertIn(self.error(status, headers, body),
                          ("IncompleteSignatureException", "InvalidSignatureException",
                           "MissingAuthenticationTokenException", "UnrecognizedClientException",
                           # a control byte in a header is malformed HTTP, refused before auth
                           "SerializationException"))
        self.assert_still_serving()

    def test_malformed_json_is_serialization_exception(self):
        for body in (b"{", b"not json", b"[1,2]", b"\xff\xfe", b'{"clusters": ["a"'):
            status, headers, payload = self.server.raw(body, target=TARGET + "DescribeClusters")
            self.assertEqual(status, 400, body)
            self.assertEqual(self.error(status, headers, payload), "SerializationException")
        self.assert_still_serving()

    def test_wrong_types_are_rejected(self):
        for body, target in (({"clusterName": 5}, "CreateCluster"),
                             ({"clusters": "abc"}, "DescribeClusters"),
                             ({"maxResults": "ten"}, "ListClusters"),
                             ({"family": "f", "containerDefinitions": [{"name": "a", "image": "i", "memory": "lots"}]},
                              "RegisterTaskDefinition"),
                             ({"family": "f", "containerDefinitions": {"name": "a"}}, "RegisterTaskDefinition")):
            status, headers, payload = self.server.raw(body, target=TARGET + target)
            self.assertEqual(status, 400, (body, payload))
            self.assertIn(self.error(status, headers, payload),
                          ("SerializationException", "InvalidParameterException", "ClientException"))
        self.assert_still_serving()

    def test_unknown_operation(self):
        status, headers, body = self.server.raw({}, target=TARGET + "FlyToTheMoon")
        self.assertEqual(status, 400)
        self.assertEqual(self.error(status, headers, body), "UnknownOperationException")
        status, headers, body = self.server.raw({}, target="NoSuchService_20200101.ListThings")
        self.assertEqual(self.error(status, headers, body), "UnknownOperationException")

    def test_oversized_body_is_rejected_and_server_keeps_serving(self):
        big = json.dumps({"clusterName": "x" * 200000})
        status, headers, body = self.server.raw(big, target=TARGET + "CreateCluster")
        self.assertEqual(status, 413)
        self.assertEqual(json.loads(body)["__type"], "RequestEntityTooLargeException")
        self.assert_still_serving()

    def raw_socket(self, payload, read_timeout=5):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=read_timeout)
        try:
            s.sendall(payload)
            chunks = []
            while True:
                try:
                    data = s.recv(65536)
                except socket.timeout:
                    break
                if not data:
                    break
                chunks.append(data)
            return b"".join(chunks)
        finally:
            s.close()

    def test_garbage_http_gets_400(self):
        for payload in (b"\x00\x01\x02garbage\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                        b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                        b"POST / HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"a" * 70000 + b"\r\n\r\n"):
            reply = self.raw_socket(payload)
            self.assertTrue(reply.startswith(b"HTTP/1.1 4"), reply[:100])
        self.assert_still_serving()

    def test_slow_clients_do_not_block_others(self):
        # Ten connections that never finish their headers; the server still answers others.
        slow = []
        for _ in range(10):
            s = socket.create_connection(("127.0.0.1", self.server.port))
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
            slow.append(s)
        try:
            start = time.time()
            self.assert_still_serving()
            self.assertLess(time.time() - start, 5)
        finally:
            for s in slow:
                s.close()

    def test_many_concurrent_keep_alive_clients(self):
        errors = []

        # boto3 client creation is not thread-safe; making requests with a client is.
        clients = [self.server.boto3_client() for _ in range(16)]

        def worker(ecs):
            try:
                for _ in range(20):
                    ecs.list_clusters()
            except Exception as e:  # collected and asserted below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])

    def test_healthz_needs_no_auth(self):
        reply = self.raw_socket(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 200"), reply[:100])


if __name__ == "__main__":
    unittest.main()
