#include "control/task_definition_validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "control/task_size.h"

namespace berth::control {
namespace {

using nlohmann::json;

// A minimal valid EC2/bridge request.
json minimalRequest() {
  return json::parse(R"({
    "family": "web",
    "containerDefinitions": [{"name": "app", "image": "nginx:1.25", "memory": 512}]
  })");
}

json fargateRequest(const std::string& cpu = "256", const std::string& memory = "512") {
  return json{{"family", "svc"},
              {"networkMode", "awsvpc"},
              {"requiresCompatibilities", {"FARGATE"}},
              {"cpu", cpu},
              {"memory", memory},
              {"containerDefinitions", {{{"name", "app"}, {"image", "nginx"}}}}};
}

// Every ContainerDefinition field of the 2014-11-13 model (botocore 1.29),
// nested shapes fully populated. "sidecar" exists for links/volumesFrom/dependsOn.
json fullRequest() {
  return json::parse(R"({
    "family": "full-family_1",
    "taskRoleArn": "arn:aws:iam::123456789012:role/task",
    "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
    "networkMode": "bridge",
    "requiresCompatibilities": ["EC2"],
    "cpu": "1024",
    "memory": "2048",
    "pidMode": "task",
    "ipcMode": "task",
    "tags": [{"key": "team", "value": "core"}],
    "placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.*"}],
    "inferenceAccelerators": [{"deviceName": "acc1", "deviceType": "eia2.medium"}],
    "ephemeralStorage": {"sizeInGiB": 30},
    "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
    "volumes": [
      {"name": "data", "host": {"sourcePath": "/srv/data"}},
      {"name": "dv", "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": true, "driver": "local",
                                                   "driverOpts": {"type": "tmpfs"}, "labels": {"l": "v"}}},
      {"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1234", "rootDirectory": "/",
                                                 "transitEncryption": "ENABLED", "transitEncryptionPort": 2049,
                                                 "authorizationConfig": {"accessPointId": "fsap-1", "iam": "ENABLED"}}},
      {"name": "fsx", "fsxWindowsFileServerVolumeConfiguration": {"fileSystemId": "fs-5678", "rootDirectory": "share",
        "authorizationConfig": {"credentialsParameter": "arn:aws:ssm:us-east-1:123456789012:parameter/cred",
                                "domain": "corp.example.com"}}}
    ],
    "containerDefinitions": [
      {
        "name": "app",
        "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0",
        "repositoryCredentials": {"credentialsParameter": "arn:aws:secretsmanager:us-east-1:123456789012:secret:reg"},
        "cpu": 256,
        "memory": 512,
        "memoryReservation": 256,
        "links": ["sidecar:side"],
        "portMappings": [{"containerPort": 80, "hostPort": 8080, "protocol": "tcp", "name": "web", "appProtocol": "http"}],
        "essential": true,
        "entryPoint": ["/bin/sh", "-c"],
        "command": ["exec nginx"],
        "environment": [{"name": "MODE", "value": "prod"}],
        "environmentFiles": [{"value": "arn:aws:s3:::bucket/app.env", "type": "s3"}],
        "mountPoints": [{"sourceVolume": "data", "containerPath": "/data", "readOnly": true}],
        "volumesFrom": [{"sourceContainer": "sidecar", "readOnly": false}],
        "linuxParameters": {
          "capabilities": {"add": ["NET_ADMIN"], "drop": ["MKNOD"]},
          "devices": [{"hostPath": "/dev/fuse", "containerPath": "/dev/fuse", "permissions": ["read", "write"]}],
          "initProcessEnabled": true,
          "sharedMemorySize": 64,
          "tmpfs": [{"containerPath": "/scratch", "size": 64, "mountOptions": ["rw", "noexec"]}],
          "maxSwap": 0,
          "swappiness": 10
        },
        "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"}],
        "dependsOn": [{"containerName": "sidecar", "condition": "HEALTHY"}],
        "startTimeout": 60,
        "stopTimeout": 30,
        "hostname": "app",
        "user": "1000:1000",
        "workingDirectory": "/srv",
        "disableNetworking": false,
        "privileged": false,
        "readonlyRootFilesystem": true,
        "dnsServers": ["10.0.0.2"],
        "dnsSearchDomains": ["example.internal"],
        "extraHosts": [{"hostname": "db", "ipAddress": "10.0.0.9"}],
        "dockerSecurityOptions": ["no-new-privileges"],
        "interactive": false,
        "pseudoTerminal": false,
        "dockerLabels": {"com.example.tier": "web"},
        "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
        "logConfiguration": {
          "logDriver": "awslogs",
          "options": {"awslogs-group": "/ecs/app", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app"},
          "secretOptions": [{"name": "token", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/token"}]
        },
        "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], "interval": 10,
                        "timeout": 3, "retries": 2, "startPeriod": 5},
        "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
        "resourceRequirements": [{"type": "InferenceAccelerator", "value": "acc1"}, {"type": "GPU", "value": "1"}],
        "firelensConfiguration": {"type": "fluentbit", "options": {"config-file-type": "file",
                                                                   "config-file-value": "/fluent-bit/extra.conf"}}
      },
      {
        "name": "sidecar",
        "image": "busybox",
        "essential": false,
        "memoryReservation": 128,
        "healthCheck": {"command": ["CMD", "true"]}
      }
    ]
  })");
}

// ---------------------------------------------------------------------------
// Table-driven rejections.
// ---------------------------------------------------------------------------
struct RejectCase {
  std::string name;
  std::function<void(json&)> mutate;
  ErrorCode code;
  std::string messagePart;
  std::function<json()> base = minimalRequest;
};

json& app(json& r) { return r["containerDefinitions"][0]; }

void addContainer(json& r, json c) { r["containerDefinitions"].push_back(std::move(c)); }

