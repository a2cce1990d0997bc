#!/usr/bin/python3
"""Writes the request_fuzzer seed corpus (fuzz/corpus/request/).

Run with Debian's interpreter (its botocore signs the pre-signed seeds):
    /usr/bin/python3 fuzz/make_corpus.py
File format: see fuzz/request_fuzzer.cc. The first byte is a flag byte, mostly
'1' (odd: the harness signs each request) or '0' (even: sent as written). Seeds named
presigned_* are signed here by botocore's own SigV4Auth at the harness's fixed
clock (2023-11-14T22:13:20Z) with the harness's credentials, so they pass
verification unchanged and check our verifier against an independent signer.
"""
import datetime
import json
import os
import sys

import botocore.auth
import botocore.awsrequest
import botocore.credentials

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "request")
PREFIX = "AmazonEC2ContainerServiceV20141113"
ACCESS_KEY = "AKIDFUZZEXAMPLE00000"
SECRET_KEY = "fuzzSecretKeyfuzzSecretKeyfuzzSecretKey0"
NOW = datetime.datetime(2023, 11, 14, 22, 13, 20)
ACCOUNT = "000000000000"
SEP = "\n@@@\n"


def req(op, body, headers=None, method="POST", target="/"):
    """One request as the fuzzer's text format (unsigned)."""
    hs = {"Host": "localhost:8080", "Content-Type": "application/x-amz-json-1.1"}
    if op is not None:  # "=..." is a raw target; a name with a '.' names its own prefix
        hs["X-Amz-Target"] = op[1:] if op.startswith("=") else op if "." in op else f"{PREFIX}.{op}"
    hs.update(headers or {})
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    lines = [f"{method} {target} HTTP/1.1"] + [f"{k}: {v}" for k, v in hs.items() if v is not None]
    return "\r\n".join(lines) + "\r\n\r\n" + text


def presigned(op, body, when=NOW):
    """A request signed by botocore at `when`."""
    text = json.dumps(body, separators=(",", ":"))
    headers = {"Host": "localhost:8080", "Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": f"{PREFIX}.{op}"}
    aws = botocore.awsrequest.AWSRequest(method="POST", url="http://localhost:8080/", data=text, headers=headers)

    class FixedDatetime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return when

    saved = botocore.auth.datetime.datetime
    botocore.auth.datetime.datetime = FixedDatetime
    try:
        botocore.auth.SigV4Auth(botocore.credentials.Credentials(ACCESS_KEY, SECRET_KEY), "ecs", "us-east-1").add_auth(aws)
    finally:
        botocore.auth.datetime.datetime = saved
    lines = ["POST / HTTP/1.1"] + [f"{k}: {v}" for k, v in aws.headers.items()]
    return "\r\n".join(lines) + "\r\n\r\n" + text


def cluster_arn(name):
    return f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/{name}"


RICH_CONTAINER = {
    "name": "web", "image": "public.ecr.aws/nginx/nginx:1.25", "cpu": 128, "memory": 256,
    "memoryReservation": 128, "essential": True,
    "portMappings": [{"containerPort": 80, "hostPort": 8080, "protocol": "tcp", "name": "http", "appProtocol": "http"},
                     {"containerPort": 53, "protocol": "udp"}],
    "entryPoint": ["/docker-entrypoint.sh"], "command": ["nginx", "-g", "daemon off;"],
    "environment": [{"name": "MODE", "value": "prod"}, {"name": "EMPTY", "value": ""}],
    "mountPoints": [{"sourceVolume": "data", "containerPath": "/data", "readOnly": False}],
    "linuxParameters": {"capabilities": {"add": ["NET_ADMIN"], "drop": ["MKNOD"]}, "initProcessEnabled": True,
                        "tmpfs": [{"containerPath": "/tmp", "size": 64, "mountOptions": ["noexec"]}]},
    "dependsOn": [{"containerName": "sidecar", "condition": "START"}],
    "startTimeout": 30, "stopTimeout": 20, "hostname": "web", "user": "101", "workingDirectory": "/srv",
    "readonlyRootFilesystem": False, "privileged": False, "dnsServers": ["1.1.1.1"],
    "extraHosts": [{"hostname": "db", "ipAddress": "10.0.0.5"}],
    "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
    "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-region": "us-east-1",
                                                             "awslogs-stream-prefix": "web"}},
    "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], "interval": 30, "timeout": 5,
                    "retries": 3, "startPeriod": 10},
    "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
    "dockerLabels": {"team": "infra"},
}
SIDECAR = {"name": "sidecar", "image": "busybox", "memory": 32, "essential": False,
           "command": ["sh", "-c", "sleep 3600"], "volumesFrom": [{"sourceContainer": "web", "readOnly": True}]}
