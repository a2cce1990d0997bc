"""SSM Parameter Store (AmazonSSM, JSON 1.1) driven by the real AWS CLI
(`aws ssm ...`) and boto3 (paginators, error shapes) against one `berth server`.

Checks the API contract (fields, versions, selectors, hierarchy, filters,
pagination), AWS's error shapes (exception name, HTTP status, message) and that
a SecureString's plaintext is never at rest: not in the state database, not in
the server log, and not in responses without WithDecryption.

Run: cd tests/integration && BERTH_BIN=.../build/berth /usr/bin/python3 -W ignore::ResourceWarning \
         -m unittest -v test_ssm_parameters
"""
import glob
import http.client
import json
import os
import re
import stat
import unittest

from berth_harness import ACCESS_KEY, ACCOUNT, REGION, SECRET_KEY, ServerTestCase


def aws_error_code(proc):
    m = re.search(r"An error occurred \(([A-Za-z]+)\)", proc.stderr)
    return m.group(1) if m else None


class SsmParametersTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ssm = cls.server.boto3_client("ssm")

    def name(self, suffix=""):
        # Hierarchical and unique per test so tests stay independent on one server.
        return "/berth-ssm-it/%s%s" % (self.unique("t"), suffix)

    def ssm_raw(self, op, body):
        """One request signed for "ssm" without botocore's client-side validation."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        data = json.dumps(body).encode()
        req = AWSRequest(method="POST", url=self.server.endpoint + "/", data=data,
                         headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM." + op})
        SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "ssm", REGION).add_auth(req)
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            conn.request("POST", "/", body=data, headers=dict(req.headers.items()))
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read() or b"{}")
        finally:
            conn.close()

    def client_error(self, fn, **kwargs):
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        r = cm.exception.response
        return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"].get("Message", "")

    # --- AWS CLI -----------------------------------------------------------
    def test_cli_put_get_versions_and_delete(self):
        name = self.name("/db/host")
        out = self.server.aws("ssm", "put-parameter", "--name", name, "--value", "db.local", "--type", "String",
                              "--description", "the database host")
        self.assertEqual(out, {"Version": 1, "Tier": "Standard"})
        proc = self.server.aws("ssm", "put-parameter", "--name", name, "--value", "x", "--type", "String", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertEqual(aws_error_code(proc), "ParameterAlreadyExists")
        self.assertIn("The parameter already exists. To overwrite this value, set the overwrite option in the "
                      "request to true.", proc.stderr)
        self.assertEqual(self.server.aws("ssm", "put-parameter", "--name", name, "--value", "db2.local",
                                         "--overwrite")["Version"], 2)
        p = self.server.aws("ssm", "get-parameter", "--name", name)["Parameter"]
        self.assertEqual(p["Name"], name)
        self.assertEqual(p["Value"], "db2.local")
        self.assertEqual(p["Version"], 2)
        self.assertEqual(p["Type"], "String")
        self.assertEqual(p["DataType"], "text")
        self.assertEqual(p["ARN"], "arn:aws:ssm:%s:%s:parameter%s" % (REGION, ACCOUNT, name))
        self.assertIn("LastModifiedDate", p)
        v1 = self.server.aws("ssm", "get-parameter", "--name", name + ":1")["Parameter"]
        self.assertEqual((v1["Value"], v1["Version"], v1["Selector"]), ("db.local", 1, ":1"))
        by_arn = self.server.aws("ssm", "get-parameter", "--name", p["ARN"])["Parameter"]
        self.assertEqual(by_arn["Value"], "db2.local")
        history = self.server.aws("ssm", "get-parameter-history", "--name", name)["Parameters"]
        self.assertEqual([h["Version"] for h in history], [1, 2])
        self.assertEqual(history[1]["Description"], "the database host")

        self.assertIsNone(self.server.aws("ssm", "delete-parameter", "--name", name))
        proc = self.server.aws("ssm", "get-parameter", "--name", name, check=False)
        self.assertEqual(aws_error_code(proc), "ParameterNotFound")
        proc = self.server.aws("ssm", "delete-parameter", "--name", name, check=False)
        self.assertEqual(aws_error_code(proc), "ParameterNotFound")

    def test_cli_secure_string_with_and_without_decryption(self):
        name = self.name("/secret")
        plaintext = "plaintext-%s-never-at-rest" % self.unique("v")
        self.server.aws("ssm", "put-parameter", "--name", name, "--value", plaintext, "--type", "SecureString")
        dec = self.server.aws("ssm", "get-parameter", "--name", name, "--with-decryption")["Parameter"]
        self.assertEqual(dec["Value"], plaintext)
        self.assertEqual(dec["Type"], "SecureString")
        enc = self.server.aws("ssm", "get-parameter", "--name", name)["Parameter"]
        self.assertNotEqual(enc["Value"], plaintext)
        self.assertNotIn(plaintext, json.dumps(enc))
        meta = self.server.aws("ssm", "describe-parameters", "--parameter-filters",
                               "Key=Name,Values=%s" % name)["Parameters"]
        self.assertEqual(len(meta), 1)
        self.assertEqual(meta[0]["KeyId"], "alias/aws/ssm")
        self.assertNotIn("Value", meta[0])
        # Not at rest: the state database (and its WAL) never hold the plaintext; nor does the log.
        for path in glob.glob(os.path.join(self.server.data_dir, "state.db*")):
            with open(path, "rb") as f:
                self.assertNotIn(plaintext.encode(), f.read(), path)
        self.assertNotIn(plaintext, self.server.log())
        key = os.path.join(self.server.data_dir, "ssm.key")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        self.assertEqual(os.path.getsize(key), 32)

    def test_cli_get_parameters_and_by_path(self):
        base = self.name()
        for sub, typ in [("/a", "String"), ("/b", "SecureString"), ("/db/host", "String"),
                         ("/db/deep/x", "StringList")]:
            self.server.aws("ssm", "put-parameter", "--name", base + sub, "--value", "v" + sub, "--type", typ)
        got = self.server.aws("ssm", "get-parameters", "--names", base + "/a", base + "/b", base + "/nope",
                              "--with-decryption")
        self.assertEqual(sorted(p["Name"] for p in got["Parameters"]), [base + "/a", base + "/b"])
        self.assertEqual({p["Name"]: p["Value"] for p in got["Parameters"]}[base + "/b"], "v/b")
        self.assertEqual(got["InvalidParameters"], [base + "/nope"])
        one = self.server.aws("ssm", "get-parameters-by-path", "--path", base)["Parameters"]
        self.assertEqual(sorted(p["Name"] for p in one), [base + "/a", base + "/b"])
        rec = self.server.aws("ssm", "get-parameters-by-path", "--path", base, "--recursive",
                              "--with-decryption")["Parameters"]
        self.assertEqual(sorted(p["Name"] for p in rec),
                         sorted(base + s for s in ["/a", "/b", "/db/host", "/db/deep/x"]))
        self.assertEqual({p["Name"]: p["Value"] for p in rec}[base + "/db/deep/x"], "v/db/deep/x")
        secure = self.server.aws("ssm", "get-parameters-by-path", "--path", base, "--recursive",
                                 "--parameter-filters", "Key=Type,Values=SecureString")["Parameters"]
        self.assertEqual([p["Name"] for p in secure], [base + "/b"])
        # The CLI pages through everything by itself (MaxResults 1 per call here).
        paged = self.server.aws("ssm", "get-parameters-by-path", "--path", base, "--recursive",
                                "--page-size", "1")["Parameters"]
        self.assertEqual(len(paged), 4)
        described = self.server.aws("ssm", "describe-parameters", "--parameter-filters",
                                    "Key=Path,Option=Recursive,Values=%s" % base)["Parameters"]
        self.assertEqual(len(described), 4)
        self.assertTrue(all("Value" not in d for d in described))

    # --- boto3 -------------------------------------------------------------
    def test_boto3_paginators(self):
        base = self.name()
        names = [base + "/p%02d" % i for i in range(23)]
        for n in names:
            self.ssm.put_parameter(Name=n, Value="x", Type="String")
        pages = list(self.ssm.get_paginator("get_parameters_by_path").paginate(
            Path=base, PaginationConfig={"PageSize": 10}))
        self.assertEqual([len(p["Parameters"]) for p in pages], [10, 10, 3])
        self.assertEqual([p["Name"] for page in pages for p in page["Parameters"]], names)
        self.assertNotIn("NextToken", pages[-1])
        pages = list(self.ssm.get_paginator("describe_parameters").paginate(
            ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": [base + "/"]}],
            PaginationConfig={"PageSize": 7}))
        self.assertEqual([p["Name"] for page in pages for p in page["Parameters"]], names)
        self.assertEqual(len(pages), 4)
        resp = self.ssm.delete_parameters(Names=names[:9] + [base + "/missing"])
        self.assertEqual(resp["DeletedParameters"], names[:9])
        self.assertEqual(resp["InvalidParameters"], [base + "/missing"])

    def test_error_shapes(self):
        name = self.name("/e")
        self.assertEqual(self.client_error(self.ssm.get_parameter, Name=name),
                         ("ParameterNotFound", 400, "Parameter %s not found." % name))
        self.ssm.put_parameter(Name=name, Value="1", Type="String")
        code, status, _ = self.client_error(self.ssm.get_parameter, Name=name + ":5")
        self.assertEqual((code, status), ("ParameterVersionNotFound", 400))
        code, status, message = self.client_error(self.ssm.put_parameter, Name="/aws/berth-ssm", Value="1",
                                                  Type="String")
        self.assertEqual((code, status), ("ValidationException", 400))
        self.assertTrue(message.startswith("Parameter name: can't be prefixed with \"ssm\" (case-insensitive)."),
                        message)
        self.assertEqual(self.client_error(self.ssm.put_parameter, Name="awsBerth", Value="1", Type="String"),
                         ("ValidationException", 400,
                          "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive)."))
        deep = "/berth-ssm-it" + "/l" * 15
        code, status, _ = self.client_error(self.ssm.put_parameter, Name=deep, Value="1", Type="String")
        self.assertEqual((code, status), ("HierarchyLevelLimitExceededException", 400))
        code, status, message = self.client_error(self.ssm.put_parameter, Name=self.name("/pat"), Value="abc",
                                                  Type="String", AllowedPattern="^\\d+$")
        self.assertEqual((code, status), ("ParameterPatternMismatchException", 400))
        self.assertIn("allowedPattern", message)
        code, status, message = self.client_error(self.ssm.put_parameter, Name=self.name("/notype"), Value="1")
        self.assertEqual((code, status, message),
                         ("ValidationException", 400, "A parameter type is required when you create a parameter."))
        code, _, _ = self.client_error(self.ssm.get_parameters_by_path, Path=self.name(),
                                       ParameterFilters=[{"Key": "Name", "Values": ["x"]}])
        self.assertEqual(code, "InvalidFilterKey")
        code, _, _ = self.client_error(self.ssm.get_parameters_by_path, Path=self.name(), NextToken="bogus")
        self.assertEqual(code, "InvalidNextToken")
        # Model violations: ValidationException in Coral's wording.
        status, body = self.ssm_raw("GetParametersByPath", {"Path": "/x", "MaxResults": 11})
        self.assertEqual(status, 400)
        self.assertEqual(body["__type"], "ValidationException")
        self.assertIn("1 validation error detected", body["message"])
        self.assertIn("Member must have value less than or equal to 10", body["message"])
        status, body = self.ssm_raw("GetParameters", {"Names": ["a"] * 11})
        self.assertEqual((status, body["__type"]), (400, "ValidationException"))
        status, body = self.ssm_raw("PutParameter", {"Name": self.name("/t"), "Value": "1", "Type": "Number"})
        self.assertEqual((status, body["__type"]), (400, "ValidationException"))
        self.assertIn("Member must satisfy enum value set", body["message"])


if __name__ == "__main__":
    unittest.main()