std::vector<RejectCase> rejectCases() {
  return {
      {"family missing", [](json& r) { r.erase("family"); }, ErrorCode::kClient, "Family can not be blank."},
      {"family empty", [](json& r) { r["family"] = ""; }, ErrorCode::kClient, "Family can not be blank."},
      {"family bad chars", [](json& r) { r["family"] = "web.app"; }, ErrorCode::kClient,
       "Family contains invalid characters."},
      {"family space", [](json& r) { r["family"] = "web app"; }, ErrorCode::kClient,
       "Family contains invalid characters."},
      {"family too long", [](json& r) { r["family"] = std::string(256, 'a'); }, ErrorCode::kClient, "Family"},
      {"family wrong type", [](json& r) { r["family"] = 7; }, ErrorCode::kInvalidParameter, "family"},
      {"no containers", [](json& r) { r["containerDefinitions"] = json::array(); }, ErrorCode::kClient,
       "Container list cannot be empty."},
      {"containers absent", [](json& r) { r.erase("containerDefinitions"); }, ErrorCode::kClient,
       "Container list cannot be empty."},
      {"eleven containers",
       [](json& r) {
         for (int i = 1; i <= 10; ++i) addContainer(r, {{"name", "c" + std::to_string(i)}, {"image", "x"}, {"memory", 6}});
       },
       ErrorCode::kClient, "at most 10 containers"},
      {"container name missing", [](json& r) { app(r).erase("name"); }, ErrorCode::kClient,
       "Container.name should not be null or empty."},
      {"container name empty", [](json& r) { app(r)["name"] = ""; }, ErrorCode::kClient,
       "Container.name should not be null or empty."},
      {"container name bad", [](json& r) { app(r)["name"] = "my app"; }, ErrorCode::kClient,
       "Container.name contains invalid characters."},
      {"container name too long", [](json& r) { app(r)["name"] = std::string(256, 'n'); }, ErrorCode::kClient,
       "Container.name contains invalid characters."},
      {"duplicate names", [](json& r) { addContainer(r, app(r)); }, ErrorCode::kClient,
       "Container names must be unique within a Task Definition."},
      {"image missing", [](json& r) { app(r).erase("image"); }, ErrorCode::kClient,
       "Container.image should not be null or empty."},
      {"image empty", [](json& r) { app(r)["image"] = ""; }, ErrorCode::kClient,
       "Container.image should not be null or empty."},
      {"image too long", [](json& r) { app(r)["image"] = std::string(256, 'i'); }, ErrorCode::kClient,
       "Container.image"},
      {"image whitespace", [](json& r) { app(r)["image"] = "nginx latest"; }, ErrorCode::kClient,
       "Container.image contains invalid characters."},
      {"no essential", [](json& r) { app(r)["essential"] = false; }, ErrorCode::kClient,
       "Task definition doesn't have any essential container."},
      {"no memory", [](json& r) { app(r).erase("memory"); }, ErrorCode::kClient,
       "Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified."},
      {"memory below reservation",
       [](json& r) {
         app(r)["memory"] = 128;
         app(r)["memoryReservation"] = 256;
       },
       ErrorCode::kClient, "is lower than the 'memoryReservation'"},
      {"memory below 6 MiB", [](json& r) { app(r)["memory"] = 4; }, ErrorCode::kClient,
       "Invalid 'memory' setting for container 'app'"},
      {"reservation below 6 MiB",
       [](json& r) {
         app(r).erase("memory");
         app(r)["memoryReservation"] = 5;
       },
       ErrorCode::kClient, "Invalid 'memoryReservation' setting for container 'app'"},
      {"negative container cpu", [](json& r) { app(r)["cpu"] = -1; }, ErrorCode::kClient,
       "Invalid 'cpu' setting for container 'app'."},
      {"container memory over task",
       [](json& r) {
         r["memory"] = "256";
         app(r)["memory"] = 512;
       },
       ErrorCode::kClient, "The 'memory' setting for container 'app' is greater than for the task."},
      {"reservation sum over task",
       [](json& r) {
         r["memory"] = "512";
         app(r)["memory"] = 300;
         addContainer(r, {{"name", "b"}, {"image", "x"}, {"memoryReservation", 300}});
       },
       ErrorCode::kClient, "cannot be greater than the value of the task 'memory'"},
      {"cpu sum over task",
       [](json& r) {
         r["cpu"] = "256";
         app(r)["cpu"] = 200;
         addContainer(r, {{"name", "b"}, {"image", "x"}, {"memory", 64}, {"cpu", 100}});
       },
       ErrorCode::kClient,
       "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'."},
      {"task cpu garbage", [](json& r) { r["cpu"] = "lots"; }, ErrorCode::kInvalidParameter,
       "Invalid 'cpu' setting for task."},
      {"task cpu empty", [](json& r) { r["cpu"] = ""; }, ErrorCode::kInvalidParameter,
       "Invalid 'cpu' setting for task."},
      {"task cpu too small", [](json& r) { r["cpu"] = "64"; }, ErrorCode::kClient, "Invalid 'cpu' setting for task."},
      {"task cpu too large", [](json& r) { r["cpu"] = "200 vcpu"; }, ErrorCode::kClient,
       "Invalid 'cpu' setting for task."},
      {"task memory garbage", [](json& r) { r["memory"] = "1 TB"; }, ErrorCode::kInvalidParameter,
       "Invalid 'memory' setting for task."},
      {"task cpu as number", [](json& r) { r["cpu"] = 256; }, ErrorCode::kInvalidParameter, "cpu"},
      {"network mode enum", [](json& r) { r["networkMode"] = "nat"; }, ErrorCode::kInvalidParameter,
       "Member must satisfy enum value set: [bridge, host, awsvpc, none]"},
      {"port mapping with none",
       [](json& r) {
         r["networkMode"] = "none";
         app(r)["portMappings"] = {{{"containerPort", 80}}};
       },
       ErrorCode::kClient, "Port mappings are not supported when networkMode=none."},
      {"container port missing", [](json& r) { app(r)["portMappings"] = {{{"hostPort", 80}}}; }, ErrorCode::kClient,
       "Invalid 'containerPort' setting for container 'app'."},
      {"container port zero", [](json& r) { app(r)["portMappings"] = {{{"containerPort", 0}}}; }, ErrorCode::kClient,
       "Invalid 'containerPort' setting for container 'app'."},
      {"container port too big", [](json& r) { app(r)["portMappings"] = {{{"containerPort", 65536}}}; },
       ErrorCode::kClient, "Invalid 'containerPort' setting for container 'app'."},
      {"host port too big", [](json& r) { app(r)["portMappings"] = {{{"containerPort", 80}, {"hostPort", 70000}}}; },
       ErrorCode::kClient, "Invalid 'hostPort' setting for container 'app'."},
      {"bad protocol", [](json& r) { app(r)["portMappings"] = {{{"containerPort", 80}, {"protocol", "sctp"}}}; },
       ErrorCode::kInvalidParameter, "enum value set: [tcp, udp]"},
      {"awsvpc port mismatch",
       [](json& r) {
         r["networkMode"] = "awsvpc";
         app(r)["portMappings"] = {{{"containerPort", 80}, {"hostPort", 8080}}};
       },
       ErrorCode::kClient, "When networkMode=awsvpc, the host ports and container ports in port mappings must match."},
      {"host port mismatch",
       [](json& r) {
         r["networkMode"] = "host";
         app(r)["portMappings"] = {{{"containerPort", 80}, {"hostPort", 81}}};
       },
       ErrorCode::kClient, "When networkMode=host, the host ports and container ports in port mappings must match."},
      {"duplicate host port across containers",
       [](json& r) {
         app(r)["portMappings"] = {{{"containerPort", 80}, {"hostPort", 3000}}};
         addContainer(r, {{"name", "b"}, {"image", "x"}, {"memory", 64},
                          {"portMappings", {{{"containerPort", 81}, {"hostPort", 3000}}}}});
       },
       ErrorCode::kClient, "TCP host port '3000' is mapped multiple times in task."},
      {"duplicate host port awsvpc implicit",
       [](json& r) {
         r["networkMode"] = "awsvpc";
         app(r)["portMappings"] = {{{"containerPort", 53}, {"protocol", "udp"}}};
         addContainer(r, {{"name", "b"}, {"image", "x"}, {"memory", 64},
                          {"portMappings", {{{"containerPort", 53}, {"protocol", "udp"}}}}});
       },
       ErrorCode::kClient, "UDP host port '53' is mapped multiple times in task."},
      {"duplicate container port in container",
       [](json& r) { app(r)["portMappings"] = {{{"containerPort", 80}}, {{"containerPort", 80}, {"hostPort", 81}}}; },
       ErrorCode::kInvalidParameter, "Container port 80 is used in more than one port mapping for container app"},
      {"links with awsvpc",
       [](json& r) {
         r["networkMode"] = "awsvpc";
         addContainer(r, {{"name", "db"}, {"image", "x"}, {"memory", 64}});
         app(r)["links"] = {"db"};
       },
       ErrorCode::kClient, "Links are not supported when networkMode=awsvpc."},
      {"link to unknown container", [](json& r) { app(r)["links"] = {"ghost:g"}; }, ErrorCode::kClient,
       "Invalid link 'ghost:g'"},
      {"hostname with awsvpc",
       [](json& r) {
         r["networkMode"] = "awsvpc";
         app(r)["hostname"] = "h";
       },
       ErrorCode::kClient, "hostname is not supported on container when networkMode=awsvpc."},
      {"depends on unknown", [](json& r) { app(r)["dependsOn"] = {{{"containerName", "ghost"}, {"condition", "START"}}}; },
       ErrorCode::kClient, "Cannot depend on container + 'ghost' because it does not exist"},
      {"depends condition enum",
       [](json& r) {
         addContainer(r, {{"name", "b"}, {"image", "x"}, {"memory", 64}});
         app(r)["dependsOn"] = {{{"containerName", "b"}, {"condition", "READY"}}};
       },
       ErrorCode::kInvalidParameter, "enum value set: [START, COMPLETE, SUCCESS, HEALTHY]"},
      {"depends condition missing",
       [](json& r) {
         addContainer(r, {{"name", "b"}, {"image", "x"}, {"memory", 64}});
         app(r)["dependsOn"] = {{{"containerName", "b"}}};
       },
       ErrorCode::kInvalidParameter, "Member must not be null"},
      {"success on essential",
       [](json& r) {
         addContainer(r, {{"name", "b"}, {"image", "x"}, {"memory", 64}});
         app(r)["dependsOn"] = {{{"containerName", "b"}, {"condition", "SUCCESS"}}};
       },
       ErrorCode::kClient, "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container"},
      {"complete on essential",
       [](json& r) {
         addContainer(r, {{"name", "b"}, {"image", "x"}, {"memory", 64}, {"essential", true}});
         app(r)["dependsOn"] = {{{"containerName", "b"}, {"condition", "COMPLETE"}}};
       },
       ErrorCode::kClient, "cannot be an essential container"},
      {"healthy without health check",
       [](json& r) {
         addContainer(r, {{"name", "b"}, {"image", "x"}, {"memory", 64}});
         app(r)["dependsOn"] = {{{"containerName", "b"}, {"condition", "HEALTHY"}}};
       },
       ErrorCode::kClient, "HEALTHY condition must have health check configured"},
      {"depends on itself", [](json& r) { app(r)["dependsOn"] = {{{"containerName", "app"}, {"condition", "START"}}}; },
       ErrorCode::kClient, "Container dependencies must not form a cycle: app -> app."},
      {"dependency cycle",
       [](json& r) {
         addContainer(r, {{"name", "b"}, {"image", "x"}, {"memory", 64},
                          {"dependsOn", {{{"containerName", "app"}, {"condition", "START"}}}}});
         app(r)["dependsOn"] = {{{"containerName", "b"}, {"condition", "START"}}};
       },
       ErrorCode::kClient, "Container dependencies must not form a cycle: app -> b -> app."},
      {"autoprovision with task scope",
       [](json& r) { r["volumes"] = {{{"name", "dv"}, {"dockerVolumeConfiguration", {{"scope", "task"}, {"autoprovision", true}}}}}; },
       ErrorCode::kClient, "autoprovision is only supported when scope is shared"},
      {"docker volume scope enum",
       [](json& r) { r["volumes"] = {{{"name", "dv"}, {"dockerVolumeConfiguration", {{"scope", "global"}}}}}; },
       ErrorCode::kInvalidParameter, "enum value set: [task, shared]"},
      {"negative stop timeout", [](json& r) { app(r)["stopTimeout"] = -1; }, ErrorCode::kClient,
       "Invalid 'stopTimeout' setting for container 'app'."},
      {"health check bad first word", [](json& r) { app(r)["healthCheck"] = {{"command", {"curl", "-f", "x"}}}; },
       ErrorCode::kClient, "must start with CMD or CMD-SHELL"},
      {"health check lone CMD", [](json& r) { app(r)["healthCheck"] = {{"command", {"CMD-SHELL"}}}; },
       ErrorCode::kClient, "at least one argument"},
      {"health check no command", [](json& r) { app(r)["healthCheck"] = {{"interval", 10}}; },
       ErrorCode::kInvalidParameter, "Member must not be null"},
      {"health interval low", [](json& r) { app(r)["healthCheck"] = {{"command", {"CMD", "true"}}, {"interval", 4}}; },
       ErrorCode::kClient, "interval for container 'app' must be between 5 and 300"},
      {"health timeout high", [](json& r) { app(r)["healthCheck"] = {{"command", {"CMD", "true"}}, {"timeout", 61}}; },
       ErrorCode::kClient, "timeout for container 'app' must be between 2 and 60"},
      {"health retries zero", [](json& r) { app(r)["healthCheck"] = {{"command", {"CMD", "true"}}, {"retries", 0}}; },
       ErrorCode::kClient, "retries for container 'app' must be between 1 and 10"},
      {"health start period", [](json& r) { app(r)["healthCheck"] = {{"command", {"CMD", "true"}}, {"startPeriod", 301}}; },
       ErrorCode::kClient, "startPeriod for container 'app' must be between 0 and 300"},
      {"unknown volume", [](json& r) { app(r)["mountPoints"] = {{{"sourceVolume", "nope"}, {"containerPath", "/x"}}}; },
       ErrorCode::kClient, "Unknown volume 'nope'."},
      {"mount without volume", [](json& r) { app(r)["mountPoints"] = {{{"containerPath", "/x"}}}; }, ErrorCode::kClient,
       "Unknown volume 'null'."},
      {"mount without path",
       [](json& r) {
         r["volumes"] = {{{"name", "v"}}};
         app(r)["mountPoints"] = {{{"sourceVolume", "v"}}};
       },
       ErrorCode::kClient, "containerPath should not be blank"},
      {"volumes from self", [](json& r) { app(r)["volumesFrom"] = {{{"sourceContainer", "app"}}}; }, ErrorCode::kClient,
       "Unknown source container 'app'"},
      {"volumes from unknown", [](json& r) { app(r)["volumesFrom"] = {{{"sourceContainer", "zz"}}}; },
       ErrorCode::kClient, "Unknown source container 'zz'"},
      {"volume unnamed", [](json& r) { r["volumes"] = {{{"host", json::object()}}}; }, ErrorCode::kClient,
       "Volume.name should not be null or empty."},
      {"volume bad name", [](json& r) { r["volumes"] = {{{"name", "a/b"}}}; }, ErrorCode::kClient,
       "Volume.name contains invalid characters."},
      {"volume duplicate", [](json& r) { r["volumes"] = {{{"name", "a"}}, {{"name", "a"}}}; }, ErrorCode::kClient,
       "Volume names must be unique"},
      {"volume blank source path", [](json& r) { r["volumes"] = {{{"name", "a"}, {"host", {{"sourcePath", ""}}}}}; },
       ErrorCode::kClient, "host.sourcePath should not be blank."},
      {"volume relative source path",
       [](json& r) { r["volumes"] = {{{"name", "a"}, {"host", {{"sourcePath", "data"}}}}}; }, ErrorCode::kClient,
       "must be absolute"},
      {"volume two kinds",
       [](json& r) {
         r["volumes"] = {{{"name", "a"}, {"host", json::object()},
                          {"dockerVolumeConfiguration", {{"scope", "task"}}}}};
       },
       ErrorCode::kClient, "only one of"},
      {"efs iam without encryption",
       [](json& r) {
         r["volumes"] = {{{"name", "a"},
                          {"efsVolumeConfiguration",
                           {{"fileSystemId", "fs-1"}, {"authorizationConfig", {{"iam", "ENABLED"}}}}}}};
       },
       ErrorCode::kClient, "Transit encryption must be enabled"},
      {"ulimit name enum", [](json& r) { app(r)["ulimits"] = {{{"name", "files"}, {"softLimit", 1}, {"hardLimit", 2}}}; },
       ErrorCode::kInvalidParameter, "enum value set: [core, cpu"},
      {"ulimit soft over hard",
       [](json& r) { app(r)["ulimits"] = {{{"name", "nofile"}, {"softLimit", 10}, {"hardLimit", 2}}}; },
       ErrorCode::kClient, "softLimit cannot be greater than hardLimit"},
      {"environment blank name", [](json& r) { app(r)["environment"] = {{{"name", ""}, {"value", "x"}}}; },
       ErrorCode::kClient, "name should not be blank"},
      {"secret without valueFrom", [](json& r) { app(r)["secrets"] = {{{"name", "S"}}}; },
       ErrorCode::kInvalidParameter, "secrets.1.member.valueFrom' failed to satisfy constraint: Member must not be null"},
      {"secret blank", [](json& r) { app(r)["secrets"] = {{{"name", "S"}, {"valueFrom", ""}}}; }, ErrorCode::kClient,
       "name and valueFrom should not be blank"},
      {"log driver enum", [](json& r) { app(r)["logConfiguration"] = {{"logDriver", "logentries"}}; },
       ErrorCode::kInvalidParameter, "enum value set: [json-file, syslog"},
      {"awslogs without options", [](json& r) { app(r)["logConfiguration"] = {{"logDriver", "awslogs"}}; },
       ErrorCode::kClient, "Log driver awslogs requires options: awslogs-region, awslogs-group"},
      {"awslogs without group",
       [](json& r) {
         app(r)["logConfiguration"] = {{"logDriver", "awslogs"}, {"options", {{"awslogs-region", "us-east-1"}}}};
       },
       ErrorCode::kClient, "Log driver awslogs requires options: awslogs-group"},
      {"awsfirelens without router", [](json& r) { app(r)["logConfiguration"] = {{"logDriver", "awsfirelens"}}; },
       ErrorCode::kClient, "requires a container with a firelensConfiguration"},
      {"capability unknown",
       [](json& r) { app(r)["linuxParameters"] = {{"capabilities", {{"add", {"SUPERPOWER"}}}}}; }, ErrorCode::kClient,
       "Invalid Linux capability 'SUPERPOWER'"},
      {"swappiness range", [](json& r) { app(r)["linuxParameters"] = {{"swappiness", 101}}; }, ErrorCode::kClient,
       "'swappiness' setting for container 'app' must be between 0 and 100"},
      {"tmpfs relative", [](json& r) { app(r)["linuxParameters"] = {{"tmpfs", {{{"containerPath", "tmp"}, {"size", 1}}}}}; },
       ErrorCode::kClient, "containerPath must be absolute"},
      {"gpu value", [](json& r) { app(r)["resourceRequirements"] = {{{"type", "GPU"}, {"value", "two"}}}; },
       ErrorCode::kClient, "Invalid GPU resource requirement"},
      {"accelerator unknown",
       [](json& r) { app(r)["resourceRequirements"] = {{{"type", "InferenceAccelerator"}, {"value", "x"}}}; },
       ErrorCode::kClient, "No inference accelerator named 'x'"},
      {"too many env files",
       [](json& r) {
         json files = json::array();
         for (int i = 0; i < 11; ++i) files.push_back({{"value", "arn:aws:s3:::b/" + std::to_string(i) + ".env"}, {"type", "s3"}});
         app(r)["environmentFiles"] = files;
       },
       ErrorCode::kClient, "Too many environment files"},
      {"placement constraint type",
       [](json& r) { r["placementConstraints"] = {{{"type", "distinctInstance"}}}; }, ErrorCode::kInvalidParameter,
       "enum value set: [memberOf]"},
      {"placement constraint no expression", [](json& r) { r["placementConstraints"] = {{{"type", "memberOf"}}}; },
       ErrorCode::kClient, "must have an expression"},
      {"too many placement constraints",
       [](json& r) {
         r["placementConstraints"] = json::array();
         for (int i = 0; i < 11; ++i) r["placementConstraints"].push_back({{"type", "memberOf"}, {"expression", "attribute:a == b"}});
       },
       ErrorCode::kClient, "Too many placement constraints"},
      {"ipc mode enum", [](json& r) { r["ipcMode"] = "shareable"; }, ErrorCode::kInvalidParameter,
       "enum value set: [host, task, none]"},
      {"pid mode enum", [](json& r) { r["pidMode"] = "none"; }, ErrorCode::kInvalidParameter,
       "enum value set: [host, task]"},
      {"compat enum", [](json& r) { r["requiresCompatibilities"] = {"LAMBDA"}; }, ErrorCode::kInvalidParameter,
       "enum value set: [EC2, FARGATE, EXTERNAL]"},
      {"ephemeral too small", [](json& r) { r["ephemeralStorage"] = {{"sizeInGiB", 20}}; }, ErrorCode::kClient,
       "EphemeralStorage size should be at least 21"},
      {"ephemeral too big", [](json& r) { r["ephemeralStorage"] = {{"sizeInGiB", 201}}; }, ErrorCode::kClient,
       "EphemeralStorage size should be at most 200"},
      {"proxy unknown container",
       [](json& r) {
         r["networkMode"] = "awsvpc";
         r["proxyConfiguration"] = {{"type", "APPMESH"}, {"containerName", "envoy"}};
       },
       ErrorCode::kClient, "does not match any container"},
      {"integer overflow", [](json& r) { app(r)["memory"] = 4294967296LL; }, ErrorCode::kInvalidParameter, "memory"},
      {"float integer", [](json& r) { app(r)["memory"] = 512.5; }, ErrorCode::kInvalidParameter, "memory"},
      {"container not object", [](json& r) { r["containerDefinitions"] = {"app"}; }, ErrorCode::kInvalidParameter,
       "containerDefinitions[0]"},
      // Fargate.
      {"fargate bridge", [](json& r) { r.erase("networkMode"); }, ErrorCode::kClient,
       "Fargate only supports network mode \u2018awsvpc\u2019.", [] { return fargateRequest(); }},
      {"fargate no cpu", [](json& r) { r.erase("cpu"); }, ErrorCode::kClient,
       "Fargate requires that 'cpu' be defined at the task level.", [] { return fargateRequest(); }},
      {"fargate no memory", [](json& r) { r.erase("memory"); }, ErrorCode::kClient,
       "Fargate requires that 'memory' be defined at the task level.", [] { return fargateRequest(); }},
      {"fargate bad size", [](json& r) { r["memory"] = "1000"; }, ErrorCode::kClient,
       "No Fargate configuration exists for given values.", [] { return fargateRequest(); }},
      {"fargate windows small cpu",
       [](json& r) { r["runtimePlatform"] = {{"operatingSystemFamily", "WINDOWS_SERVER_2019_CORE"}}; },
       ErrorCode::kClient, "No Fargate configuration exists for given values.", [] { return fargateRequest(); }},
      {"fargate ipc", [](json& r) { r["ipcMode"] = "task"; }, ErrorCode::kClient,
       "Tasks using the Fargate launch type do not support ipcMode.", [] { return fargateRequest(); }},
      {"fargate source path",
       [](json& r) { r["volumes"] = {{{"name", "v"}, {"host", {{"sourcePath", "/data"}}}}}; }, ErrorCode::kClient,
       "Fargate compatible task definitions do not support sourcePath", [] { return fargateRequest(); }},
      {"fargate privileged", [](json& r) { app(r)["privileged"] = true; }, ErrorCode::kClient, "privileged",
       [] { return fargateRequest(); }},
      {"fargate log driver", [](json& r) { app(r)["logConfiguration"] = {{"logDriver", "json-file"}}; },
       ErrorCode::kClient, "json-file is not a valid log driver", [] { return fargateRequest(); }},
      {"fargate awslogs without role",
       [](json& r) {
         app(r)["logConfiguration"] = {{"logDriver", "awslogs"},
                                       {"options", {{"awslogs-group", "g"}, {"awslogs-region", "us-east-1"}}}};
       },
       ErrorCode::kClient, "execution role ARN to support log driver awslogs", [] { return fargateRequest(); }},
      {"fargate stop timeout", [](json& r) { app(r)["stopTimeout"] = 121; }, ErrorCode::kClient, "stopTimeout of 120",
       [] { return fargateRequest(); }},
      {"fargate shm", [](json& r) { app(r)["linuxParameters"] = {{"sharedMemorySize", 64}}; }, ErrorCode::kClient,
       "sharedMemorySize", [] { return fargateRequest(); }},
      {"fargate task cpu below container",
       [](json& r) { app(r)["cpu"] = 512; }, ErrorCode::kClient,
       "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.",
       [] { return fargateRequest(); }},
      {"external awsvpc",
       [](json& r) {
         r["requiresCompatibilities"] = {"EXTERNAL"};
         r["networkMode"] = "awsvpc";
       },
       ErrorCode::kClient, "External launch type do not support network mode 'awsvpc'"},
  };
}

