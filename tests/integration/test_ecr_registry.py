"""Berth's ECR-compatible registry driven by real clients: skopeo (push, pull,
login) over the OCI /v2/ endpoints and the AWS CLI's `aws ecr` over the ECR API,
both against one `berth server` port, plus a task that runs from an image
pushed to Berth and named by its repositoryUri (`berth up`, real runc).

The plain /v2/ workflows (chunked uploads, mounts, referrers, tag pagination)
are test_oci_conformance.py's; here each check goes through a client people use.

Every skopeo run gets a private HOME, XDG_RUNTIME_DIR and REGISTRY_AUTH_FILE in
a temp dir, so the user's registry logins are neither read nor written.

Run: cd tests/integration && BERTH_BIN=.../build/berth /usr/bin/python3 -W ignore::ResourceWarning \
         -m unittest -v test_ecr_registry
"""
import base64
import datetime
import gzip
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from berth_harness import ACCOUNT, BERTH_BIN, REGION, BerthServer
from agent_harness import (OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, TempRoot, build_busybox_layout,
                           cgroup_dirs_for_task, cleanup_agent_dir, cleanup_agent_network, agent_network_args, mounts_under, skip_unless_real_runtime, tar_file,
                           tar_gz, wait_for)

SKOPEO = "/usr/bin/skopeo"
ECR_HOST = "%s.dkr.ecr.%s.amazonaws.com" % (ACCOUNT, REGION)
REPOSITORY_FIELDS = {"repositoryArn", "registryId", "repositoryName", "repositoryUri", "createdAt",
                     "imageTagMutability", "imageScanningConfiguration", "encryptionConfiguration"}


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def parse_time(value):
    """The AWS CLI prints timestamps as ISO 8601 strings; boto3 as datetimes."""
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    return datetime.datetime.fromisoformat(value)


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def aws_error_code(proc):
    """'RepositoryNotFoundException' from the CLI's 'An error occurred (X) when calling ...'."""
    m = re.search(r"An error occurred \(([A-Za-z]+)\)", proc.stderr)
    return m.group(1) if m else None