RICH_TASKDEF = {
    "family": "web", "networkMode": "bridge", "containerDefinitions": [RICH_CONTAINER, SIDECAR],
    "volumes": [{"name": "data", "host": {"sourcePath": "/srv/data"}},
                {"name": "scratch", "dockerVolumeConfiguration": {"scope": "task", "driver": "local"}}],
    "placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.*"}],
    "requiresCompatibilities": ["EC2"], "pidMode": "task", "ipcMode": "task",
    "tags": [{"key": "env", "value": "prod"}],
}
FARGATE_TASKDEF = {
    "family": "api", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
    "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole",
    "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
    "containerDefinitions": [{"name": "api", "image": "busybox:latest", "essential": True,
                              "portMappings": [{"containerPort": 8080}]}],
    "ephemeralStorage": {"sizeInGiB": 21},
}
SMALL_TASKDEF = {"family": "web", "containerDefinitions": [{"name": "c", "image": "busybox", "memory": 64}]}
TD_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:1"

SEEDS = {
    # --- valid operations, signed by the harness ---------------------------------
    "create_cluster": ("1", [req("CreateCluster", {"clusterName": "fuzz", "tags": [{"key": "a", "value": "b"}],
                                                   "settings": [{"name": "containerInsights", "value": "enabled"}]})]),
    "create_describe_clusters": ("1", [
        req("CreateCluster", {"clusterName": "fuzz"}),
        req("DescribeClusters", {"clusters": ["fuzz", cluster_arn("fuzz"), "missing"],
                                 "include": ["TAGS", "SETTINGS", "STATISTICS", "ATTACHMENTS", "CONFIGURATIONS"]})]),
    "list_clusters_paged": ("1", [
        req("CreateCluster", {"clusterName": "a"}), req("CreateCluster", {"clusterName": "b"}),
        req("CreateCluster", {}), req("ListClusters", {"maxResults": 1})]),
    "update_cluster": ("1", [
        req("CreateCluster", {"clusterName": "u"}),
        req("UpdateCluster", {"cluster": "u", "settings": [{"name": "containerInsights", "value": "disabled"}],
                              "configuration": {"executeCommandConfiguration": {"logging": "DEFAULT"}},
                              "serviceConnectDefaults": {"namespace": "ns"}}),
        req("UpdateClusterSettings", {"cluster": cluster_arn("u"),
                                      "settings": [{"name": "containerInsights", "value": "enhanced"}]})]),
    "delete_cluster": ("1", [
        req("CreateCluster", {"clusterName": "d"}), req("DeleteCluster", {"cluster": "d"}),
        req("DescribeClusters", {"clusters": ["d"]}), req("DeleteCluster", {"cluster": "d"})]),
    "register_rich": ("1", [req("RegisterTaskDefinition", RICH_TASKDEF)]),
    "register_fargate": ("1", [req("RegisterTaskDefinition", FARGATE_TASKDEF)]),
    "register_describe": ("1", [
        req("RegisterTaskDefinition", RICH_TASKDEF),
        req("DescribeTaskDefinition", {"taskDefinition": "web", "include": ["TAGS"]}),
        req("DescribeTaskDefinition", {"taskDefinition": TD_ARN}),
        req("DescribeTaskDefinition", {"taskDefinition": "web:2"})]),
    "list_task_definitions_paged": ("1", [
        req("RegisterTaskDefinition", SMALL_TASKDEF), req("RegisterTaskDefinition", SMALL_TASKDEF),
        req("RegisterTaskDefinition", FARGATE_TASKDEF),
        req("ListTaskDefinitions", {"familyPrefix": "web", "status": "ACTIVE", "sort": "DESC", "maxResults": 1})]),
    "list_task_definitions_token": ("1", [
        req("RegisterTaskDefinition", SMALL_TASKDEF),
        req("ListTaskDefinitions", {"maxResults": 1, "nextToken": "eyJrIjoid2ViOjEifQ=="}),
        req("ListTaskDefinitions", {"nextToken": "not-a-token"})]),
    "list_families": ("1", [
        req("RegisterTaskDefinition", SMALL_TASKDEF), req("RegisterTaskDefinition", FARGATE_TASKDEF),
        req("ListTaskDefinitionFamilies", {"familyPrefix": "w", "status": "ALL", "maxResults": 100})]),
    "deregister_delete": ("1", [
        req("RegisterTaskDefinition", SMALL_TASKDEF),
        req("DeregisterTaskDefinition", {"taskDefinition": "web:1"}),
        req("DeleteTaskDefinitions", {"taskDefinitions": ["web:1", "web:7", TD_ARN]}),
        req("ListTaskDefinitions", {"status": "INACTIVE"})]),
    "tag_untag_cluster": ("1", [
        req("CreateCluster", {"clusterName": "t"}),
        req("TagResource", {"resourceArn": cluster_arn("t"), "tags": [{"key": "k1", "value": "v1"}, {"key": "k2"}]}),
        req("UntagResource", {"resourceArn": cluster_arn("t"), "tagKeys": ["k1", "nope"]}),
        req("ListTagsForResource", {"resourceArn": cluster_arn("t")})]),
    "tag_task_definition": ("1", [
        req("RegisterTaskDefinition", SMALL_TASKDEF),
        req("TagResource", {"resourceArn": TD_ARN, "tags": [{"key": "aws:reserved", "value": "x"}]}),
        req("TagResource", {"resourceArn": TD_ARN, "tags": [{"key": "owner", "value": "me"}]}),
        req("ListTagsForResource", {"resourceArn": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/web:1"})]),
    # --- bad input, signed ----------------------------------------------------------
    "malformed_json": ("1", [req("CreateCluster", '{"clusterName": "x", ')]),
    "wrong_types": ("1", [req("CreateCluster", {"clusterName": 5, "tags": "x"}),
                          req("ListClusters", {"maxResults": "ten"}),
                          req("DescribeClusters", {"clusters": {"a": 1}})]),
    "scalar_and_array_body": ("1", [req("ListClusters", "[1,2]"), req("ListClusters", "null"),
                                    req("ListClusters", '"str"'), req("ListClusters", "")]),
    "deep_nesting": ("1", [req("CreateCluster", '{"tags":' + "[" * 100 + "]" * 100 + "}")]),
    "numbers_out_of_range": ("1", [req("ListClusters", {"maxResults": 1e30}),
                                   req("ListTaskDefinitions", {"maxResults": -1}),
                                   req("ListTaskDefinitionFamilies", {"maxResults": 2.5})]),
    "register_invalid": ("1", [
        req("RegisterTaskDefinition", {"family": "bad name!", "containerDefinitions": []}),
        req("RegisterTaskDefinition", {"family": "x", "containerDefinitions": [{"name": "c", "image": "i", "memory": 2}]}),
        req("RegisterTaskDefinition", {"family": "x", "networkMode": "foo", "cpu": "lots",
                                       "containerDefinitions": [{"name": "c", "image": "i",
                                                                 "portMappings": [{"containerPort": 70000}]}]}),
        req("RegisterTaskDefinition", {"family": "x", "containerDefinitions": [
            {"name": "c", "image": "i", "memory": 64, "dependsOn": [{"containerName": "c", "condition": "HEALTHY"}]},
            {"name": "c", "image": "i", "memory": 64}]})]),
    "task_definition_refs": ("1", [
        req("RegisterTaskDefinition", SMALL_TASKDEF),
        req("DescribeTaskDefinition", {"taskDefinition": "web:0"}),
        req("DescribeTaskDefinition", {"taskDefinition": "web:99999999999999999999"}),
        req("DescribeTaskDefinition", {"taskDefinition": ":"})]),
    "unicode_names": ("1", [req("CreateCluster", {"clusterName": "caf\u00e9\u0000\ud83d\ude00"}),
                            req("CreateCluster", {"clusterName": "x" * 300}),
                            req("DescribeClusters", {"clusters": ["arn:aws:ecs:us-east-1:000000000000:cluster/"]})]),
    "delete_many_task_definitions": ("1", [req("DeleteTaskDefinitions",
                                               {"taskDefinitions": [f"web:{i}" for i in range(1, 12)]})]),
    # --- routing -------------------------------------------------------------------
    "unimplemented_and_unknown_ops": ("1", [req("RunTask", {"taskDefinition": "web"}), req("NoSuchThing", {}),
                                            req("AmazonEC2ContainerRegistry_V20150921.ListImages", {}),
                                            req(f"{PREFIX}.", {})]),
    "weird_targets": ("1", [req("=nodot", {}), req(".", {}), req("=", {}), req(f"{PREFIX}..ListClusters", {})]),
    "health_and_methods": ("0", [req(None, "", method="GET", target="/healthz"),
                                 req(None, "", method="GET", target="/ping?x"),
                                 req("ListClusters", {}, method="PUT", target="//a/../b/%2e/%zz"),
                                 req(None, {}, target="/some/path?x=1&y")]),
    # --- authentication ------------------------------------------------------------
    "unsigned": ("0", [req("ListClusters", {})]),
    "garbage_authorization": ("0", [
        req("ListClusters", {}, {"Authorization": "AWS4-HMAC-SHA256 Credential=garbage"}),
        req("ListClusters", {}, {"Authorization": "Basic Zm9vOmJhcg=="}),
        req("ListClusters", {}, {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDWRONG/20231114/us-east-1/ecs/"
                                                  "aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
                                 "X-Amz-Date": "20231114T221320Z"}),
        req("ListClusters", {}, {"Authorization": f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20231114/us-east-1/ecs/"
                                                  "aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, "
                                                  "Signature=" + "a" * 64,
                                 "X-Amz-Date": "20231114T221320Z"})]),
    "presigned_query_garbage": ("0", [req(None, "", method="GET", target=(
        "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + ACCESS_KEY + "%2F20231114%2Fus-east-1%2Fecs%2F"
        "aws4_request&X-Amz-Date=20231114T221320Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature="
        + "b" * 64))]),
    # flag bits 1+2: the harness signs for eu-west-1; bits 6+7: for service ecr.
    "scope_wrong_region": ("\x07", [req("ListClusters", {})]),
    "scope_wrong_service": ("\xc1", [req("ListClusters", {})]),
    "presigned_create_describe": ("0", [
        presigned("CreateCluster", {"clusterName": "signed"}),
        presigned("DescribeClusters", {"clusters": ["signed"], "include": ["TAGS"]})]),
    "presigned_register_list": ("0", [
        presigned("RegisterTaskDefinition", RICH_TASKDEF),
        presigned("ListTaskDefinitions", {"familyPrefix": "web"})]),
    "presigned_expired": ("0", [presigned("ListClusters", {}, when=NOW - datetime.timedelta(hours=1))]),
    "presigned_tag": ("0", [
        presigned("CreateCluster", {"clusterName": "signed"}),
        presigned("TagResource", {"resourceArn": cluster_arn("signed"), "tags": [{"key": "k", "value": "v"}]}),
        presigned("ListTagsForResource", {"resourceArn": cluster_arn("signed")})]),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, (flag, requests) in SEEDS.items():
        if len(requests) > 4:
            sys.exit(f"{name}: at most 4 requests per input")
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(bytes([ord(flag)]) + SEP.join(requests).encode("utf-8"))
    print(f"wrote {len(SEEDS)} seeds to {OUT}")


if __name__ == "__main__":
    main()