TEST(TaskDefinitionValidationTest, RejectsInvalidRequests) {
  for (const RejectCase& tc : rejectCases()) {
    json request = tc.base();
    tc.mutate(request);
    auto result = normalizeTaskDefinition(request);
    ASSERT_FALSE(result.ok()) << tc.name << " was accepted: " << result->dump();
    EXPECT_EQ(result.error().code, tc.code) << tc.name << ": " << result.error().message;
    EXPECT_THAT(result.error().message, ::testing::HasSubstr(tc.messagePart)) << tc.name;
  }
}

// ---------------------------------------------------------------------------
// Table-driven acceptances.
// ---------------------------------------------------------------------------
struct AcceptCase {
  std::string name;
  std::function<void(json&)> mutate;
  std::function<json()> base = minimalRequest;
};

TEST(TaskDefinitionValidationTest, AcceptsValidRequests) {
  const std::vector<AcceptCase> cases = {
      {"minimal", [](json&) {}},
      {"reservation only", [](json& r) { app(r).erase("memory"); app(r)["memoryReservation"] = 128; }},
      {"memory equals reservation", [](json& r) { app(r)["memoryReservation"] = 512; }},
      {"task memory instead of container", [](json& r) { app(r).erase("memory"); r["memory"] = "1GB"; }},
      {"255 char names",
       [](json& r) {
         r["family"] = std::string(255, 'f');
         app(r)["name"] = std::string(255, 'n');
       }},
      {"bridge static and dynamic ports",
       [](json& r) { app(r)["portMappings"] = {{{"containerPort", 80}, {"hostPort", 8080}}, {{"containerPort", 81}}, {{"containerPort", 82}, {"hostPort", 0}}}; }},
      {"same port tcp and udp",
       [](json& r) {
         r["networkMode"] = "awsvpc";
         app(r)["portMappings"] = {{{"containerPort", 53}, {"protocol", "tcp"}}, {{"containerPort", 53}, {"protocol", "udp"}}};
       }},
      {"awsvpc host port zero", [](json& r) { r["networkMode"] = "awsvpc"; app(r)["portMappings"] = {{{"containerPort", 80}, {"hostPort", 0}}}; }},
      {"host mode matching", [](json& r) { r["networkMode"] = "host"; app(r)["portMappings"] = {{{"containerPort", 80}, {"hostPort", 80}}}; }},
      {"none mode", [](json& r) { r["networkMode"] = "none"; }},
      {"links in bridge",
       [](json& r) {
         addContainer(r, {{"name", "db"}, {"image", "postgres"}, {"memory", 256}});
         app(r)["links"] = {"db:database"};
       }},
      {"dependency chain",
       [](json& r) {
         addContainer(r, {{"name", "init"}, {"image", "busybox"}, {"memory", 16}, {"essential", false}});
         addContainer(r, {{"name", "db"}, {"image", "postgres"}, {"memory", 256},
                          {"healthCheck", {{"command", {"CMD", "pg_isready"}}}},
                          {"dependsOn", {{{"containerName", "init"}, {"condition", "SUCCESS"}}}}});
         app(r)["dependsOn"] = {{{"containerName", "db"}, {"condition", "HEALTHY"}},
                                {{"containerName", "init"}, {"condition", "COMPLETE"}}};
       }},
      {"start on essential",
       [](json& r) {
         addContainer(r, {{"name", "b"}, {"image", "x"}, {"memory", 64}});
         app(r)["dependsOn"] = {{{"containerName", "b"}, {"condition", "START"}}};
       }},
      {"nulls are absent",
       [](json& r) {
         r["networkMode"] = nullptr;
         r["volumes"] = nullptr;
         app(r)["memoryReservation"] = nullptr;
         app(r)["logConfiguration"] = nullptr;
       }},
      {"fargate 1 vcpu string", [](json& r) { r["cpu"] = "1 vCPU"; r["memory"] = "2 GB"; },
       [] { return fargateRequest(); }},
      {"fargate with ecr and roles",
       [](json& r) {
         r["executionRoleArn"] = "arn:aws:iam::1:role/e";
         app(r)["image"] = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1";
       },
       [] { return fargateRequest(); }},
      {"ec2 and fargate", [](json& r) { r["requiresCompatibilities"] = {"EC2", "FARGATE"}; },
       [] { return fargateRequest("512", "1024"); }},
      {"external bridge", [](json& r) { r["requiresCompatibilities"] = {"EXTERNAL"}; }},
      {"full request", [](json&) {}, fullRequest},
  };
  for (const AcceptCase& tc : cases) {
    json request = tc.base();
    tc.mutate(request);
    auto result = normalizeTaskDefinition(request);
    EXPECT_TRUE(result.ok()) << tc.name << ": " << result.error().message << " [" << result.error().context << "]";
  }
}

