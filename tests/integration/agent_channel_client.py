"""Raw signed JSON 1.1 calls for agent-channel tests and measurements: one
keep-alive connection per client, every request signed with botocore's SigV4
(scope service ecs), as the agent signs them."""
import http.client
import json

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from berth_harness import ACCESS_KEY, REGION, SECRET_KEY

AGENT = "BerthAgentService_V1."
ECS = "AmazonEC2ContainerServiceV20141113."


class SignedClient:
    def __init__(self, server, timeout=60):
        self.server = server
        self.timeout = timeout
        self.conn = None
        self.signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "ecs", REGION)

    def call(self, target, body):
        """Returns (status, parsed JSON body)."""
        data = json.dumps(body).encode()
        req = AWSRequest(method="POST", url=self.server.endpoint + "/", data=data,
                         headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
        self.signer.add_auth(req)
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=self.timeout)
        try:
            self.conn.request("POST", "/", body=data, headers=dict(req.headers.items()))
            resp = self.conn.getresponse()
            payload = resp.read()
        except Exception:
            self.close()
            raise
        if resp.getheader("Connection", "").lower() == "close":
            self.close()
        return resp.status, json.loads(payload) if payload else None

    def ok(self, target, body):
        status, out = self.call(target, body)
        if status != 200:
            raise AssertionError("%s failed with %d: %r" % (target, status, out))
        return out

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def resources(cpu=1024, memory=2048):
    return [{"name": "CPU", "type": "INTEGER", "integerValue": cpu},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
            {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]},
            {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []}]


def register_instance(client, cluster):
    out = client.ok(ECS + "RegisterContainerInstance", {"cluster": cluster, "totalResources": resources()})
    return out["containerInstance"]["containerInstanceArn"]
