"""OCI Distribution Spec v1.1 workflows (pull, push, content discovery, content
management) against a real `berth server` over HTTP, the way registry clients
use it: an ECR authorization token from boto3, the repository created with the
ECR API, then plain HTTP requests with `Authorization: Basic`."""
import base64
import hashlib
import http.client
import json
import unittest

from berth_harness import ServerTestCase

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY_CONFIG = b"{}"
EMPTY_CONFIG_TYPE = "application/vnd.oci.empty.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage: case-insensitive get()
        self.body = body

    def header(self, name):
        return self.headers.get(name)

    def json(self):
        return json.loads(self.body)

    def error_code(self):
        return self.json()["errors"][0]["code"]


class OciConformanceTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ecr = cls.server.boto3_client("ecr")
        data = cls.ecr.get_authorization_token()["authorizationData"][0]
        cls.auth = "Basic " + data["authorizationToken"]

    # --- helpers ----------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, auth=True, chunked=False):
        hdrs = dict(headers or {})
        if auth:
            hdrs["Authorization"] = self.auth
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        try:
            if chunked:
                conn.request(method, path, body=iter(body), headers=hdrs, encode_chunked=True)
            else:
                conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            payload = resp.read()
            resp_headers = resp.headers
            self.assertEqual(resp_headers.get("Docker-Distribution-API-Version"), "registry/2.0",
                             "%s %s -> %d" % (method, path, resp.status))
            self.assertLess(resp.status, 500, "%s %s -> %d %r" % (method, path, resp.status, payload[:500]))
            return Response(resp.status, resp_headers, payload)
        finally:
            conn.close()

    def repo(self, prefix="oci"):
        name = self.unique(prefix)
        self.ecr.create_repository(repositoryName=name)
        return name

    def push_blob(self, repo, data):
        d = digest(data)
        r = self.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, d), body=data,
                         headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 201, r.body)
        return d

    def manifest(self, repo, layers, subject=None, artifact_type=None, annotations=None):
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
             "config": {"mediaType": EMPTY_CONFIG_TYPE, "digest": self.push_blob(repo, EMPTY_CONFIG), "size": 2},
             "layers": [{"mediaType": LAYER_TYPE, "digest": self.push_blob(repo, layer), "size": len(layer)}
                        for layer in layers]}
        if subject:
            m["subject"] = subject
        if artifact_type:
            m["artifactType"] = artifact_type
        if annotations:
            m["annotations"] = annotations
        return json.dumps(m, indent=1).encode()

    def put_manifest(self, repo, ref, body, content_type=OCI_MANIFEST):
        return self.request("PUT", "/v2/%s/manifests/%s" % (repo, ref), body=body,
                            headers={"Content-Type": content_type})

    # --- determining support and authentication ----------------------------------
    def test_base_without_credentials_is_401_with_basic_challenge(self):
        r = self.request("GET", "/v2/", auth=False)
        self.assertEqual(r.status, 401)
        self.assertTrue(r.header("WWW-Authenticate").startswith("Basic realm="), r.header("WWW-Authenticate"))
        self.assertEqual(r.error_code(), "UNAUTHORIZED")

    def test_base_with_token_is_200(self):
        r = self.request("GET", "/v2/")
        self.assertEqual(r.status, 200)

    def test_get_login_password_from_the_aws_cli_works_as_basic_password(self):
        proc = self.server.aws("ecr", "get-login-password", check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        password = proc.stdout.strip()
        basic = base64.b64encode(("AWS:" + password).encode()).decode()
        r = self.request("GET", "/v2/", headers={"Authorization": "Basic " + basic}, auth=False)
        self.assertEqual(r.status, 200)
        forged = base64.b64encode(("AWS:" + password[:-2] + "xx").encode()).decode()
        r = self.request("GET", "/v2/", headers={"Authorization": "Basic " + forged}, auth=False)
        self.assertEqual(r.status, 401)

    # --- push ----------------------------------------------------------------------
    def test_monolithic_single_post_and_pull(self):
        repo = self.repo()
        data = b"monolithic layer bytes"
        d = digest(data)
        r = self.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, d), body=data,
                         headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 201)
        self.assertEqual(r.header("Location"), "/v2/%s/blobs/%s" % (repo, d))
        self.assertEqual(r.header("Docker-Content-Digest"), d)

        r = self.request("GET", "/v2/%s/blobs/%s" % (repo, d))
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, data)
        self.assertEqual(r.header("Docker-Content-Digest"), d)
        self.assertEqual(int(r.header("Content-Length")), len(data))

        r = self.request("HEAD", "/v2/%s/blobs/%s" % (repo, d))
        self.assertEqual(r.status, 200)
        self.assertEqual(int(r.header("Content-Length")), len(data))
        self.assertEqual(r.body, b"")

    def test_post_then_put(self):
        repo = self.repo()
        r = self.request("POST", "/v2/%s/blobs/uploads/" % repo, body=b"")
        self.assertEqual(r.status, 202)
        location = r.header("Location")
        self.assertTrue(location.startswith("/v2/%s/blobs/uploads/" % repo))
        data = b"x" * 70000
        r = self.request("PUT", location + "?digest=" + digest(data), body=data,
                         headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(self.request("GET", "/v2/%s/blobs/%s" % (repo, digest(data))).body, data)

    def test_chunked_upload_in_order_out_of_order_and_status(self):
        repo = self.repo()
        location = self.request("POST", "/v2/%s/blobs/uploads/" % repo, body=b"",
                                headers={"Content-Length": "0"}).header("Location")
        chunk1, chunk2 = b"a" * 1000, b"b" * 500
        r = self.request("PATCH", location, body=chunk1,
                         headers={"Content-Type": "application/octet-stream", "Content-Range": "0-999"})
        self.assertEqual(r.status, 202, r.body)
        self.assertEqual(r.header("Range"), "0-999")
        location = r.header("Location")
        r = self.request("PATCH", location, body=chunk2,
                         headers={"Content-Type": "application/octet-stream", "Content-Range": "1000-1499"})
        self.assertEqual(r.status, 202)
        self.assertEqual(r.header("Range"), "0-1499")

        retry = self.request("PATCH", location, body=chunk1, headers={"Content-Range": "0-999"})
        self.assertEqual(retry.status, 416)

        status = self.request("GET", location)
        self.assertEqual(status.status, 204)
        self.assertEqual(status.header("Range"), "0-1499")
        self.assertTrue(status.header("Location"))

        data = chunk1 + chunk2
        r = self.request("PUT", status.header("Location") + "?digest=" + digest(data), body=b"")
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.header("Location"), "/v2/%s/blobs/%s" % (repo, digest(data)))
        self.assertEqual(self.request("GET", "/v2/%s/blobs/%s" % (repo, digest(data))).body, data)

    def test_streamed_patch_with_chunked_transfer_encoding(self):
        repo = self.repo()
        location = self.request("POST", "/v2/%s/blobs/uploads/" % repo, body=b"").header("Location")
        pieces = [b"p" * 4096 for _ in range(64)]
        r = self.request("PATCH", location, body=pieces, chunked=True,
                         headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 202, r.body)
        self.assertEqual(r.header("Range"), "0-%d" % (4096 * 64 - 1))
        data = b"".join(pieces) + b"last"
        r = self.request("PUT", r.header("Location") + "?digest=" + digest(data), body=b"last",
                         headers={"Content-Range": "%d-%d" % (4096 * 64, 4096 * 64 + 3)})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(self.request("GET", "/v2/%s/blobs/%s" % (repo, digest(data))).body, data)

    def test_blob_larger_than_the_generic_body_limit_streams_both_ways(self):
        repo = self.repo()
        data = bytes(range(256)) * (8 * 4096)  # 8 MiB
        d = self.push_blob(repo, data)
        r = self.request("GET", "/v2/%s/blobs/%s" % (repo, d))
        self.assertEqual(r.status, 200)
        self.assertEqual(hashlib.sha256(r.body).hexdigest(), d.split(":")[1])
        r = self.request("GET", "/v2/%s/blobs/%s" % (repo, d), headers={"Range": "bytes=1000-1999"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.header("Content-Range"), "bytes 1000-1999/%d" % len(data))
        self.assertEqual(r.body, data[1000:2000])
        r = self.request("GET", "/v2/%s/blobs/%s" % (repo, d), headers={"Range": "bytes=%d-" % len(data)})
        self.assertEqual(r.status, 416)

    def test_digest_mismatch_is_digest_invalid_and_nothing_is_visible(self):
        repo = self.repo()
        wrong = digest(b"something else")
        r = self.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, wrong), body=b"content")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.error_code(), "DIGEST_INVALID")
        self.assertEqual(self.request("GET", "/v2/%s/blobs/%s" % (repo, wrong)).status, 404)
        self.assertEqual(self.request("GET", "/v2/%s/blobs/%s" % (repo, digest(b"content"))).status, 404)

    def test_cross_repository_mount(self):
        source, target = self.repo("src"), self.repo("dst")
        d = self.push_blob(source, b"shared base layer")
        r = self.request("POST", "/v2/%s/blobs/uploads/?mount=%s&from=%s" % (target, d, source), body=b"")
        self.assertEqual(r.status, 201)
        self.assertEqual(r.header("Location"), "/v2/%s/blobs/%s" % (target, d))
        self.assertEqual(self.request("GET", "/v2/%s/blobs/%s" % (target, d)).body, b"shared base layer")
        # Not in the source: a new upload session instead.
        other = digest(b"not there")
        r = self.request("POST", "/v2/%s/blobs/uploads/?mount=%s&from=%s" % (target, other, source), body=b"")
        self.assertEqual(r.status, 202)
        self.assertTrue(r.header("Location").startswith("/v2/%s/blobs/uploads/" % target))
        self.assertEqual(self.request("DELETE", r.header("Location")).status, 204)

    def test_push_to_missing_repository_is_name_unknown(self):
        r = self.request("POST", "/v2/%s/blobs/uploads/" % self.unique("missing"), body=b"")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.error_code(), "NAME_UNKNOWN")

    # --- manifests and pull ---------------------------------------------------------
    def test_manifest_push_and_pull_by_tag_and_digest_is_byte_exact(self):
        repo = self.repo()
        body = self.manifest(repo, [b"layer one", b"layer two"])
        r = self.put_manifest(repo, "v1", body)
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.header("Docker-Content-Digest"), digest(body))
        self.assertEqual(r.header("Location"), "/v2/%s/manifests/%s" % (repo, digest(body)))
        for ref in ("v1", digest(body)):
            r = self.request("GET", "/v2/%s/manifests/%s" % (repo, ref), headers={"Accept": OCI_MANIFEST})
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, body)
            self.assertEqual(r.header("Content-Type"), OCI_MANIFEST)
            self.assertEqual(r.header("Docker-Content-Digest"), digest(body))
        r = self.request("HEAD", "/v2/%s/manifests/v1" % repo)
        self.assertEqual(r.status, 200)
        self.assertEqual(int(r.header("Content-Length")), len(body))

        # The ECR API sees the image pushed over /v2/.
        images = self.ecr.list_images(repositoryName=repo)["imageIds"]
        self.assertIn({"imageDigest": digest(body), "imageTag": "v1"}, images)

    def test_manifest_errors(self):
        repo = self.repo()
        r = self.request("GET", "/v2/%s/manifests/nope" % repo)
        self.assertEqual((r.status, r.error_code()), (404, "MANIFEST_UNKNOWN"))
        missing_layer = json.loads(self.manifest(repo, []))
        missing_layer["layers"] = [{"mediaType": LAYER_TYPE, "digest": digest(b"never pushed"), "size": 12}]
        r = self.put_manifest(repo, "v1", json.dumps(missing_layer).encode())
        self.assertEqual((r.status, r.error_code()), (400, "MANIFEST_BLOB_UNKNOWN"))
        r = self.put_manifest(repo, "v1", b"{not json")
        self.assertEqual((r.status, r.error_code()), (400, "MANIFEST_INVALID"))
        r = self.put_manifest(repo, "v1", b" " * (4 * 1024 * 1024 + 1))
        self.assertEqual(r.status, 413)
        r = self.request("GET", "/v2/%s/manifests/latest" % self.unique("nosuch"))
        self.assertEqual((r.status, r.error_code()), (404, "NAME_UNKNOWN"))

    # --- content discovery ----------------------------------------------------------
    def test_tags_list_and_pagination(self):
        repo = self.repo()
        body = self.manifest(repo, [])
        for tag in ("c", "a", "b", "e", "d"):
            self.assertEqual(self.put_manifest(repo, tag, body).status, 201)
        r = self.request("GET", "/v2/%s/tags/list" % repo)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"name": repo, "tags": ["a", "b", "c", "d", "e"]})

        r = self.request("GET", "/v2/%s/tags/list?n=2" % repo)
        self.assertEqual(r.json()["tags"], ["a", "b"])
        link = r.header("Link")
        self.assertEqual(link, '</v2/%s/tags/list?n=2&last=b>; rel="next"' % repo)
        r = self.request("GET", link[1:link.index(">")])
        self.assertEqual(r.json()["tags"], ["c", "d"])
        r = self.request("GET", "/v2/%s/tags/list?n=2&last=d" % repo)
        self.assertEqual(r.json()["tags"], ["e"])
        self.assertIsNone(r.header("Link"))
        r = self.request("GET", "/v2/%s/tags/list?n=0" % repo)
        self.assertEqual(r.json()["tags"], [])

    def test_referrers(self):
        repo = self.repo()
        image = self.manifest(repo, [b"app layer"])
        self.assertEqual(self.put_manifest(repo, "v1", image).status, 201)
        subject = {"mediaType": OCI_MANIFEST, "digest": digest(image), "size": len(image)}
        r = self.request("GET", "/v2/%s/referrers/%s" % (repo, digest(image)))
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["manifests"], [])

        sbom = self.manifest(repo, [b"sbom"], subject=subject, artifact_type="application/vnd.example.sbom.v1",
                             annotations={"org.example.format": "spdx"})
        r = self.put_manifest(repo, digest(sbom), sbom)
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.header("OCI-Subject"), digest(image))
        sig = self.manifest(repo, [b"sig"], subject=subject, artifact_type="application/vnd.example.sig.v1")
        self.assertEqual(self.put_manifest(repo, digest(sig), sig).status, 201)

        r = self.request("GET", "/v2/%s/referrers/%s" % (repo, digest(image)))
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), OCI_INDEX)
        index = r.json()
        self.assertEqual(index["mediaType"], OCI_INDEX)
        self.assertEqual(sorted(m["digest"] for m in index["manifests"]), sorted([digest(sbom), digest(sig)]))

        r = self.request("GET", "/v2/%s/referrers/%s?artifactType=application%%2Fvnd.example.sbom.v1"
                         % (repo, digest(image)))
        self.assertEqual(r.header("OCI-Filters-Applied"), "artifactType")
        only = r.json()["manifests"]
        self.assertEqual(len(only), 1)
        self.assertEqual(only[0]["digest"], digest(sbom))
        self.assertEqual(only[0]["artifactType"], "application/vnd.example.sbom.v1")
        self.assertEqual(only[0]["annotations"], {"org.example.format": "spdx"})

        r = self.request("GET", "/v2/%s/referrers/sha256:123" % repo)
        self.assertEqual(r.status, 400)

    # --- content management ---------------------------------------------------------
    def test_delete_tag_manifest_and_blob(self):
        repo = self.repo()
        body = self.manifest(repo, [b"to be deleted"])
        d = digest(body)
        self.assertEqual(self.put_manifest(repo, "v1", body).status, 201)
        self.assertEqual(self.put_manifest(repo, "v2", body).status, 201)

        self.assertEqual(self.request("DELETE", "/v2/%s/manifests/v1" % repo).status, 202)
        self.assertEqual(self.request("GET", "/v2/%s/manifests/v1" % repo).status, 404)
        self.assertEqual(self.request("GET", "/v2/%s/manifests/v2" % repo).status, 200)

        self.assertEqual(self.request("DELETE", "/v2/%s/manifests/%s" % (repo, d)).status, 202)
        self.assertEqual(self.request("GET", "/v2/%s/manifests/%s" % (repo, d)).status, 404)
        self.assertEqual(self.request("GET", "/v2/%s/manifests/v2" % repo).status, 404)

        layer = digest(b"to be deleted")
        self.assertEqual(self.request("DELETE", "/v2/%s/blobs/%s" % (repo, layer)).status, 202)
        r = self.request("GET", "/v2/%s/blobs/%s" % (repo, layer))
        self.assertEqual((r.status, r.error_code()), (404, "BLOB_UNKNOWN"))

    def test_cancel_upload(self):
        repo = self.repo()
        location = self.request("POST", "/v2/%s/blobs/uploads/" % repo, body=b"").header("Location")
        self.assertEqual(self.request("DELETE", location).status, 204)
        r = self.request("GET", location)
        self.assertEqual((r.status, r.error_code()), (404, "BLOB_UPLOAD_UNKNOWN"))


if __name__ == "__main__":
    unittest.main()