TEST(TaskDefinitionValidationTest, FillsDescribeDefaults) {
  auto result = normalizeTaskDefinition(minimalRequest());
  ASSERT_TRUE(result.ok()) << result.error().message;
  const json expected = json::parse(R"({
    "family": "web",
    "containerDefinitions": [{
      "name": "app", "image": "nginx:1.25", "memory": 512, "cpu": 0, "essential": true,
      "portMappings": [], "environment": [], "mountPoints": [], "volumesFrom": []
    }],
    "volumes": [],
    "placementConstraints": [],
    "compatibilities": ["EXTERNAL", "EC2"],
    "requiresAttributes": []
  })");
  EXPECT_EQ(*result, expected) << result->dump(2);
  // AWS omits networkMode when the request relied on the bridge default.
  EXPECT_FALSE(result->contains("networkMode"));
}

TEST(TaskDefinitionValidationTest, NormalisesPortMappingsPerNetworkMode) {
  json request = minimalRequest();
  app(request)["portMappings"] = {{{"containerPort", 80}}, {{"containerPort", 443}, {"hostPort", 8443}, {"protocol", "udp"}}};
  auto bridge = normalizeTaskDefinition(request);
  ASSERT_TRUE(bridge.ok()) << bridge.error().message;
  EXPECT_EQ((*bridge)["containerDefinitions"][0]["portMappings"],
            json::parse(R"([{"containerPort":80,"hostPort":0,"protocol":"tcp"},
                            {"containerPort":443,"hostPort":8443,"protocol":"udp"}])"));

  for (const char* mode : {"awsvpc", "host"}) {
    json r = minimalRequest();
    r["networkMode"] = mode;
    app(r)["portMappings"] = {{{"containerPort", 80}}, {{"containerPort", 443}, {"hostPort", 443}}};
    auto result = normalizeTaskDefinition(r);
    ASSERT_TRUE(result.ok()) << mode << ": " << result.error().message;
    EXPECT_EQ((*result)["networkMode"], mode);
    EXPECT_EQ((*result)["containerDefinitions"][0]["portMappings"],
              json::parse(R"([{"containerPort":80,"hostPort":80,"protocol":"tcp"},
                              {"containerPort":443,"hostPort":443,"protocol":"tcp"}])"))
        << mode;
  }
}