# --- OCI images built in Python (distinct content, no tools needed) ------------
class ImageParts:
    """A one-layer linux/amd64 OCI image: its blobs and manifest bytes."""

    def __init__(self, marker, cmd=("sh",)):
        self.layer = tar_gz([tar_file("etc/berth-image-id", ("%s\n" % marker).encode())])
        config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": list(cmd), "Env": ["PATH=/bin"]},
                  "rootfs": {"type": "layers", "diff_ids": [sha256(gzip.decompress(self.layer))]}}
        self.config = json.dumps(config, sort_keys=True).encode()
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": OCI_CONFIG, "digest": sha256(self.config), "size": len(self.config)},
                    "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": sha256(self.layer), "size": len(self.layer)}]}
        self.manifest = json.dumps(manifest, indent=2).encode()

    @property
    def digest(self):
        return sha256(self.manifest)

    @property
    def layer_digest(self):
        return sha256(self.layer)

    def write_layout(self, path, tag):
        """An OCI image layout (image-layout spec) holding this image under `tag`."""
        blobs = os.path.join(path, "blobs", "sha256")
        os.makedirs(blobs, exist_ok=True)
        for data in (self.layer, self.config, self.manifest):
            with open(os.path.join(blobs, sha256(data).split(":")[1]), "wb") as f:
                f.write(data)
        with open(os.path.join(path, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        with open(os.path.join(path, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": self.digest, "size": len(self.manifest),
                 "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)
        return path


def layout_manifest_digest(layout, tag):
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    for m in index["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return m["digest"]
    raise AssertionError("no tag %s in %s/index.json: %r" % (tag, layout, index))


def layout_blob(layout, digest):
    with open(os.path.join(layout, "blobs", *digest.split(":")), "rb") as f:
        return f.read()


def layout_blob_digests(layout):
    """Every blob of a layout, each verified against its file name."""
    out = set()
    root = os.path.join(layout, "blobs", "sha256")
    for name in os.listdir(root):
        with open(os.path.join(root, name), "rb") as f:
            if hashlib.sha256(f.read()).hexdigest() != name:
                raise AssertionError("blob %s in %s does not match its digest" % (name, layout))
        out.add("sha256:" + name)
    return out


# --- clients ---------------------------------------------------------------------
class Skopeo:
    """skopeo with a private home: no user login is read, none is written."""

    def __init__(self, home):
        self.home = home
        self.runtime_dir = os.path.join(home, "run")
        os.makedirs(self.runtime_dir, exist_ok=True)
        # The default auth file when a command names none; the tests never log in to it.
        self.default_authfile = os.path.join(home, "default-auth.json")

    def run(self, *args, stdin=None, binary=False, timeout=120):
        env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": self.home, "XDG_RUNTIME_DIR": self.runtime_dir,
               "XDG_CONFIG_HOME": os.path.join(self.home, ".config"), "REGISTRY_AUTH_FILE": self.default_authfile}
        if binary and isinstance(stdin, str):
            stdin = stdin.encode()
        proc = subprocess.run([SKOPEO] + list(args), input=stdin, capture_output=True, text=not binary, env=env,
                              timeout=timeout)
        if binary:
            proc.stderr = proc.stderr.decode(errors="replace")
        return proc

    def ok(self, *args, **kw):
        proc = self.run(*args, **kw)
        if proc.returncode != 0:
            raise AssertionError("skopeo %s failed (%d): %s" % (" ".join(args), proc.returncode, proc.stderr))
        return proc.stdout


class RegistryHttp:
    """Plain HTTP to the /v2/ endpoints with an ECR login (Basic AWS:<password>)."""

    def __init__(self, port, password):
        self.port = port
        self.auth = "Basic " + base64.b64encode(("AWS:" + password).encode()).decode()

    def request(self, method, path, body=None, headers=None, auth=True):
        hdrs = dict(headers or {})
        if auth:
            hdrs["Authorization"] = self.auth
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read()
        finally:
            conn.close()

    def push_blob(self, repo, data):
        status, _, body = self.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, sha256(data)), body=data,
                                       headers={"Content-Type": "application/octet-stream"})
        if status != 201:
            raise AssertionError("blob push to %s: %d %r" % (repo, status, body[:300]))

    def put_manifest(self, repo, ref, manifest, media_type=OCI_MANIFEST):
        return self.request("PUT", "/v2/%s/manifests/%s" % (repo, ref), body=manifest,
                            headers={"Content-Type": media_type})

    def push_image(self, repo, tag, parts):
        self.push_blob(repo, parts.layer)
        self.push_blob(repo, parts.config)
        status, _, body = self.put_manifest(repo, tag, parts.manifest)
        if status != 201:
            raise AssertionError("manifest push %s:%s: %d %r" % (repo, tag, status, body[:300]))
        return parts.digest


# --- shared fixture ----------------------------------------------------------------
class RegistryTestBase(unittest.TestCase):
    """One server, one busybox layout and one skopeo home per class."""

    server_args = ()

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(SKOPEO):
            raise unittest.SkipTest("needs skopeo at " + SKOPEO)
        if not os.path.exists(BERTH_BIN):
            raise unittest.SkipTest("no berth binary at %s (set BERTH_BIN)" % BERTH_BIN)
        cls.tmp = tempfile.mkdtemp(prefix="berth-ecr-it-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.skopeo = Skopeo(os.path.join(cls.tmp, "skopeo-home"))
        cls.busybox = build_busybox_layout(os.path.join(cls.tmp, "busybox-layout"), "busybox")
        cls.server = BerthServer(data_dir=os.path.join(cls.tmp, "server"), extra_args=cls.server_args)
        os.makedirs(cls.server.data_dir)
        cls.addClassCleanup(cls._stop_server)
        cls.server.start()
        cls.host = "127.0.0.1:%d" % cls.server.port
        cls.password = cls.server.aws("ecr", "get-login-password", check=False).stdout.strip()
        if not cls.password:
            raise AssertionError("aws ecr get-login-password printed nothing")
        cls.http = RegistryHttp(cls.server.port, cls.password)

    @classmethod
    def _stop_server(cls):
        rc = cls.server.stop()
        if rc != 0:
            raise AssertionError("server exited with %s; log:\n%s" % (rc, cls.server.log()[-4000:]))

    # --- helpers ---------------------------------------------------------------
    def unique(self, prefix):
        return "%s-%s-%d" % (prefix, self._testMethodName.replace("_", "-")[5:35].strip("-"),
                             int(time.time() * 1000) % 100000000)

    def aws(self, *args):
        return self.server.aws(*args)

    def aws_fails(self, expected_code, *args):
        proc = self.server.aws(*args, check=False)
        self.assertNotEqual(proc.returncode, 0, "aws %s should fail; printed %s" % (" ".join(args), proc.stdout))
        self.assertEqual(aws_error_code(proc), expected_code, proc.stderr)
        return proc.stderr

    def create_repo(self, prefix, *extra):
        name = self.unique(prefix)
        self.aws("ecr", "create-repository", "--repository-name", name, *extra)
        return name

    def creds(self):
        return "AWS:" + self.password

    def ref(self, repo, tag):
        return "docker://%s/%s:%s" % (self.host, repo, tag)

    def push_layout(self, layout, layout_tag, repo, tag):
        self.skopeo.ok("copy", "-q", "--dest-tls-verify=false", "--dest-creds", self.creds(),
                       "oci:%s:%s" % (layout, layout_tag), self.ref(repo, tag))

    def push_busybox(self, repo, tag):
        self.push_layout(self.busybox, "busybox", repo, tag)
        return layout_manifest_digest(self.busybox, "busybox")

    def push_parts(self, parts, repo, tag):
        """skopeo push of a Python-built image (through a temp OCI layout)."""
        layout = parts.write_layout(tempfile.mkdtemp(prefix="layout-", dir=self.tmp), "img")
        try:
            self.push_layout(layout, "img", repo, tag)
        finally:
            shutil.rmtree(layout, ignore_errors=True)
        return parts.digest

    def raw_manifest(self, repo, reference):
        sep = "@" if reference.startswith("sha256:") else ":"
        return self.skopeo.ok("inspect", "--raw", "--tls-verify=false", "--creds", self.creds(),
                              "docker://%s/%s%s%s" % (self.host, repo, sep, reference), binary=True)

    def image_ids(self, repo, tag_status=None):
        args = ["ecr", "list-images", "--repository-name", repo]
        if tag_status:
            args += ["--filter", "tagStatus=" + tag_status]
        ids = self.aws(*args)["imageIds"]
        return sorted(ids, key=lambda i: (i.get("imageTag", ""), i["imageDigest"]))


# 1 ------------------------------------------------------------------------------------
class SkopeoTest(RegistryTestBase):

    def test_copy_in_and_out_keeps_manifest_and_blob_digests(self):
        repo = self.create_repo("copy")
        source_digest = layout_manifest_digest(self.busybox, "busybox")
        self.push_busybox(repo, "v1")

        raw = self.raw_manifest(repo, "v1")
        self.assertEqual(raw, layout_blob(self.busybox, source_digest), "the manifest is stored byte-exact")
        self.assertEqual(self.raw_manifest(repo, source_digest), raw)
        info = json.loads(self.skopeo.ok("inspect", "--tls-verify=false", "--creds", self.creds(),
                                         self.ref(repo, "v1")))
        self.assertEqual(info["Digest"], source_digest)
        self.assertEqual(info["Layers"], [l["digest"] for l in json.loads(raw)["layers"]])

        pulled = os.path.join(self.tmp, "pulled-" + repo)
        self.skopeo.ok("copy", "-q", "--src-tls-verify=false", "--src-creds", self.creds(), self.ref(repo, "v1"),
                       "oci:%s:v1" % pulled)
        self.assertEqual(layout_manifest_digest(pulled, "v1"), source_digest)
        self.assertEqual(layout_blob_digests(pulled), layout_blob_digests(self.busybox))

        # The ECR API sees the image skopeo pushed, and that it was pulled.
        self.assertEqual(self.image_ids(repo), [{"imageDigest": source_digest, "imageTag": "v1"}])
        detail = self.aws("ecr", "describe-images", "--repository-name", repo)["imageDetails"][0]
        self.assertIn("lastRecordedPullTime", detail)
        self.assertGreaterEqual(parse_time(detail["lastRecordedPullTime"]), parse_time(detail["imagePushedAt"]))

    def test_login_with_a_private_authfile_then_copy_without_creds(self):
        repo = self.create_repo("login")
        authfile = os.path.join(self.tmp, "login-auth", "auth.json")
        out = self.skopeo.ok("login", "--authfile", authfile, "--tls-verify=false", "-u", "AWS", "--password-stdin",
                             self.host, stdin=self.password + "\n")
        self.assertIn("Login Succeeded", out)
        with open(authfile) as f:
            saved = json.load(f)["auths"][self.host]["auth"]
        self.assertEqual(base64.b64decode(saved).decode(), "AWS:" + self.password)
        self.assertFalse(os.path.exists(self.skopeo.default_authfile), "only the named authfile is written")

        self.skopeo.ok("copy", "-q", "--authfile", authfile, "--dest-tls-verify=false",
                       "oci:%s:busybox" % self.busybox, self.ref(repo, "v1"))
        raw = self.skopeo.ok("inspect", "--raw", "--authfile", authfile, "--tls-verify=false", self.ref(repo, "v1"),
                             binary=True)
        self.assertEqual(sha256(raw), layout_manifest_digest(self.busybox, "busybox"))

        self.skopeo.ok("logout", "--authfile", authfile, self.host)
        proc = self.skopeo.run("inspect", "--raw", "--authfile", authfile, "--tls-verify=false", self.ref(repo, "v1"))
        self.assertNotEqual(proc.returncode, 0, "after logout the registry refuses the pull")
        self.assertRegex(proc.stderr.lower(), "unauthorized|authentication required")

    def test_wrong_password_is_an_auth_error_and_pushes_nothing(self):
        repo = self.create_repo("wrongpw")
        tampered = self.password[:-3] + ("AAA" if not self.password.endswith("AAA") else "BBB")
        for creds in ("AWS:wrong", "AWS:" + tampered, None):
            args = ["copy", "-q", "--dest-tls-verify=false"]
            if creds:
                args += ["--dest-creds", creds]
            proc = self.skopeo.run(*args, "oci:%s:busybox" % self.busybox, self.ref(repo, "v1"))
            self.assertNotEqual(proc.returncode, 0, "push with %s must fail" % (creds or "no creds"))
            self.assertRegex(proc.stderr.lower(), "unauthorized|authentication required", proc.stderr)

        authfile = os.path.join(self.tmp, "wrong-auth.json")
        proc = self.skopeo.run("login", "--authfile", authfile, "--tls-verify=false", "-u", "AWS", "--password-stdin",
                               self.host, stdin="wrong\n")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("invalid username/password", proc.stderr)
        if os.path.exists(authfile):
            with open(authfile) as f:
                self.assertNotIn(self.host, f.read(), "a failed login saves nothing")
        self.assertEqual(self.image_ids(repo), [])


# 2 ------------------------------------------------------------------------------------
class EcrApiTest(RegistryTestBase):

    def test_create_describe_tag_and_delete_repository_fields(self):
        name = "team-a/" + self.unique("svc")
        before = now_utc()
        repo = self.aws("ecr", "create-repository", "--repository-name", name,
                        "--tags", "Key=team,Value=berth")["repository"]
        after = now_utc()
        self.assertEqual(set(repo), REPOSITORY_FIELDS)
        arn = "arn:aws:ecr:%s:%s:repository/%s" % (REGION, ACCOUNT, name)
        self.assertEqual(repo["repositoryArn"], arn)
        self.assertEqual(repo["registryId"], ACCOUNT)
        self.assertEqual(repo["repositoryName"], name)
        self.assertEqual(repo["repositoryUri"], "%s/%s" % (ECR_HOST, name))
        self.assertEqual(repo["imageTagMutability"], "MUTABLE")
        self.assertEqual(repo["imageScanningConfiguration"], {"scanOnPush": False})
        self.assertEqual(repo["encryptionConfiguration"], {"encryptionType": "AES256"})
        created = parse_time(repo["createdAt"])
        self.assertLessEqual(before - datetime.timedelta(seconds=1), created)
        self.assertLessEqual(created, after + datetime.timedelta(seconds=1))

        self.aws_fails("RepositoryAlreadyExistsException", "ecr", "create-repository", "--repository-name", name)
        described = self.aws("ecr", "describe-repositories", "--repository-names", name)["repositories"]
        self.assertEqual(described, [repo])
        everything = self.aws("ecr", "describe-repositories")["repositories"]
        self.assertIn(repo, everything)
        self.aws_fails("RepositoryNotFoundException", "ecr", "describe-repositories", "--repository-names",
                       self.unique("missing"))

        other = self.aws("ecr", "create-repository", "--repository-name", self.unique("immut"),
                         "--image-tag-mutability", "IMMUTABLE",
                         "--image-scanning-configuration", "scanOnPush=true")["repository"]
        self.assertEqual(other["imageTagMutability"], "IMMUTABLE")
        self.assertEqual(other["imageScanningConfiguration"], {"scanOnPush": True})
        self.assertEqual(other["encryptionConfiguration"], {"encryptionType": "AES256"})

        self.assertEqual(self.aws("ecr", "list-tags-for-resource", "--resource-arn", arn),
                         {"tags": [{"Key": "team", "Value": "berth"}]})
        self.assertIsNone(self.aws("ecr", "tag-resource", "--resource-arn", arn, "--tags", "Key=env,Value=test"))
        tags = self.aws("ecr", "list-tags-for-resource", "--resource-arn", arn)["tags"]
        self.assertEqual(sorted(tags, key=lambda t: t["Key"]),
                         [{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "berth"}])
        self.aws("ecr", "untag-resource", "--resource-arn", arn, "--tag-keys", "team")
        self.assertEqual(self.aws("ecr", "list-tags-for-resource", "--resource-arn", arn),
                         {"tags": [{"Key": "env", "Value": "test"}]})

        # Empty: deleted without --force.
        deleted = self.aws("ecr", "delete-repository", "--repository-name", other["repositoryName"])["repository"]
        self.assertEqual(deleted["repositoryArn"], other["repositoryArn"])
        self.assertEqual(deleted["repositoryName"], other["repositoryName"])
        self.assertEqual(deleted["registryId"], ACCOUNT)
        self.aws_fails("RepositoryNotFoundException", "ecr", "describe-repositories", "--repository-names",
                       other["repositoryName"])

    def test_delete_repository_with_images_needs_force(self):
        repo = self.create_repo("delforce")
        digest = self.push_busybox(repo, "v1")
        self.aws_fails("RepositoryNotEmptyException", "ecr", "delete-repository", "--repository-name", repo)
        self.assertEqual(self.image_ids(repo), [{"imageDigest": digest, "imageTag": "v1"}], "nothing was deleted")

        deleted = self.aws("ecr", "delete-repository", "--repository-name", repo, "--force")["repository"]
        self.assertEqual(deleted["repositoryName"], repo)
        self.assertEqual(deleted["repositoryUri"], "%s/%s" % (ECR_HOST, repo))
        self.aws_fails("RepositoryNotFoundException", "ecr", "list-images", "--repository-name", repo)
        proc = self.skopeo.run("inspect", "--raw", "--tls-verify=false", "--creds", self.creds(), self.ref(repo, "v1"))
        self.assertNotEqual(proc.returncode, 0, "the image went with the repository")
        status, _, body = self.http.request("GET", "/v2/%s/manifests/v1" % repo)
        self.assertEqual((status, json.loads(body)["errors"][0]["code"]), (404, "NAME_UNKNOWN"))

    def test_list_and_describe_images_of_a_skopeo_push(self):
        repo = self.create_repo("describe")
        before = now_utc()
        digest = self.push_busybox(repo, "v1")
        after = now_utc()
        manifest = json.loads(layout_blob(self.busybox, digest))
        layer_bytes = sum(l["size"] for l in manifest["layers"])

        self.assertEqual(self.image_ids(repo), [{"imageDigest": digest, "imageTag": "v1"}])
        self.assertEqual(self.image_ids(repo, "TAGGED"), [{"imageDigest": digest, "imageTag": "v1"}])
        self.assertEqual(self.image_ids(repo, "UNTAGGED"), [])

        details = self.aws("ecr", "describe-images", "--repository-name", repo)["imageDetails"]
        self.assertEqual(len(details), 1, details)
        d = details[0]
        self.assertEqual(d["registryId"], ACCOUNT)
        self.assertEqual(d["repositoryName"], repo)
        self.assertEqual(d["imageDigest"], digest)
        self.assertEqual(d["imageTags"], ["v1"])
        self.assertEqual(d["imageManifestMediaType"], OCI_MANIFEST)
        self.assertEqual(d["artifactMediaType"], OCI_CONFIG)
        # ECR reports the compressed size of the image's blobs.
        self.assertGreaterEqual(d["imageSizeInBytes"], layer_bytes)
        self.assertLessEqual(d["imageSizeInBytes"],
                             layer_bytes + manifest["config"]["size"] + len(layout_blob(self.busybox, digest)))
        pushed = parse_time(d["imagePushedAt"])
        self.assertLessEqual(before - datetime.timedelta(seconds=1), pushed)
        self.assertLessEqual(pushed, after + datetime.timedelta(seconds=1))

        by_tag = self.aws("ecr", "describe-images", "--repository-name", repo, "--image-ids", "imageTag=v1")
        self.assertEqual(by_tag["imageDetails"], details)
        by_digest = self.aws("ecr", "describe-images", "--repository-name", repo,
                             "--image-ids", "imageDigest=" + digest)
        self.assertEqual(by_digest["imageDetails"], details)
        self.aws_fails("ImageNotFoundException", "ecr", "describe-images", "--repository-name", repo,
                       "--image-ids", "imageTag=nope")

    def test_batch_get_image_and_put_image_retag(self):
        repo = self.create_repo("retag")
        digest = self.push_busybox(repo, "v1")
        raw = self.raw_manifest(repo, "v1")

        out = self.aws("ecr", "batch-get-image", "--repository-name", repo,
                       "--image-ids", "imageTag=v1", "imageTag=nope", "imageDigest=" + "sha256:" + "0" * 64)
        self.assertEqual(len(out["images"]), 1, out)
        image = out["images"][0]
        self.assertEqual(image["registryId"], ACCOUNT)
        self.assertEqual(image["repositoryName"], repo)
        self.assertEqual(image["imageId"], {"imageDigest": digest, "imageTag": "v1"})
        self.assertEqual(image["imageManifest"].encode(), raw, "byte-equal to what skopeo pushed")
        self.assertEqual(image["imageManifestMediaType"], OCI_MANIFEST)
        failures = sorted(out["failures"], key=lambda f: json.dumps(f["imageId"], sort_keys=True))
        self.assertEqual(failures, [
            {"imageId": {"imageDigest": "sha256:" + "0" * 64}, "failureCode": "ImageNotFound",
             "failureReason": "Requested image not found"},
            {"imageId": {"imageTag": "nope"}, "failureCode": "ImageNotFound",
             "failureReason": "Requested image not found"}])

        put = self.aws("ecr", "put-image", "--repository-name", repo, "--image-tag", "v2",
                       "--image-manifest", raw.decode(), "--image-manifest-media-type", OCI_MANIFEST)["image"]
        self.assertEqual(put["registryId"], ACCOUNT)
        self.assertEqual(put["repositoryName"], repo)
        self.assertEqual(put["imageId"], {"imageDigest": digest, "imageTag": "v2"})
        self.assertEqual(put["imageManifest"].encode(), raw)
        self.assertEqual(put["imageManifestMediaType"], OCI_MANIFEST)
        self.aws_fails("ImageAlreadyExistsException", "ecr", "put-image", "--repository-name", repo,
                       "--image-tag", "v2", "--image-manifest", raw.decode(),
                       "--image-manifest-media-type", OCI_MANIFEST)
        self.aws_fails("ImageDigestDoesNotMatchException", "ecr", "put-image", "--repository-name", repo,
                       "--image-tag", "v3", "--image-manifest", raw.decode(),
                       "--image-manifest-media-type", OCI_MANIFEST, "--image-digest", "sha256:" + "1" * 64)

        self.assertEqual(self.image_ids(repo), [{"imageDigest": digest, "imageTag": "v1"},
                                                {"imageDigest": digest, "imageTag": "v2"}])
        self.assertEqual(self.raw_manifest(repo, "v2"), raw, "the new tag is served on /v2/")
        detail = self.aws("ecr", "describe-images", "--repository-name", repo)["imageDetails"]
        self.assertEqual(len(detail), 1, "one image, two tags")
        self.assertEqual(sorted(detail[0]["imageTags"]), ["v1", "v2"])

    def test_batch_delete_image_by_tag_by_digest_and_failures(self):
        repo = self.create_repo("delete")
        digest = self.push_busybox(repo, "v1")
        raw = self.raw_manifest(repo, "v1").decode()
        self.aws("ecr", "put-image", "--repository-name", repo, "--image-tag", "v2", "--image-manifest", raw,
                 "--image-manifest-media-type", OCI_MANIFEST)
        solo = self.push_parts(ImageParts("solo"), repo, "solo")
        # Moving tag "u" away leaves its first image untagged (a mutable repository).
        orphan = self.push_parts(ImageParts("orphan"), repo, "u")
        self.aws("ecr", "put-image", "--repository-name", repo, "--image-tag", "u", "--image-manifest", raw,
                 "--image-manifest-media-type", OCI_MANIFEST)
        self.assertEqual(self.image_ids(repo, "UNTAGGED"), [{"imageDigest": orphan}])
        self.assertEqual(self.image_ids(repo, "TAGGED"), [
            {"imageDigest": solo, "imageTag": "solo"}, {"imageDigest": digest, "imageTag": "u"},
            {"imageDigest": digest, "imageTag": "v1"}, {"imageDigest": digest, "imageTag": "v2"}])

        # By tag: the tag goes; the image stays while another tag names it.
        out = self.aws("ecr", "batch-delete-image", "--repository-name", repo, "--image-ids", "imageTag=v1")
        self.assertEqual(out, {"imageIds": [{"imageDigest": digest, "imageTag": "v1"}], "failures": []})
        self.assertEqual(self.raw_manifest(repo, digest).decode(), raw)
        # The last tag of an image: the image goes with it.
        out = self.aws("ecr", "batch-delete-image", "--repository-name", repo, "--image-ids", "imageTag=solo")
        self.assertEqual(out, {"imageIds": [{"imageDigest": solo, "imageTag": "solo"}], "failures": []})
        self.assertNotIn(solo, [i["imageDigest"] for i in self.image_ids(repo)])

        bad = "sha256:123"
        unknown = "sha256:" + "0" * 64
        out = self.aws("ecr", "batch-delete-image", "--repository-name", repo, "--image-ids",
                       "imageDigest=" + orphan, "imageDigest=" + digest, "imageTag=nope",
                       "imageDigest=" + unknown, "imageDigest=" + bad)
        # By digest: the image and every tag on it.
        self.assertEqual({i["imageDigest"] for i in out["imageIds"]}, {orphan, digest})
        self.assertEqual(sorted(i.get("imageTag", "") for i in out["imageIds"] if i["imageDigest"] == digest),
                         ["u", "v2"])
        failures = {json.dumps(f["imageId"], sort_keys=True): (f["failureCode"], f["failureReason"])
                    for f in out["failures"]}
        self.assertEqual(set(failures), {json.dumps({"imageTag": "nope"}), json.dumps({"imageDigest": unknown}),
                                         json.dumps({"imageDigest": bad})})
        self.assertEqual(failures[json.dumps({"imageTag": "nope"})], ("ImageNotFound", "Requested image not found"))
        self.assertEqual(failures[json.dumps({"imageDigest": unknown})],
                         ("ImageNotFound", "Requested image not found"))
        self.assertEqual(failures[json.dumps({"imageDigest": bad})][0], "InvalidImageDigest")
        self.assertEqual(self.image_ids(repo), [])
        status, _, _ = self.http.request("GET", "/v2/%s/manifests/%s" % (repo, digest))
        self.assertEqual(status, 404)

    def test_layer_availability_and_download_url(self):
        repo = self.create_repo("layers")
        digest = self.push_busybox(repo, "v1")
        manifest = json.loads(layout_blob(self.busybox, digest))
        layer = manifest["layers"][0]
        config = manifest["config"]
        unknown = "sha256:" + "0" * 64

        out = self.aws("ecr", "batch-check-layer-availability", "--repository-name", repo,
                       "--layer-digests", layer["digest"], config["digest"], unknown, "sha256:xyz")
        layers = {l["layerDigest"]: l for l in out["layers"]}
        self.assertEqual(layers[layer["digest"]], {"layerDigest": layer["digest"], "layerAvailability": "AVAILABLE",
                                                   "layerSize": layer["size"], "mediaType": OCI_LAYER_GZIP})
        self.assertEqual(layers[config["digest"]]["layerAvailability"], "AVAILABLE")
        self.assertEqual(layers[config["digest"]]["layerSize"], config["size"])
        failures = {f["layerDigest"]: f for f in out["failures"]}
        # A layer the repository lacks is never AVAILABLE (reported UNAVAILABLE or as MissingLayerDigest).
        if unknown in layers:
            self.assertEqual(layers[unknown]["layerAvailability"], "UNAVAILABLE")
        else:
            self.assertEqual(failures[unknown]["failureCode"], "MissingLayerDigest")
        self.assertEqual(failures["sha256:xyz"]["failureCode"], "InvalidLayerDigest")

        self.aws_fails("LayersNotFoundException", "ecr", "get-download-url-for-layer", "--repository-name", repo,
                       "--layer-digest", unknown)
        self.aws_fails("RepositoryNotFoundException", "ecr", "get-download-url-for-layer", "--repository-name",
                       self.unique("missing"), "--layer-digest", layer["digest"])

        url = self.aws("ecr", "get-download-url-for-layer", "--repository-name", repo,
                       "--layer-digest", layer["digest"])
        self.assertEqual(set(url), {"downloadUrl", "layerDigest"})
        self.assertEqual(url["layerDigest"], layer["digest"])
        parsed = urllib.parse.urlsplit(url["downloadUrl"])
        self.assertEqual((parsed.hostname, parsed.port), ("127.0.0.1", self.server.port), url["downloadUrl"])
        path = parsed.path + ("?" + parsed.query if parsed.query else "")
        status, _, body = self.http.request("GET", path)
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(sha256(body), layer["digest"])
        # ECR hands out a pre-signed URL: a plain GET fetches it, with no registry login.
        status, _, body = self.http.request("GET", path, auth=False)
        self.assertEqual(status, 200, "GET %s without credentials: %d %r" % (url["downloadUrl"], status, body[:300]))
        self.assertEqual(sha256(body), layer["digest"])
        self.assertEqual(len(body), layer["size"])


# 3 ------------------------------------------------------------------------------------
class ImmutableTagsTest(RegistryTestBase):

    def test_immutable_repository_refuses_moving_a_tag_on_both_apis(self):
        repo = self.create_repo("immutable")
        original = self.push_busybox(repo, "v1")
        out = self.aws("ecr", "put-image-tag-mutability", "--repository-name", repo,
                       "--image-tag-mutability", "IMMUTABLE")
        self.assertEqual(out, {"registryId": ACCOUNT, "repositoryName": repo, "imageTagMutability": "IMMUTABLE"})
        described = self.aws("ecr", "describe-repositories", "--repository-names", repo)["repositories"][0]
        self.assertEqual(described["imageTagMutability"], "IMMUTABLE")

        other = ImageParts("immutable-other")
        # skopeo: the blobs go up, the manifest PUT is refused.
        layout = other.write_layout(os.path.join(self.tmp, "other-layout"), "img")
        proc = self.skopeo.run("copy", "-q", "--dest-tls-verify=false", "--dest-creds", self.creds(),
                               "oci:%s:img" % layout, self.ref(repo, "v1"))
        self.assertNotEqual(proc.returncode, 0, "pushing another image to an existing immutable tag must fail")
        self.assertIn("tag invalid", proc.stderr.lower(), proc.stderr)
        self.assertIn("already exists", proc.stderr, proc.stderr)

        # One raw request for the exact OCI error code.
        self.http.push_blob(repo, other.layer)
        self.http.push_blob(repo, other.config)
        status, _, body = self.http.put_manifest(repo, "v1", other.manifest)
        self.assertEqual(status, 400, body)
        error = json.loads(body)["errors"][0]
        self.assertEqual(error["code"], "TAG_INVALID")
        self.assertIn("v1", error["message"])

        stderr = self.aws_fails("ImageTagAlreadyExistsException", "ecr", "put-image", "--repository-name", repo,
                                "--image-tag", "v1", "--image-manifest", other.manifest.decode(),
                                "--image-manifest-media-type", OCI_MANIFEST)
        self.assertIn("v1", stderr)

        # The tag still names the first image, on both APIs.
        self.assertEqual(sha256(self.raw_manifest(repo, "v1")), original)
        got = self.aws("ecr", "batch-get-image", "--repository-name", repo, "--image-ids", "imageTag=v1")
        self.assertEqual(got["images"][0]["imageId"], {"imageDigest": original, "imageTag": "v1"})
        self.assertEqual(self.image_ids(repo, "TAGGED"), [{"imageDigest": original, "imageTag": "v1"}])

        # New tags are still fine, and MUTABLE lets the tag move again.
        self.push_layout(layout, "img", repo, "v2")
        self.assertEqual(sha256(self.raw_manifest(repo, "v2")), other.digest)
        self.aws("ecr", "put-image-tag-mutability", "--repository-name", repo, "--image-tag-mutability", "MUTABLE")
        put = self.aws("ecr", "put-image", "--repository-name", repo, "--image-tag", "v1",
                       "--image-manifest", other.manifest.decode(), "--image-manifest-media-type", OCI_MANIFEST)
        self.assertEqual(put["image"]["imageId"], {"imageDigest": other.digest, "imageTag": "v1"})
        self.assertEqual(sha256(self.raw_manifest(repo, "v1")), other.digest)


# 4 ------------------------------------------------------------------------------------
class LifecyclePolicyTest(unittest.TestCase):
    """Preview first (maintenance far off), then a restart with maintenance every
    second: the run must expire exactly what the preview listed."""

    POLICY = {"rules": [{"rulePriority": 1, "description": "keep the newest 3 t* images",
                         "selection": {"tagStatus": "tagged", "tagPrefixList": ["t"],
                                       "countType": "imageCountMoreThan", "countNumber": 3},
                         "action": {"type": "expire"}}]}

    def setUp(self):
        if not os.path.exists(BERTH_BIN):
            self.skipTest("no berth binary at %s (set BERTH_BIN)" % BERTH_BIN)
        self.tmp = tempfile.mkdtemp(prefix="berth-ecr-lifecycle-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.data_dir = os.path.join(self.tmp, "server")
        os.makedirs(self.data_dir)
        self.server = None

    def start_server(self, *args):
        self.server = BerthServer(data_dir=self.data_dir, extra_args=args)
        self.addCleanup(self.server.stop)
        self.server.start()
        password = self.server.aws("ecr", "get-login-password", check=False).stdout.strip()
        self.http = RegistryHttp(self.server.port, password)

    def stop_server(self):
        self.assertEqual(self.server.stop(), 0, self.server.log()[-3000:])

    def tags(self, repo):
        ids = self.server.aws("ecr", "list-images", "--repository-name", repo, "--filter", "tagStatus=TAGGED")
        return {i["imageTag"]: i["imageDigest"] for i in ids["imageIds"]}

    def test_preview_lists_the_two_oldest_and_the_run_expires_exactly_those(self):
        self.start_server()  # default maintenance interval: nothing runs during this phase
        repo = "lifecycle/app-%d" % (int(time.time() * 1000) % 100000000)
        self.server.aws("ecr", "create-repository", "--repository-name", repo)
        pushed = {}
        # Oldest of all, but outside the rule's prefix: it must survive.
        pushed["release-1"] = self.http.push_image(repo, "release-1", ImageParts("release-1"))
        for n in range(1, 6):
            # Whole seconds apart, so push order is unambiguous at any timestamp precision.
            time.sleep(1.05)
            pushed["t%d" % n] = self.http.push_image(repo, "t%d" % n, ImageParts("image-t%d" % n))
        self.assertEqual(len(set(pushed.values())), 6, "six distinct images")
        self.assertEqual(self.tags(repo), pushed)

        text = json.dumps(self.POLICY)
        out = self.server.aws("ecr", "put-lifecycle-policy", "--repository-name", repo, "--lifecycle-policy-text", text)
        self.assertEqual(out["registryId"], ACCOUNT)
        self.assertEqual(out["repositoryName"], repo)
        self.assertEqual(json.loads(out["lifecyclePolicyText"]), self.POLICY)

        started = self.server.aws("ecr", "start-lifecycle-policy-preview", "--repository-name", repo)
        self.assertEqual(started["registryId"], ACCOUNT)
        self.assertEqual(started["repositoryName"], repo)
        self.assertEqual(json.loads(started["lifecyclePolicyText"]), self.POLICY)
        self.assertEqual(started["status"], "IN_PROGRESS")
        preview = wait_for(lambda: self.server.aws("ecr", "get-lifecycle-policy-preview", "--repository-name", repo),
                           lambda p: p["status"] != "IN_PROGRESS", 30, interval=0.5, what="the preview to finish")
        self.assertEqual(preview["status"], "COMPLETE")
        self.assertEqual(json.loads(preview["lifecyclePolicyText"]), self.POLICY)
        results = sorted(preview["previewResults"], key=lambda r: parse_time(r["imagePushedAt"]))
        self.assertEqual([(r["imageDigest"], r["imageTags"]) for r in results],
                         [(pushed["t1"], ["t1"]), (pushed["t2"], ["t2"])])
        for r in results:
            self.assertEqual(r["action"], {"type": "EXPIRE"})
            self.assertEqual(r["appliedRulePriority"], 1)
        self.assertEqual(preview["summary"], {"expiringImageTotalCount": 2})
        self.assertEqual(self.tags(repo), pushed, "a preview expires nothing")

        self.stop_server()
        restarted = now_utc()
        # --registry-gc-grace 0: the expired images' blobs may go at once too.
        self.start_server("--registry-maintenance-interval", "1", "--registry-gc-grace", "0")
        survivors = {t: d for t, d in pushed.items() if t not in ("t1", "t2")}
        # Stops early if a survivor goes; partial progress keeps waiting.
        wait_for(lambda: self.tags(repo), lambda t: t == survivors or not set(survivors) <= set(t), 30,
                 interval=0.25, what="the lifecycle policy to expire t1 and t2")
        tags = self.tags(repo)
        self.assertEqual(tags, survivors)
        self.assertEqual(set(pushed.values()) - set(tags.values()), {r["imageDigest"] for r in results},
                         "the run expired exactly what the preview listed")
        time.sleep(2.5)  # two more runs: nothing else expires
        self.assertEqual(self.tags(repo), survivors)
        details = self.server.aws("ecr", "describe-images", "--repository-name", repo)["imageDetails"]
        self.assertEqual({d["imageDigest"] for d in details}, set(survivors.values()))

        policy = self.server.aws("ecr", "get-lifecycle-policy", "--repository-name", repo)
        self.assertEqual(json.loads(policy["lifecyclePolicyText"]), self.POLICY)
        self.assertIn("lastEvaluatedAt", policy)
        self.assertGreaterEqual(parse_time(policy["lastEvaluatedAt"]), restarted - datetime.timedelta(seconds=1))
        self.assertLessEqual(parse_time(policy["lastEvaluatedAt"]), now_utc() + datetime.timedelta(seconds=1))

        for tag in ("t1", "t2"):
            status, _, body = self.http.request("GET", "/v2/%s/manifests/%s" % (repo, tag))
            self.assertEqual((status, json.loads(body)["errors"][0]["code"]), (404, "MANIFEST_UNKNOWN"))
        for tag in survivors:
            self.assertEqual(self.http.request("GET", "/v2/%s/manifests/%s" % (repo, tag))[0], 200)
        # Garbage collection follows: the expired images' own layers go, the survivors' stay.
        expired_layer = ImageParts("image-t1").layer_digest
        wait_for(lambda: self.http.request("GET", "/v2/%s/blobs/%s" % (repo, expired_layer))[0],
                 lambda s: s == 404, 15, interval=0.25, what="the expired image's layer to be collected")
        kept_layer = ImageParts("image-t3").layer_digest
        status, _, body = self.http.request("GET", "/v2/%s/blobs/%s" % (repo, kept_layer))
        self.assertEqual(status, 200)
        self.assertEqual(sha256(body), kept_layer)
        self.stop_server()


# 5 ------------------------------------------------------------------------------------
class TaskFromBerthImageTest(unittest.TestCase):
    """`berth up` (server + local agent with conmon/runc): a task whose image is
    the repositoryUri of an image pushed to Berth. The ECR host name does not
    resolve here, so a task that runs can only have pulled from Berth."""

    @classmethod
    def setUpClass(cls):
        skip_unless_real_runtime()
        cls.root = TempRoot(prefix="berth-ecr-task-it-")
        cls.addClassCleanup(cls.root.remove)
        cls.skopeo = Skopeo(cls.root.sub("skopeo-home"))
        cls.layout = build_busybox_layout(os.path.join(cls.root.path, "layout"), "busybox")
        net_args, cls.network = agent_network_args()
        cls.up = BerthServer(subcommand="up", data_dir=cls.root.sub("up"),
                             extra_args=["--cpu", "2048", "--memory", "1024", "--availability-zone", "eu-west-3a"]
                             + net_args)
        cls.agent_dir = os.path.join(cls.up.data_dir, "agent")
        cls.addClassCleanup(cls._stop_up)
        cls.up.start()
        cls.ecs = cls.up.boto3_client()
        wait_for(lambda: cls.ecs.list_container_instances()["containerInstanceArns"], lambda a: len(a) == 1, 30,
                 what="the local agent to register")

    @classmethod
    def _stop_up(cls):
        rc = cls.up.stop()
        problems = cleanup_agent_dir(cls.agent_dir, remove=False) + cleanup_agent_network(cls.network)
        if rc != 0 or problems:
            raise AssertionError("berth up exited %s, cleanup left %s; log:\n%s" % (rc, problems, cls.up.log()[-4000:]))

    def test_task_runs_from_an_image_pushed_to_berth_by_repository_uri(self):
        repo = "apps/hello-%d" % (int(time.time() * 1000) % 100000000)
        uri = self.up.aws("ecr", "create-repository", "--repository-name", repo)["repository"]["repositoryUri"]
        self.assertEqual(uri, "%s/%s" % (ECR_HOST, repo))
        password = self.up.aws("ecr", "get-login-password", check=False).stdout.strip()
        self.skopeo.ok("copy", "-q", "--dest-tls-verify=false", "--dest-creds", "AWS:" + password,
                       "oci:%s:busybox" % self.layout, "docker://127.0.0.1:%d/%s:v1" % (self.up.port, repo))
        digest = layout_manifest_digest(self.layout, "busybox")
        layer = json.loads(layout_blob(self.layout, digest))["layers"][0]["digest"]

        family = "ecr-image-%d" % (int(time.time() * 1000) % 100000000)
        self.ecs.register_task_definition(family=family, containerDefinitions=[{
            "name": "app", "image": uri + ":v1", "memory": 64, "essential": True,
            "command": ["sh", "-c", "echo hello-from-ecr; exit 7"]}])
        out = self.ecs.run_task(taskDefinition=family)
        self.assertEqual(out["failures"], [])
        arn = out["tasks"][0]["taskArn"]
        self.addCleanup(self._stop_task, arn)
        task = wait_for(lambda: self.ecs.describe_tasks(tasks=[arn])["tasks"][0],
                        lambda t: t["lastStatus"] == "STOPPED", 60, interval=0.2, what="the task to stop")
        container = task["containers"][0]
        self.assertEqual(container.get("exitCode"), 7, "%s\nagent log:\n%s" % (task, self.up.log()[-3000:]))
        self.assertEqual(container["image"], uri + ":v1")
        self.assertEqual(task.get("stopCode"), "EssentialContainerExited")
        self.assertIn("pullStartedAt", task)
        self.assertIn("pullStoppedAt", task)

        task_id = arn.rsplit("/", 1)[1]
        with open(os.path.join(self.agent_dir, "tasks", task_id, "app", "container.log")) as f:
            self.assertIn("hello-from-ecr", f.read())
        # What Berth served is what the agent holds: the layer, byte for byte.
        held = [os.path.join(d, f) for d, _, files in os.walk(os.path.join(self.agent_dir, "images"))
                for f in files if f == layer.split(":")[1]]
        self.assertTrue(held, "the agent's content store holds layer %s" % layer)
        with open(held[0], "rb") as f:
            self.assertEqual(sha256(f.read()), layer)
        self.assertEqual(mounts_under(os.path.join(self.agent_dir, "tasks", task_id)), [])
        self.assertEqual(cgroup_dirs_for_task(task_id), [])
        # ECS reports the digest the image reference resolved to (Container.imageDigest).
        self.assertEqual(container.get("imageDigest"), digest, container)

    def _stop_task(self, arn):
        t = self.ecs.describe_tasks(tasks=[arn])["tasks"][0]
        if t["lastStatus"] != "STOPPED":
            self.ecs.stop_task(task=arn, reason="test teardown")
            wait_for(lambda: self.ecs.describe_tasks(tasks=[arn])["tasks"][0]["lastStatus"],
                     lambda s: s == "STOPPED", 20, what="task %s to stop" % arn)


if __name__ == "__main__":
    unittest.main()