TEST(TaskDefinitionValidationTest, FillsHealthCheckDefaults) {
  json request = minimalRequest();
  app(request)["healthCheck"] = {{"command", {"CMD-SHELL", "exit 0"}}};
  auto result = normalizeTaskDefinition(request);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ((*result)["containerDefinitions"][0]["healthCheck"],
            json::parse(R"({"command":["CMD-SHELL","exit 0"],"interval":30,"timeout":5,"retries":3})"));
}

TEST(TaskDefinitionValidationTest, NormalisesTaskCpuAndMemoryStrings) {
  const std::vector<std::tuple<std::string, std::string, std::string, std::string>> cases = {
      {"1 vCPU", "2GB", "1024", "2048"},
      {".25 vcpu", "0.5 GB", "256", "512"},
      {"256", "512", "256", "512"},
      {"2 vcpu", "4 GB", "2048", "4096"},
  };
  for (const auto& [cpu, memory, wantCpu, wantMemory] : cases) {
    json request = minimalRequest();
    request["cpu"] = cpu;
    request["memory"] = memory;
    auto result = normalizeTaskDefinition(request);
    ASSERT_TRUE(result.ok()) << cpu << "/" << memory << ": " << result.error().message;
    EXPECT_EQ((*result)["cpu"], wantCpu);
    EXPECT_EQ((*result)["memory"], wantMemory);
  }
}

TEST(TaskDefinitionValidationTest, AcceptsEveryFargateSizeAndRejectsOthers) {
  const std::vector<std::int64_t> cpus = {256, 512, 1024, 2048, 4096, 8192, 16384};
  std::size_t accepted = 0;
  for (auto cpu : cpus) {
    for (auto memory : fargateMemoryOptions(cpu)) {
      auto result = normalizeTaskDefinition(fargateRequest(std::to_string(cpu), std::to_string(memory)));
      ASSERT_TRUE(result.ok()) << cpu << "/" << memory << ": " << result.error().message;
      EXPECT_EQ((*result)["compatibilities"], json::array({"EC2", "FARGATE"}));
      ++accepted;
    }
  }
  EXPECT_EQ(accepted, 74u);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"256", "4096"}, {"512", "512"}, {"1024", "9216"}, {"2048", "3072"}, {"4096", "31744"},
      {"8192", "18432"}, {"16384", "36864"}, {"128", "512"}, {"32768", "65536"}, {"3 vcpu", "6GB"}};
  for (const auto& [cpu, memory] : bad) {
    auto result = normalizeTaskDefinition(fargateRequest(cpu, memory));
    ASSERT_FALSE(result.ok()) << cpu << "/" << memory;
    EXPECT_EQ(result.error().code, ErrorCode::kClient);
    EXPECT_EQ(result.error().message, "No Fargate configuration exists for given values.");
  }
}

TEST(TaskDefinitionValidationTest, ComputesCompatibilities) {
  auto compat = [](json request) {
    auto result = normalizeTaskDefinition(request);
    EXPECT_TRUE(result.ok()) << result.error().message;
    return result.ok() ? (*result)["compatibilities"] : json();
  };
  EXPECT_EQ(compat(minimalRequest()), json::array({"EXTERNAL", "EC2"}));
  json awsvpcNoSize = minimalRequest();
  awsvpcNoSize["networkMode"] = "awsvpc";
  EXPECT_EQ(compat(awsvpcNoSize), json::array({"EC2"}));
  json ec2Sized = fargateRequest("4096", "8192");
  ec2Sized["requiresCompatibilities"] = {"EC2"};
  EXPECT_EQ(compat(ec2Sized), json::array({"EC2", "FARGATE"}));
  json withEfs = minimalRequest();
  withEfs["volumes"] = {{{"name", "e"}, {"efsVolumeConfiguration", {{"fileSystemId", "fs-1"}}}}};
  EXPECT_EQ(compat(withEfs), json::array({"EC2"}));
}

std::set<std::string> attributeNames(const json& td) {
  std::set<std::string> names;
  for (const json& a : td["requiresAttributes"]) names.insert(a["name"].get<std::string>());
  return names;
}

TEST(TaskDefinitionValidationTest, DerivesRequiresAttributesLikeAws) {
  // Shape of a real Fargate definition (ECR image, awslogs, task + execution
  // roles); AWS reported exactly these eight attributes for it.
  json request = fargateRequest("1024", "2048");
  request["taskRoleArn"] = "arn:aws:iam::221008696644:role/ecs-task-role";
  request["executionRoleArn"] = "arn:aws:iam::221008696644:role/ecs-task-role";
  app(request)["image"] = "221008696644.dkr.ecr.ap-northeast-1.amazonaws.com/repo:2356a4f";
  app(request)["portMappings"] = {{{"containerPort", 3030}, {"hostPort", 3030}, {"protocol", "tcp"}}};
  app(request)["logConfiguration"] = {
      {"logDriver", "awslogs"},
      {"options", {{"awslogs-group", "/ecs/CloudSM"}, {"awslogs-region", "ap-northeast-1"}, {"awslogs-stream-prefix", "ecs"}}}};
  auto result = normalizeTaskDefinition(request);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(attributeNames(*result),
            (std::set<std::string>{"com.amazonaws.ecs.capability.logging-driver.awslogs",
                                   "ecs.capability.execution-role-awslogs", "com.amazonaws.ecs.capability.ecr-auth",
                                   "com.amazonaws.ecs.capability.docker-remote-api.1.19",
                                   "com.amazonaws.ecs.capability.task-iam-role", "ecs.capability.execution-role-ecr-pull",
                                   "com.amazonaws.ecs.capability.docker-remote-api.1.18", "ecs.capability.task-eni"}));
}

TEST(TaskDefinitionValidationTest, DerivesFeatureAttributes) {
  auto result = normalizeTaskDefinition(fullRequest());
  ASSERT_TRUE(result.ok()) << result.error().message;
  const auto names = attributeNames(*result);
  for (const char* expected :
       {"ecs.capability.container-health-check", "ecs.capability.container-ordering", "ecs.capability.env-files.s3",
        "ecs.capability.secrets.asm.environment-variables", "ecs.capability.secrets.ssm.bootstrap.log-driver",
        "ecs.capability.pid-ipc-namespace-sharing", "ecs.capability.efs", "ecs.capability.docker-plugin.local",
        "ecs.capability.firelens.fluentbit", "ecs.capability.firelens.options.config.file",
        "ecs.capability.private-registry-authentication.secretsmanager", "ecs.capability.task-eia",
        "com.amazonaws.ecs.capability.docker-remote-api.1.21", "com.amazonaws.ecs.capability.docker-remote-api.1.25",
        "com.amazonaws.ecs.capability.docker-remote-api.1.17"}) {
    EXPECT_TRUE(names.count(expected)) << expected;
  }
  // No duplicates even though two containers share features.
  EXPECT_EQ(names.size(), (*result)["requiresAttributes"].size());
  EXPECT_FALSE(names.count("ecs.capability.task-eni"));  // bridge
}

TEST(TaskDefinitionValidationTest, RoundTripsEveryContainerField) {
  const json request = fullRequest();
  auto result = normalizeTaskDefinition(request);
  ASSERT_TRUE(result.ok()) << result.error().message << " [" << result.error().context << "]";
  // The full container already carries every default, so it must come back unchanged.
  EXPECT_EQ((*result)["containerDefinitions"][0], request["containerDefinitions"][0])
      << json::diff(request["containerDefinitions"][0], (*result)["containerDefinitions"][0]).dump(2);
  for (const char* key : {"family", "taskRoleArn", "executionRoleArn", "networkMode", "requiresCompatibilities", "cpu",
                          "memory", "pidMode", "ipcMode", "placementConstraints", "inferenceAccelerators",
                          "ephemeralStorage", "runtimePlatform", "volumes"}) {
    EXPECT_EQ((*result)[key], request[key]) << key;
  }
  EXPECT_FALSE(result->contains("tags"));
}

TEST(TaskDefinitionValidationTest, RoundTripsProxyConfiguration) {
  json request = fargateRequest();
  addContainer(request, {{"name", "envoy"}, {"image", "envoy"}, {"user", "1337"}});
  request["proxyConfiguration"] = json::parse(R"({"type": "APPMESH", "containerName": "envoy",
      "properties": [{"name": "IgnoredUID", "value": "1337"}, {"name": "AppPorts", "value": "80"}]})");
  auto result = normalizeTaskDefinition(request);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ((*result)["proxyConfiguration"], request["proxyConfiguration"]);
  EXPECT_TRUE(attributeNames(*result).count("ecs.capability.aws-appmesh"));
}

TEST(TaskDefinitionValidationTest, DropsUnknownFields) {
  json request = minimalRequest();
  request["tags"] = {{{"key", "k"}, {"value", "v"}}};
  request["bogus"] = 1;
  request["revision"] = 9;                   // TaskDefinition output field, not a request field
  request["compatibilities"] = {"FARGATE"};  // derived, never taken from the request
  app(request)["madeUp"] = "x";
  app(request)["portMappings"] = {{{"containerPort", 80}, {"extra", true}}};
  app(request)["logConfiguration"] = {{"logDriver", "json-file"}, {"unknown", {1, 2}}};
  auto result = normalizeTaskDefinition(request);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_FALSE(result->contains("tags"));
  EXPECT_FALSE(result->contains("bogus"));
  EXPECT_FALSE(result->contains("revision"));
  EXPECT_EQ((*result)["compatibilities"], json::array({"EXTERNAL", "EC2"}));
  const json& c = (*result)["containerDefinitions"][0];
  EXPECT_FALSE(c.contains("madeUp"));
  EXPECT_FALSE(c["portMappings"][0].contains("extra"));
  EXPECT_EQ(c["logConfiguration"], json({{"logDriver", "json-file"}}));
}

// The model file ships with python3-botocore (see ARCHITECTURE.md); the test
// proves fullRequest() covers every ContainerDefinition member, recursively.
TEST(TaskDefinitionValidationTest, FullRequestCoversTheWholeContainerModel) {
  const std::filesystem::path model = "/usr/lib/python3/dist-packages/botocore/data/ecs/2014-11-13/service-2.json";
  if (!std::filesystem::exists(model)) GTEST_SKIP() << "botocore ECS model not installed";
  std::ifstream in(model);
  const json shapes = json::parse(in)["shapes"];
  const json container = fullRequest()["containerDefinitions"][0];
  std::vector<std::string> missing;
  std::function<void(const std::string&, const json&, const std::string&)> walk =
      [&](const std::string& shapeName, const json& value, const std::string& path) {
        const json& shape = shapes[shapeName];
        const std::string type = shape["type"];
        if (type == "structure") {
          for (const auto& [member, spec] : shape["members"].items()) {
            if (!value.contains(member)) {
              missing.push_back(path + "." + member);
              continue;
            }
            walk(spec["shape"], value[member], path + "." + member);
          }
        } else if (type == "list" && shapes[shape["member"]["shape"].get<std::string>()]["type"] == "structure") {
          if (value.empty()) {
            missing.push_back(path + "[]");
            return;
          }
          walk(shape["member"]["shape"], value[0], path + "[0]");
        }
      };
  walk("ContainerDefinition", container, "container");
  EXPECT_TRUE(missing.empty()) << ::testing::PrintToString(missing);
}

// ---------------------------------------------------------------------------
// Dependency cycles.
// ---------------------------------------------------------------------------
json withContainers(const std::vector<std::pair<std::string, std::vector<std::string>>>& graph) {
  json request = minimalRequest();
  request["containerDefinitions"] = json::array();
  for (const auto& [name, deps] : graph) {
    json c = {{"name", name}, {"image", "busybox"}, {"memory", 32}};
    for (const auto& d : deps) c["dependsOn"].push_back({{"containerName", d}, {"condition", "START"}});
    request["containerDefinitions"].push_back(c);
  }
  return request;
}

TEST(TaskDefinitionValidationTest, DetectsDependencyCycles) {
  struct Case {
    std::vector<std::pair<std::string, std::vector<std::string>>> graph;
    std::string cycle;  // empty = acyclic
  };
  const std::vector<Case> cases = {
      {{{"a", {"a"}}}, "a -> a"},
      {{{"a", {"b"}}, {"b", {"a"}}}, "a -> b -> a"},
      {{{"a", {"b"}}, {"b", {"c"}}, {"c", {"a"}}}, "a -> b -> c -> a"},
      {{{"x", {}}, {"a", {"b"}}, {"b", {"c"}}, {"c", {"b"}}}, "b -> c -> b"},
      {{{"a", {"b", "c"}}, {"b", {"d"}}, {"c", {"d"}}, {"d", {}}}, ""},
      {{{"a", {"b"}}, {"b", {}}, {"c", {"a", "b"}}}, ""},
  };
  for (const Case& tc : cases) {
    auto result = normalizeTaskDefinition(withContainers(tc.graph));
    if (tc.cycle.empty()) {
      EXPECT_TRUE(result.ok()) << result.error().message;
    } else {
      ASSERT_FALSE(result.ok()) << tc.cycle;
      EXPECT_EQ(result.error().code, ErrorCode::kClient);
      EXPECT_THAT(result.error().message, ::testing::HasSubstr("cycle: " + tc.cycle + "."));
    }
  }
}

// ---------------------------------------------------------------------------
// Robustness: any field replaced by any JSON type gives a value or an error,
// never an exception.
// ---------------------------------------------------------------------------
void collectPointers(const json& value, const json::json_pointer& at, std::vector<json::json_pointer>& out) {
  out.push_back(at);
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) collectPointers(child, at / key, out);
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) collectPointers(value[i], at / i, out);
  }
}

TEST(TaskDefinitionValidationTest, NeverThrowsOnWrongTypes) {
  const std::vector<json> replacements = {json(42),           json(-7),          json(3.5),        json("text"),
                                          json(true),         json(nullptr),     json::object(),   json::array(),
                                          json::array({1}),   json({{"k", 1}}),  json(4294967296LL),
                                          json(std::numeric_limits<std::uint64_t>::max())};
  for (const json& base : {fullRequest(), fargateRequest(), minimalRequest()}) {
    std::vector<json::json_pointer> pointers;
    collectPointers(base, json::json_pointer(), pointers);
    std::size_t errors = 0;
    for (const auto& ptr : pointers) {
      for (const json& replacement : replacements) {
        json request = base;
        if (ptr.empty()) {
          request = replacement;
        } else {
          request[ptr] = replacement;
        }
        Result<json> result = Error{};
        EXPECT_NO_THROW(result = normalizeTaskDefinition(request)) << ptr.to_string() << " = " << replacement.dump();
        if (!result.ok()) {
          ++errors;
          EXPECT_FALSE(result.error().message.empty()) << ptr.to_string();
          EXPECT_TRUE(result.error().code == ErrorCode::kClient || result.error().code == ErrorCode::kInvalidParameter)
              << ptr.to_string();
        }
      }
    }
    EXPECT_GT(errors, pointers.size());  // most replacements must be rejected
  }
}

TEST(TaskDefinitionValidationTest, IsDeterministic) {
  auto a = normalizeTaskDefinition(fullRequest());
  auto b = normalizeTaskDefinition(fullRequest());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->dump(), b->dump());
}

}  // namespace
}  // namespace berth::control
