#include "control/task_definition_validation.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "control/task_size.h"

namespace berth::control {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------
// Model schema: the shapes reachable from RegisterTaskDefinitionRequest in the
// ECS model (botocore 1.29, ecs/2014-11-13/service-2.json), generated from it.
// It decides which request fields are kept (unknown ones are dropped), their
// JSON types, enum values and required members.
// ---------------------------------------------------------------------------
enum class Kind { kString, kInteger, kBoolean, kList, kMap, kStructure };

struct ShapeRow {
  std::string_view name;
  Kind kind;
  std::string_view element;  // list member / map value shape
  std::string_view enums;    // '|'-separated enum values, empty if none
};
struct MemberRow {
  std::string_view shape;
  std::string_view member;
  std::string_view memberShape;
  bool required;
};

// Shapes (name, kind, element shape for lists/maps, enum values '|'-separated).
constexpr ShapeRow kShapes[] = {
    {"RegisterTaskDefinitionRequest", Kind::kStructure, "", ""},
    {"String", Kind::kString, "", ""},
    {"NetworkMode", Kind::kString, "", "bridge|host|awsvpc|none"},
    {"ContainerDefinitions", Kind::kList, "ContainerDefinition", ""},
    {"ContainerDefinition", Kind::kStructure, "", ""},
    {"RepositoryCredentials", Kind::kStructure, "", ""},
    {"Integer", Kind::kInteger, "", ""},
    {"BoxedInteger", Kind::kInteger, "", ""},
    {"StringList", Kind::kList, "String", ""},
    {"PortMappingList", Kind::kList, "PortMapping", ""},
    {"PortMapping", Kind::kStructure, "", ""},
    {"TransportProtocol", Kind::kString, "", "tcp|udp"},
    {"ApplicationProtocol", Kind::kString, "", "http|http2|grpc"},
    {"BoxedBoolean", Kind::kBoolean, "", ""},
    {"EnvironmentVariables", Kind::kList, "KeyValuePair", ""},
    {"KeyValuePair", Kind::kStructure, "", ""},
    {"EnvironmentFiles", Kind::kList, "EnvironmentFile", ""},
    {"EnvironmentFile", Kind::kStructure, "", ""},
    {"EnvironmentFileType", Kind::kString, "", "s3"},
    {"MountPointList", Kind::kList, "MountPoint", ""},
    {"MountPoint", Kind::kStructure, "", ""},
    {"VolumeFromList", Kind::kList, "VolumeFrom", ""},
    {"VolumeFrom", Kind::kStructure, "", ""},
    {"LinuxParameters", Kind::kStructure, "", ""},
    {"KernelCapabilities", Kind::kStructure, "", ""},
    {"DevicesList", Kind::kList, "Device", ""},
    {"Device", Kind::kStructure, "", ""},
    {"DeviceCgroupPermissions", Kind::kList, "DeviceCgroupPermission", ""},
    {"DeviceCgroupPermission", Kind::kString, "", "read|write|mknod"},
    {"TmpfsList", Kind::kList, "Tmpfs", ""},
    {"Tmpfs", Kind::kStructure, "", ""},
    {"SecretList", Kind::kList, "Secret", ""},
    {"Secret", Kind::kStructure, "", ""},
    {"ContainerDependencies", Kind::kList, "ContainerDependency", ""},
    {"ContainerDependency", Kind::kStructure, "", ""},
    {"ContainerCondition", Kind::kString, "", "START|COMPLETE|SUCCESS|HEALTHY"},
    {"HostEntryList", Kind::kList, "HostEntry", ""},
    {"HostEntry", Kind::kStructure, "", ""},
    {"DockerLabelsMap", Kind::kMap, "String", ""},
    {"UlimitList", Kind::kList, "Ulimit", ""},
    {"Ulimit", Kind::kStructure, "", ""},
    {"UlimitName", Kind::kString, "", "core|cpu|data|fsize|locks|memlock|msgqueue|nice|nofile|nproc|rss|rtprio|rttime|sigpending|stack"},
    {"LogConfiguration", Kind::kStructure, "", ""},
    {"LogDriver", Kind::kString, "", "json-file|syslog|journald|gelf|fluentd|awslogs|splunk|awsfirelens"},
    {"LogConfigurationOptionsMap", Kind::kMap, "String", ""},
    {"HealthCheck", Kind::kStructure, "", ""},
    {"SystemControls", Kind::kList, "SystemControl", ""},
    {"SystemControl", Kind::kStructure, "", ""},
    {"ResourceRequirements", Kind::kList, "ResourceRequirement", ""},
    {"ResourceRequirement", Kind::kStructure, "", ""},
    {"ResourceType", Kind::kString, "", "GPU|InferenceAccelerator"},
    {"FirelensConfiguration", Kind::kStructure, "", ""},
    {"FirelensConfigurationType", Kind::kString, "", "fluentd|fluentbit"},
    {"FirelensConfigurationOptionsMap", Kind::kMap, "String", ""},
    {"VolumeList", Kind::kList, "Volume", ""},
    {"Volume", Kind::kStructure, "", ""},
    {"HostVolumeProperties", Kind::kStructure, "", ""},
    {"DockerVolumeConfiguration", Kind::kStructure, "", ""},
    {"Scope", Kind::kString, "", "task|shared"},
    {"StringMap", Kind::kMap, "String", ""},
    {"EFSVolumeConfiguration", Kind::kStructure, "", ""},
    {"EFSTransitEncryption", Kind::kString, "", "ENABLED|DISABLED"},
    {"EFSAuthorizationConfig", Kind::kStructure, "", ""},
    {"EFSAuthorizationConfigIAM", Kind::kString, "", "ENABLED|DISABLED"},
    {"FSxWindowsFileServerVolumeConfiguration", Kind::kStructure, "", ""},
    {"FSxWindowsFileServerAuthorizationConfig", Kind::kStructure, "", ""},
    {"TaskDefinitionPlacementConstraints", Kind::kList, "TaskDefinitionPlacementConstraint", ""},
    {"TaskDefinitionPlacementConstraint", Kind::kStructure, "", ""},
    {"TaskDefinitionPlacementConstraintType", Kind::kString, "", "memberOf"},
    {"CompatibilityList", Kind::kList, "Compatibility", ""},
    {"Compatibility", Kind::kString, "", "EC2|FARGATE|EXTERNAL"},
    {"Tags", Kind::kList, "Tag", ""},
    {"Tag", Kind::kStructure, "", ""},
    {"TagKey", Kind::kString, "", ""},
    {"TagValue", Kind::kString, "", ""},
    {"PidMode", Kind::kString, "", "host|task"},
    {"IpcMode", Kind::kString, "", "host|task|none"},
    {"ProxyConfiguration", Kind::kStructure, "", ""},
    {"ProxyConfigurationType", Kind::kString, "", "APPMESH"},
    {"ProxyConfigurationProperties", Kind::kList, "KeyValuePair", ""},
    {"InferenceAccelerators", Kind::kList, "InferenceAccelerator", ""},
    {"InferenceAccelerator", Kind::kStructure, "", ""},
    {"EphemeralStorage", Kind::kStructure, "", ""},
    {"RuntimePlatform", Kind::kStructure, "", ""},
    {"CPUArchitecture", Kind::kString, "", "X86_64|ARM64"},
    {"OSFamily", Kind::kString, "", "WINDOWS_SERVER_2019_FULL|WINDOWS_SERVER_2019_CORE|WINDOWS_SERVER_2016_FULL|WINDOWS_SERVER_2004_CORE|WINDOWS_SERVER_2022_CORE|WINDOWS_SERVER_2022_FULL|WINDOWS_SERVER_20H2_CORE|LINUX"},
};
// Structure members (structure, member, member shape, required).
constexpr MemberRow kMembers[] = {
    {"RegisterTaskDefinitionRequest", "family", "String", true},
    {"RegisterTaskDefinitionRequest", "taskRoleArn", "String", false},
    {"RegisterTaskDefinitionRequest", "executionRoleArn", "String", false},
    {"RegisterTaskDefinitionRequest", "networkMode", "NetworkMode", false},
    {"RegisterTaskDefinitionRequest", "containerDefinitions", "ContainerDefinitions", true},
    {"RegisterTaskDefinitionRequest", "volumes", "VolumeList", false},
    {"RegisterTaskDefinitionRequest", "placementConstraints", "TaskDefinitionPlacementConstraints", false},
    {"RegisterTaskDefinitionRequest", "requiresCompatibilities", "CompatibilityList", false},
    {"RegisterTaskDefinitionRequest", "cpu", "String", false},
    {"RegisterTaskDefinitionRequest", "memory", "String", false},
    {"RegisterTaskDefinitionRequest", "tags", "Tags", false},
    {"RegisterTaskDefinitionRequest", "pidMode", "PidMode", false},
    {"RegisterTaskDefinitionRequest", "ipcMode", "IpcMode", false},
    {"RegisterTaskDefinitionRequest", "proxyConfiguration", "ProxyConfiguration", false},
    {"RegisterTaskDefinitionRequest", "inferenceAccelerators", "InferenceAccelerators", false},
    {"RegisterTaskDefinitionRequest", "ephemeralStorage", "EphemeralStorage", false},
    {"RegisterTaskDefinitionRequest", "runtimePlatform", "RuntimePlatform", false},
    {"ContainerDefinition", "name", "String", false},
    {"ContainerDefinition", "image", "String", false},
    {"ContainerDefinition", "repositoryCredentials", "RepositoryCredentials", false},
    {"ContainerDefinition", "cpu", "Integer", false},
    {"ContainerDefinition", "memory", "BoxedInteger", false},
    {"ContainerDefinition", "memoryReservation", "BoxedInteger", false},
    {"ContainerDefinition", "links", "StringList", false},
    {"ContainerDefinition", "portMappings", "PortMappingList", false},
    {"ContainerDefinition", "essential", "BoxedBoolean", false},
    {"ContainerDefinition", "entryPoint", "StringList", false},
    {"ContainerDefinition", "command", "StringList", false},
    {"ContainerDefinition", "environment", "EnvironmentVariables", false},
    {"ContainerDefinition", "environmentFiles", "EnvironmentFiles", false},
    {"ContainerDefinition", "mountPoints", "MountPointList", false},
    {"ContainerDefinition", "volumesFrom", "VolumeFromList", false},
    {"ContainerDefinition", "linuxParameters", "LinuxParameters", false},
    {"ContainerDefinition", "secrets", "SecretList", false},
    {"ContainerDefinition", "dependsOn", "ContainerDependencies", false},
    {"ContainerDefinition", "startTimeout", "BoxedInteger", false},
    {"ContainerDefinition", "stopTimeout", "BoxedInteger", false},
    {"ContainerDefinition", "hostname", "String", false},
    {"ContainerDefinition", "user", "String", false},
    {"ContainerDefinition", "workingDirectory", "String", false},
    {"ContainerDefinition", "disableNetworking", "BoxedBoolean", false},
    {"ContainerDefinition", "privileged", "BoxedBoolean", false},
    {"ContainerDefinition", "readonlyRootFilesystem", "BoxedBoolean", false},
    {"ContainerDefinition", "dnsServers", "StringList", false},
    {"ContainerDefinition", "dnsSearchDomains", "StringList", false},
    {"ContainerDefinition", "extraHosts", "HostEntryList", false},
    {"ContainerDefinition", "dockerSecurityOptions", "StringList", false},
    {"ContainerDefinition", "interactive", "BoxedBoolean", false},
    {"ContainerDefinition", "pseudoTerminal", "BoxedBoolean", false},
    {"ContainerDefinition", "dockerLabels", "DockerLabelsMap", false},
    {"ContainerDefinition", "ulimits", "UlimitList", false},
    {"ContainerDefinition", "logConfiguration", "LogConfiguration", false},
    {"ContainerDefinition", "healthCheck", "HealthCheck", false},
    {"ContainerDefinition", "systemControls", "SystemControls", false},
    {"ContainerDefinition", "resourceRequirements", "ResourceRequirements", false},
    {"ContainerDefinition", "firelensConfiguration", "FirelensConfiguration", false},
    {"RepositoryCredentials", "credentialsParameter", "String", true},
    {"PortMapping", "containerPort", "BoxedInteger", false},
    {"PortMapping", "hostPort", "BoxedInteger", false},
    {"PortMapping", "protocol", "TransportProtocol", false},
    {"PortMapping", "name", "String", false},
    {"PortMapping", "appProtocol", "ApplicationProtocol", false},
    {"KeyValuePair", "name", "String", false},
    {"KeyValuePair", "value", "String", false},
    {"EnvironmentFile", "value", "String", true},
    {"EnvironmentFile", "type", "EnvironmentFileType", true},
    {"MountPoint", "sourceVolume", "String", false},
    {"MountPoint", "containerPath", "String", false},
    {"MountPoint", "readOnly", "BoxedBoolean", false},
    {"VolumeFrom", "sourceContainer", "String", false},
    {"VolumeFrom", "readOnly", "BoxedBoolean", false},
    {"LinuxParameters", "capabilities", "KernelCapabilities", false},
    {"LinuxParameters", "devices", "DevicesList", false},
    {"LinuxParameters", "initProcessEnabled", "BoxedBoolean", false},
    {"LinuxParameters", "sharedMemorySize", "BoxedInteger", false},
    {"LinuxParameters", "tmpfs", "TmpfsList", false},
    {"LinuxParameters", "maxSwap", "BoxedInteger", false},
    {"LinuxParameters", "swappiness", "BoxedInteger", false},
    {"KernelCapabilities", "add", "StringList", false},
    {"KernelCapabilities", "drop", "StringList", false},
    {"Device", "hostPath", "String", true},
    {"Device", "containerPath", "String", false},
    {"Device", "permissions", "DeviceCgroupPermissions", false},
    {"Tmpfs", "containerPath", "String", true},
    {"Tmpfs", "size", "Integer", true},
    {"Tmpfs", "mountOptions", "StringList", false},
    {"Secret", "name", "String", true},
    {"Secret", "valueFrom", "String", true},
    {"ContainerDependency", "containerName", "String", true},
    {"ContainerDependency", "condition", "ContainerCondition", true},
    {"HostEntry", "hostname", "String", true},
    {"HostEntry", "ipAddress", "String", true},
    {"Ulimit", "name", "UlimitName", true},
    {"Ulimit", "softLimit", "Integer", true},
    {"Ulimit", "hardLimit", "Integer", true},
    {"LogConfiguration", "logDriver", "LogDriver", true},
    {"LogConfiguration", "options", "LogConfigurationOptionsMap", false},
    {"LogConfiguration", "secretOptions", "SecretList", false},
    {"HealthCheck", "command", "StringList", true},
    {"HealthCheck", "interval", "BoxedInteger", false},
    {"HealthCheck", "timeout", "BoxedInteger", false},
    {"HealthCheck", "retries", "BoxedInteger", false},
    {"HealthCheck", "startPeriod", "BoxedInteger", false},
    {"SystemControl", "namespace", "String", false},
    {"SystemControl", "value", "String", false},
    {"ResourceRequirement", "value", "String", true},
    {"ResourceRequirement", "type", "ResourceType", true},
    {"FirelensConfiguration", "type", "FirelensConfigurationType", true},
    {"FirelensConfiguration", "options", "FirelensConfigurationOptionsMap", false},
    {"Volume", "name", "String", false},
    {"Volume", "host", "HostVolumeProperties", false},
    {"Volume", "dockerVolumeConfiguration", "DockerVolumeConfiguration", false},
    {"Volume", "efsVolumeConfiguration", "EFSVolumeConfiguration", false},
    {"Volume", "fsxWindowsFileServerVolumeConfiguration", "FSxWindowsFileServerVolumeConfiguration", false},
    {"HostVolumeProperties", "sourcePath", "String", false},
    {"DockerVolumeConfiguration", "scope", "Scope", false},
    {"DockerVolumeConfiguration", "autoprovision", "BoxedBoolean", false},
    {"DockerVolumeConfiguration", "driver", "String", false},
    {"DockerVolumeConfiguration", "driverOpts", "StringMap", false},
    {"DockerVolumeConfiguration", "labels", "StringMap", false},
    {"EFSVolumeConfiguration", "fileSystemId", "String", true},
    {"EFSVolumeConfiguration", "rootDirectory", "String", false},
    {"EFSVolumeConfiguration", "transitEncryption", "EFSTransitEncryption", false},
    {"EFSVolumeConfiguration", "transitEncryptionPort", "BoxedInteger", false},
    {"EFSVolumeConfiguration", "authorizationConfig", "EFSAuthorizationConfig", false},
    {"EFSAuthorizationConfig", "accessPointId", "String", false},
    {"EFSAuthorizationConfig", "iam", "EFSAuthorizationConfigIAM", false},
    {"FSxWindowsFileServerVolumeConfiguration", "fileSystemId", "String", true},
    {"FSxWindowsFileServerVolumeConfiguration", "rootDirectory", "String", true},
    {"FSxWindowsFileServerVolumeConfiguration", "authorizationConfig", "FSxWindowsFileServerAuthorizationConfig", true},
    {"FSxWindowsFileServerAuthorizationConfig", "credentialsParameter", "String", true},
    {"FSxWindowsFileServerAuthorizationConfig", "domain", "String", true},
    {"TaskDefinitionPlacementConstraint", "type", "TaskDefinitionPlacementConstraintType", false},
    {"TaskDefinitionPlacementConstraint", "expression", "String", false},
    {"Tag", "key", "TagKey", false},
    {"Tag", "value", "TagValue", false},
    {"ProxyConfiguration", "type", "ProxyConfigurationType", false},
    {"ProxyConfiguration", "containerName", "String", true},
    {"ProxyConfiguration", "properties", "ProxyConfigurationProperties", false},
    {"InferenceAccelerator", "deviceName", "String", true},
    {"InferenceAccelerator", "deviceType", "String", true},
    {"EphemeralStorage", "sizeInGiB", "Integer", true},
    {"RuntimePlatform", "cpuArchitecture", "CPUArchitecture", false},
    {"RuntimePlatform", "operatingSystemFamily", "OSFamily", false},
};

struct Member {
  std::string_view name;
  std::string_view shape;
  bool required;
};
struct Shape {
  Kind kind = Kind::kString;
  std::string_view element;
  std::vector<std::string_view> enums;
  std::vector<Member> members;  // model order
};

class Schema {
 public:
  Schema() {
    for (const ShapeRow& row : kShapes) {
      Shape s;
      s.kind = row.kind;
      s.element = row.element;
      std::string_view rest = row.enums;
      while (!rest.empty()) {
        auto bar = rest.find('|');
        s.enums.push_back(rest.substr(0, bar));
        rest = bar == std::string_view::npos ? std::string_view{} : rest.substr(bar + 1);
      }
      shapes_.emplace(row.name, std::move(s));
    }
    for (const MemberRow& row : kMembers) {
      shapes_.at(row.shape).members.push_back(Member{row.member, row.memberShape, row.required});
    }
  }
  const Shape& shape(std::string_view name) const { return shapes_.at(name); }

 private:
  std::unordered_map<std::string_view, Shape> shapes_;
};

const Schema& schema() {
  static const Schema kSchema;
  return kSchema;
}

// ---------------------------------------------------------------------------
// Errors. ClientException for rules, InvalidParameterException for malformed
// values. Where a message is AWS's own wording it is marked "(AWS)".
// ---------------------------------------------------------------------------
Error clientError(std::string message, std::string context = {}) {
  return Error::make(ErrorCode::kClient, std::move(message), std::move(context));
}
Error invalidParameter(std::string message, std::string context = {}) {
  return Error::make(ErrorCode::kInvalidParameter, std::move(message), std::move(context));
}

// "containerDefinitions[0].portMappings[1].protocol" -> AWS's validation path
// "containerDefinitions.1.member.portMappings.2.member.protocol".
std::string awsPath(std::string_view path) {
  std::string out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '[') {
      auto close = path.find(']', i);
      if (close == std::string_view::npos) break;
      long index = std::strtol(std::string(path.substr(i + 1, close - i - 1)).c_str(), nullptr, 10);
      out += "." + std::to_string(index + 1) + ".member";
      i = close + 1;
    } else {
      out += path[i++];
    }
  }
  return out;
}

std::string joinEnums(const std::vector<std::string_view>& values) {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ", ";
    out += values[i];
  }
  return out;
}

std::string_view kindName(Kind k) {
  switch (k) {
    case Kind::kString: return "string";
    case Kind::kInteger: return "integer";
    case Kind::kBoolean: return "boolean";
    case Kind::kList: return "list";
    case Kind::kMap: return "map";
    case Kind::kStructure: return "structure";
  }
  return "value";
}

Error typeError(const std::string& path, Kind expected) {
  return invalidParameter("Invalid type for parameter " + path + ", expected " + std::string(kindName(expected)) + ".",
                          path);
}

// Keeps exactly the model's fields with the model's JSON types. JSON null is
// treated as absent (the AWS SDKs never send it; other clients may).
Result<json> sanitize(const json& value, std::string_view shapeName, const std::string& path) {
  const Shape& shape = schema().shape(shapeName);
  switch (shape.kind) {
    case Kind::kString: {
      if (!value.is_string()) return typeError(path, shape.kind);
      if (!shape.enums.empty()) {
        const auto& s = value.get_ref<const std::string&>();
        if (std::find(shape.enums.begin(), shape.enums.end(), s) == shape.enums.end()) {
          return invalidParameter("1 validation error detected: Value '" + s + "' at '" + awsPath(path) +
                                      "' failed to satisfy constraint: Member must satisfy enum value set: [" +
                                      joinEnums(shape.enums) + "]",
                                  path);
        }
      }
      return value;
    }
    case Kind::kInteger: {
      // Model integers are Java ints.
      if (value.is_number_unsigned()) {
        if (value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT32_MAX)) return typeError(path, shape.kind);
        return json(value.get<std::int64_t>());
      }
      if (!value.is_number_integer()) return typeError(path, shape.kind);
      const auto v = value.get<std::int64_t>();
      if (v < INT32_MIN || v > INT32_MAX) return typeError(path, shape.kind);
      return value;
    }
    case Kind::kBoolean:
      if (!value.is_boolean()) return typeError(path, shape.kind);
      return value;
    case Kind::kList: {
      if (!value.is_array()) return typeError(path, shape.kind);
      json out = json::array();
      for (std::size_t i = 0; i < value.size(); ++i) {
        auto element = sanitize(value[i], shape.element, path + "[" + std::to_string(i) + "]");
        if (!element.ok()) return element.takeError();
        out.push_back(std::move(*element));
      }
      return out;
    }
    case Kind::kMap: {
      if (!value.is_object()) return typeError(path, shape.kind);
      json out = json::object();
      for (const auto& [key, v] : value.items()) {
        if (v.is_null()) continue;
        auto element = sanitize(v, shape.element, path + "." + key);
        if (!element.ok()) return element.takeError();
        out[key] = std::move(*element);
      }
      return out;
    }
    case Kind::kStructure: {
      if (!value.is_object()) return typeError(path, shape.kind);
      json out = json::object();
      for (const Member& m : shape.members) {
        const std::string memberPath = path.empty() ? std::string(m.name) : path + "." + std::string(m.name);
        auto it = value.find(m.name);
        if (it == value.end() || it->is_null()) {
          if (m.required) {
            return invalidParameter("1 validation error detected: Value null at '" + awsPath(memberPath) +
                                        "' failed to satisfy constraint: Member must not be null",
                                    memberPath);
          }
          continue;
        }
        auto member = sanitize(*it, m.shape, memberPath);
        if (!member.ok()) return member.takeError();
        out[std::string(m.name)] = std::move(*member);
      }
      return out;
    }
  }
  return typeError(path, shape.kind);
}

// ---------------------------------------------------------------------------
// Accessors over a sanitized document (types already checked).
// ---------------------------------------------------------------------------
const json* field(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}
std::optional<std::string> str(const json& obj, std::string_view key) {
  const json* v = field(obj, key);
  if (!v || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}
std::optional<std::int64_t> integer(const json& obj, std::string_view key) {
  const json* v = field(obj, key);
  if (!v || !v->is_number_integer()) return std::nullopt;
  return v->get<std::int64_t>();
}
bool flag(const json& obj, std::string_view key, bool fallback) {
  const json* v = field(obj, key);
  if (!v || !v->is_boolean()) return fallback;
  return v->get<bool>();
}
// Lists and maps of a sanitized document; empty when absent.
const json& listOrEmpty(const json& obj, std::string_view key) {
  static const json kEmpty = json::array();
  const json* v = field(obj, key);
  return v && v->is_array() ? *v : kEmpty;
}
bool nonEmpty(const json& obj, std::string_view key) {
  const json* v = field(obj, key);
  return v && !v->empty();
}

// [A-Za-z0-9_-]{1,255}: family, container and volume names (ECS model docs).
bool isResourceName(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

bool isAbsolutePath(std::string_view s) { return !s.empty() && s.front() == '/'; }

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:tag" (also .com.cn and
// FIPS endpoints): images that need ECR credentials to pull.
bool isPrivateEcrImage(std::string_view image) {
  auto slash = image.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view host = image.substr(0, slash);
  auto dot = host.find('.');
  if (dot != 12) return false;
  for (std::size_t i = 0; i < 12; ++i) {
    if (host[i] < '0' || host[i] > '9') return false;
  }
  std::string_view rest = host.substr(dot);
  if (rest.rfind(".dkr.ecr", 0) != 0) return false;
  return rest.find(".amazonaws.com") != std::string_view::npos;
}

// ---------------------------------------------------------------------------
// Task-wide facts the per-container rules need.
// ---------------------------------------------------------------------------
struct TaskFacts {
  std::string networkMode = "bridge";  // effective mode (bridge when omitted)
  bool requiresFargate = false;
  bool requiresExternal = false;
  bool windows = false;
  std::optional<std::int64_t> cpu;     // CPU units
  std::optional<std::int64_t> memory;  // MiB
  std::map<std::string, std::size_t> containerIndex;
  std::set<std::string> volumeNames;
  std::set<std::string> acceleratorNames;
};

constexpr std::string_view kLinuxCapabilities[] = {
    "ALL",          "AUDIT_CONTROL", "AUDIT_WRITE",      "BLOCK_SUSPEND", "CHOWN",        "DAC_OVERRIDE",
    "DAC_READ_SEARCH", "FOWNER",     "FSETID",           "IPC_LOCK",      "IPC_OWNER",    "KILL",
    "LEASE",        "LINUX_IMMUTABLE", "MAC_ADMIN",      "MAC_OVERRIDE",  "MKNOD",        "NET_ADMIN",
    "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW",      "SETFCAP",       "SETGID",       "SETPCAP",
    "SETUID",       "SYS_ADMIN",     "SYS_BOOT",         "SYS_CHROOT",    "SYS_MODULE",   "SYS_NICE",
    "SYS_PACCT",    "SYS_PTRACE",    "SYS_RAWIO",        "SYS_RESOURCE",  "SYS_TIME",     "SYS_TTY_CONFIG",
    "SYSLOG",       "WAKE_ALARM"};

// Docker refuses memory limits below 6 MiB (Docker 20.10+; ECS docs for
// memory/memoryReservation), so such a definition could never start.
constexpr std::int64_t kMinContainerMemoryMiB = 6;
constexpr std::size_t kMaxEnvironmentFiles = 10;
constexpr std::int64_t kFargateMaxStopTimeout = 120;
constexpr std::int64_t kMinEphemeralStorageGiB = 21;
constexpr std::int64_t kMaxEphemeralStorageGiB = 200;

// Health check defaults and ranges (ECS HealthCheck shape docs).
constexpr std::int64_t kDefaultHealthInterval = 30;
constexpr std::int64_t kDefaultHealthTimeout = 5;
constexpr std::int64_t kDefaultHealthRetries = 3;

Status checkRange(const json& obj, std::string_view key, std::int64_t lo, std::int64_t hi, const std::string& what,
                  const std::string& context) {
  auto v = integer(obj, key);
  if (v && (*v < lo || *v > hi)) {
    return clientError(what + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ".",
                       context);
  }
  return okStatus();
}

// ---------------------------------------------------------------------------
// Container checks and defaults.
// ---------------------------------------------------------------------------
Status validateHealthCheck(json& hc, const std::string& name, const std::string& ctx) {
  const json& command = listOrEmpty(hc, "command");
  if (command.empty() || !command[0].is_string() ||
      (command[0].get<std::string>() != "CMD" && command[0].get<std::string>() != "CMD-SHELL")) {
    return clientError("Invalid health check for container '" + name +
                           "'. The command must start with CMD or CMD-SHELL.",
                       ctx + ".command");
  }
  if (command.size() < 2) {
    return clientError("Invalid health check for container '" + name +
                           "'. The command must have at least one argument after " + command[0].get<std::string>() +
                           ".",
                       ctx + ".command");
  }
  BERTH_TRY(checkRange(hc, "interval", 5, 300, "Health check interval for container '" + name + "'",
                       ctx + ".interval"));
  BERTH_TRY(checkRange(hc, "timeout", 2, 60, "Health check timeout for container '" + name + "'", ctx + ".timeout"));
  BERTH_TRY(checkRange(hc, "retries", 1, 10, "Health check retries for container '" + name + "'", ctx + ".retries"));
  BERTH_TRY(checkRange(hc, "startPeriod", 0, 300, "Health check startPeriod for container '" + name + "'",
                       ctx + ".startPeriod"));
  if (!field(hc, "interval")) hc["interval"] = kDefaultHealthInterval;
  if (!field(hc, "timeout")) hc["timeout"] = kDefaultHealthTimeout;
  if (!field(hc, "retries")) hc["retries"] = kDefaultHealthRetries;
  return okStatus();
}

Status validatePortMappings(json& c, const std::string& name, const TaskFacts& facts, const std::string& ctx) {
  json& mappings = c["portMappings"];
  if (!mappings.empty() && facts.networkMode == "none") {
    return clientError("Port mappings are not supported when networkMode=none.", ctx + ".portMappings");
  }
  std::set<std::pair<std::string, std::int64_t>> containerPorts;
  for (std::size_t i = 0; i < mappings.size(); ++i) {
    json& pm = mappings[i];
    const std::string pctx = ctx + ".portMappings[" + std::to_string(i) + "]";
    auto containerPort = integer(pm, "containerPort");
    if (!containerPort || *containerPort < 1 || *containerPort > 65535) {
      // (AWS)
      return clientError("Invalid 'containerPort' setting for container '" + name + "'.", pctx + ".containerPort");
    }
    if (!field(pm, "protocol")) pm["protocol"] = "tcp";
    const std::string protocol = *str(pm, "protocol");
    auto hostPort = integer(pm, "hostPort");
    if (hostPort && (*hostPort < 0 || *hostPort > 65535)) {
      return clientError("Invalid 'hostPort' setting for container '" + name + "'.", pctx + ".hostPort");
    }
    if (facts.networkMode == "awsvpc" || facts.networkMode == "host") {
      // hostPort may be omitted (or 0); ECS then reports it equal to containerPort.
      if (hostPort && *hostPort != 0 && *hostPort != *containerPort) {
        // (AWS)
        return clientError("When networkMode=" + facts.networkMode +
                               ", the host ports and container ports in port mappings must match.",
                           pctx + ".hostPort");
      }
      pm["hostPort"] = *containerPort;
    } else if (!hostPort) {
      pm["hostPort"] = 0;  // bridge: 0 = dynamic port from the ephemeral range
    }
    if (!containerPorts.emplace(protocol, *containerPort).second) {
      // (AWS)
      return invalidParameter("Container port " + std::to_string(*containerPort) +
                                  " is used in more than one port mapping for container " + name,
                              pctx + ".containerPort");
    }
  }
  return okStatus();
}

Status validateLinuxParameters(const json& lp, const std::string& name, const std::string& ctx) {
  if (const json* caps = field(lp, "capabilities")) {
    for (std::string_view list : {"add", "drop"}) {
      for (const json& cap : listOrEmpty(*caps, list)) {
        const auto& s = cap.get_ref<const std::string&>();
        if (std::find(std::begin(kLinuxCapabilities), std::end(kLinuxCapabilities), s) ==
            std::end(kLinuxCapabilities)) {
          return clientError("Invalid Linux capability '" + s + "' for container '" + name + "'.",
                             ctx + ".capabilities." + std::string(list));
        }
      }
    }
  }
  for (const json& d : listOrEmpty(lp, "devices")) {
    if (!isAbsolutePath(d.value("hostPath", "")) ||
        (field(d, "containerPath") && !isAbsolutePath(d.value("containerPath", "")))) {
      return clientError("Invalid device for container '" + name + "'. Device paths must be absolute.",
                         ctx + ".devices");
    }
  }
  for (const json& t : listOrEmpty(lp, "tmpfs")) {
    if (!isAbsolutePath(t.value("containerPath", ""))) {
      return clientError("Invalid tmpfs for container '" + name + "'. containerPath must be absolute.",
                         ctx + ".tmpfs");
    }
    if (t.value("size", 0) <= 0) {
      return clientError("Invalid tmpfs for container '" + name + "'. size must be greater than 0.", ctx + ".tmpfs");
    }
  }
  if (auto shm = integer(lp, "sharedMemorySize"); shm && *shm <= 0) {
    return clientError("Invalid 'sharedMemorySize' setting for container '" + name + "'.",
                       ctx + ".sharedMemorySize");
  }
  if (auto swap = integer(lp, "maxSwap"); swap && *swap < 0) {
    return clientError("Invalid 'maxSwap' setting for container '" + name + "'. Accepted values are 0 or any positive integer.",
                       ctx + ".maxSwap");
  }
  BERTH_TRY(checkRange(lp, "swappiness", 0, 100, "The 'swappiness' setting for container '" + name + "'",
                       ctx + ".swappiness"));
  return okStatus();
}

Status validateLogConfiguration(const json& log, const std::string& name, const std::string& ctx) {
  const std::string driver = str(log, "logDriver").value_or("");
  if (driver == "awslogs") {
    const json* options = field(log, "options");
    std::vector<std::string> missing;
    for (const char* required : {"awslogs-region", "awslogs-group"}) {
      if (!options || !field(*options, required) || options->at(required).get<std::string>().empty()) {
        missing.emplace_back(required);
      }
    }
    if (!missing.empty()) {
      std::string list;
      for (std::size_t i = 0; i < missing.size(); ++i) list += (i ? ", " : "") + missing[i];
      return clientError("Log driver awslogs requires options: " + list, ctx + ".options");  // (AWS)
    }
  }
  for (const json& s : listOrEmpty(log, "secretOptions")) {
    if (s.value("name", "").empty() || s.value("valueFrom", "").empty()) {
      return clientError("Invalid secretOptions for container '" + name + "'. name and valueFrom are required.",
                         ctx + ".secretOptions");
    }
  }
  return okStatus();
}

Status validateContainer(json& c, std::size_t index, const TaskFacts& facts, const json& doc) {
  const std::string ctx = "containerDefinitions[" + std::to_string(index) + "]";
  const std::string name = *str(c, "name");

  // Defaults DescribeTaskDefinition shows for every container.
  if (!field(c, "essential")) c["essential"] = true;
  if (!field(c, "cpu")) c["cpu"] = 0;
  for (const char* list : {"portMappings", "environment", "mountPoints", "volumesFrom"}) {
    if (!field(c, list)) c[list] = json::array();
  }

  if (*integer(c, "cpu") < 0) {
    return clientError("Invalid 'cpu' setting for container '" + name + "'.", ctx + ".cpu");
  }
  auto memory = integer(c, "memory");
  auto reservation = integer(c, "memoryReservation");
  if (memory && *memory < kMinContainerMemoryMiB) {
    return clientError("Invalid 'memory' setting for container '" + name + "'. The minimum is " +
                           std::to_string(kMinContainerMemoryMiB) + " MiB.",
                       ctx + ".memory");
  }
  if (reservation && *reservation < kMinContainerMemoryMiB) {
    return clientError("Invalid 'memoryReservation' setting for container '" + name + "'. The minimum is " +
                           std::to_string(kMinContainerMemoryMiB) + " MiB.",
                       ctx + ".memoryReservation");
  }
  if (!facts.memory && !memory && !reservation) {
    // (AWS)
    return clientError("Invalid setting for container '" + name +
                           "'. At least one of 'memory' or 'memoryReservation' must be specified.",
                       ctx);
  }
  if (memory && reservation && *memory < *reservation) {
    return clientError("The 'memory' setting for container '" + name + "' is lower than the 'memoryReservation' setting.",
                       ctx + ".memory");
  }
  if (facts.memory && memory && *memory > *facts.memory) {
    return clientError("The 'memory' setting for container '" + name + "' is greater than for the task.",  // (AWS)
                       ctx + ".memory");
  }
  if (facts.memory && reservation && *reservation > *facts.memory) {
    return clientError("The 'memoryReservation' setting for container '" + name + "' is greater than for the task.",
                       ctx + ".memoryReservation");
  }

  if (nonEmpty(c, "links")) {
    if (facts.networkMode != "bridge") {
      return clientError("Links are not supported when networkMode=" + facts.networkMode + ".",  // (AWS)
                         ctx + ".links");
    }
    for (const json& link : listOrEmpty(c, "links")) {
      const auto& s = link.get_ref<const std::string&>();
      const std::string target = s.substr(0, s.find(':'));
      if (target == name || !facts.containerIndex.count(target)) {
        return clientError("Invalid link '" + s + "' for container '" + name +
                               "'. Links must name another container in the task definition.",
                           ctx + ".links");
      }
    }
  }
  if (facts.networkMode == "awsvpc" && field(c, "hostname")) {
    return clientError("hostname is not supported on container when networkMode=awsvpc.",  // (AWS)
                       ctx + ".hostname");
  }
  if (facts.networkMode == "awsvpc" && nonEmpty(c, "extraHosts")) {
    return clientError("extraHosts is not supported on container when networkMode=awsvpc.", ctx + ".extraHosts");
  }

  BERTH_TRY(validatePortMappings(c, name, facts, ctx));

  if (json* hc = c.contains("healthCheck") ? &c["healthCheck"] : nullptr) {
    BERTH_TRY(validateHealthCheck(*hc, name, ctx + ".healthCheck"));
  }

  for (const json& mp : listOrEmpty(c, "mountPoints")) {
    auto source = str(mp, "sourceVolume");
    if (!source || !facts.volumeNames.count(*source)) {
      return clientError("Unknown volume '" + source.value_or("null") + "'.", ctx + ".mountPoints");  // (AWS)
    }
    if (str(mp, "containerPath").value_or("").empty()) {
      return clientError("Invalid mount point for container '" + name + "'. containerPath should not be blank.",
                         ctx + ".mountPoints");
    }
  }
  for (const json& vf : listOrEmpty(c, "volumesFrom")) {
    auto source = str(vf, "sourceContainer");
    if (!source || *source == name || !facts.containerIndex.count(*source)) {
      return clientError("Invalid volumesFrom for container '" + name + "'. Unknown source container '" +
                             source.value_or("null") + "'.",
                         ctx + ".volumesFrom");
    }
  }
  for (const json& env : listOrEmpty(c, "environment")) {
    if (str(env, "name").value_or("").empty()) {
      return clientError("Invalid environment variable for container '" + name + "'. name should not be blank.",
                         ctx + ".environment");
    }
  }
  if (listOrEmpty(c, "environmentFiles").size() > kMaxEnvironmentFiles) {
    return clientError("Too many environment files for container '" + name + "'. You can specify up to " +
                           std::to_string(kMaxEnvironmentFiles) + ".",
                       ctx + ".environmentFiles");
  }
  for (const json& s : listOrEmpty(c, "secrets")) {
    if (s.value("name", "").empty() || s.value("valueFrom", "").empty()) {
      return clientError("Invalid secret for container '" + name + "'. name and valueFrom should not be blank.",
                         ctx + ".secrets");
    }
  }
  std::set<std::string> ulimitNames;
  for (const json& u : listOrEmpty(c, "ulimits")) {
    const std::string uname = u.value("name", "");
    if (!ulimitNames.insert(uname).second) {
      return clientError("Duplicate ulimit '" + uname + "' for container '" + name + "'.", ctx + ".ulimits");
    }
    if (u.value("softLimit", 0) > u.value("hardLimit", 0)) {
      return clientError("Invalid ulimit '" + uname + "' for container '" + name +
                             "'. softLimit cannot be greater than hardLimit.",
                         ctx + ".ulimits");
    }
  }
  if (auto t = integer(c, "startTimeout"); t && *t < 0) {
    return clientError("Invalid 'startTimeout' setting for container '" + name + "'.", ctx + ".startTimeout");
  }
  if (auto t = integer(c, "stopTimeout"); t && *t < 0) {
    return clientError("Invalid 'stopTimeout' setting for container '" + name + "'.", ctx + ".stopTimeout");
  }
  if (const json* lp = field(c, "linuxParameters")) {
    BERTH_TRY(validateLinuxParameters(*lp, name, ctx + ".linuxParameters"));
  }
  if (const json* log = field(c, "logConfiguration")) {
    BERTH_TRY(validateLogConfiguration(*log, name, ctx + ".logConfiguration"));
    if (str(*log, "logDriver") == "awsfirelens") {
      bool router = false;
      for (const json& other : listOrEmpty(doc, "containerDefinitions")) router |= field(other, "firelensConfiguration") != nullptr;
      if (!router) {
        return clientError("Log driver awsfirelens for container '" + name +
                               "' requires a container with a firelensConfiguration in the task definition.",
                           ctx + ".logConfiguration");
      }
    }
  }
  std::set<std::string> resourceTypes;
  for (const json& rr : listOrEmpty(c, "resourceRequirements")) {
    const std::string type = rr.value("type", "");
    const std::string value = rr.value("value", "");
    if (type == "GPU") {
      if (!resourceTypes.insert(type).second) {
        return clientError("Duplicate GPU resource requirement for container '" + name + "'.",
                           ctx + ".resourceRequirements");
      }
      const bool digits = !value.empty() && value.size() <= 4 &&
                          std::all_of(value.begin(), value.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
      if (!digits || std::stoi(value) < 1) {
        return clientError("Invalid GPU resource requirement for container '" + name +
                               "'. The value must be a positive number of GPUs.",
                           ctx + ".resourceRequirements");
      }
    } else if (type == "InferenceAccelerator" && !facts.acceleratorNames.count(value)) {
      return clientError("Invalid InferenceAccelerator resource requirement for container '" + name +
                             "'. No inference accelerator named '" + value + "' in the task definition.",
                         ctx + ".resourceRequirements");
    }
  }
  return okStatus();
}

// ---------------------------------------------------------------------------
// Task-level pieces.
// ---------------------------------------------------------------------------
Status validateVolumes(const json& doc, TaskFacts& facts) {
  const json& volumes = listOrEmpty(doc, "volumes");
  for (std::size_t i = 0; i < volumes.size(); ++i) {
    const json& v = volumes[i];
    const std::string ctx = "volumes[" + std::to_string(i) + "]";
    auto name = str(v, "name");
    if (!name || name->empty()) return clientError("Volume.name should not be null or empty.", ctx + ".name");
    if (!isResourceName(*name)) return clientError("Volume.name contains invalid characters.", ctx + ".name");
    if (!facts.volumeNames.insert(*name).second) {
      return clientError("Volume names must be unique within a Task Definition.", ctx + ".name");
    }
    int kinds = 0;
    for (const char* k : {"host", "dockerVolumeConfiguration", "efsVolumeConfiguration",
                          "fsxWindowsFileServerVolumeConfiguration"}) {
      kinds += field(v, k) ? 1 : 0;
    }
    if (kinds > 1) {
      return clientError("Volume '" + *name +
                             "' must specify only one of host, dockerVolumeConfiguration, efsVolumeConfiguration "
                             "or fsxWindowsFileServerVolumeConfiguration.",
                         ctx);
    }
    if (const json* host = field(v, "host")) {
      if (auto path = str(*host, "sourcePath")) {
        if (path->empty()) return clientError("host.sourcePath should not be blank.", ctx + ".host.sourcePath");  // (AWS)
        if (!facts.windows && !isAbsolutePath(*path)) {
          return clientError("Invalid host.sourcePath '" + *path + "' for volume '" + *name +
                                 "'. The path must be absolute.",
                             ctx + ".host.sourcePath");
        }
      }
    }
    if (const json* dv = field(v, "dockerVolumeConfiguration")) {
      if (flag(*dv, "autoprovision", false) && str(*dv, "scope").value_or("task") != "shared") {
        return clientError("Invalid dockerVolumeConfiguration for volume '" + *name +
                               "'. autoprovision is only supported when scope is shared.",
                           ctx + ".dockerVolumeConfiguration");
      }
    }
    if (const json* efs = field(v, "efsVolumeConfiguration")) {
      const bool encrypted = str(*efs, "transitEncryption").value_or("DISABLED") == "ENABLED";
      const json* auth = field(*efs, "authorizationConfig");
      const bool iam = auth && str(*auth, "iam").value_or("DISABLED") == "ENABLED";
      const bool accessPoint = auth && field(*auth, "accessPointId");
      if ((iam || accessPoint) && !encrypted) {
        return clientError("Invalid efsVolumeConfiguration for volume '" + *name +
                               "'. Transit encryption must be enabled when an access point or IAM authorization is used.",
                           ctx + ".efsVolumeConfiguration");
      }
      if (accessPoint) {
        auto root = str(*efs, "rootDirectory");
        if (root && *root != "/") {
          return clientError("Invalid efsVolumeConfiguration for volume '" + *name +
                                 "'. rootDirectory must be omitted or '/' when an access point is used.",
                             ctx + ".efsVolumeConfiguration");
        }
      }
      if (auto port = integer(*efs, "transitEncryptionPort"); port && (*port < 1 || *port > 65535)) {
        return clientError("Invalid transitEncryptionPort for volume '" + *name + "'.", ctx + ".efsVolumeConfiguration");
      }
    }
  }
  return okStatus();
}

// Depth-first search for a dependsOn cycle; returns it as "a -> b -> a".
std::optional<std::string> findDependencyCycle(const json& containers, const TaskFacts& facts) {
  const std::size_t n = containers.size();
  std::vector<int> state(n, 0);  // 0 new, 1 on stack, 2 done
  std::vector<std::size_t> stack;
  std::optional<std::string> cycle;
  auto visit = [&](auto&& self, std::size_t i) -> bool {
    state[i] = 1;
    stack.push_back(i);
    for (const json& dep : listOrEmpty(containers[i], "dependsOn")) {
      auto it = facts.containerIndex.find(dep.value("containerName", ""));
      if (it == facts.containerIndex.end()) continue;
      const std::size_t j = it->second;
      if (state[j] == 1) {
        std::string path;
        auto from = std::find(stack.begin(), stack.end(), j);
        for (auto k = from; k != stack.end(); ++k) path += containers[*k].value("name", "") + " -> ";
        cycle = path + containers[j].value("name", "");
        return true;
      }
      if (state[j] == 0 && self(self, j)) return true;
    }
    stack.pop_back();
    state[i] = 2;
    return false;
  };
  for (std::size_t i = 0; i < n; ++i) {
    if (state[i] == 0 && visit(visit, i)) return cycle;
  }
  return std::nullopt;
}

Status validateDependencies(const json& containers, const TaskFacts& facts) {
  for (std::size_t i = 0; i < containers.size(); ++i) {
    const json& c = containers[i];
    const std::string ctx = "containerDefinitions[" + std::to_string(i) + "].dependsOn";
    for (const json& dep : listOrEmpty(c, "dependsOn")) {
      const std::string target = dep.value("containerName", "");
      const std::string condition = dep.value("condition", "");
      auto it = facts.containerIndex.find(target);
      if (it == facts.containerIndex.end()) {
        // (AWS, including the stray '+')
        return clientError("Cannot depend on container + '" + target + "' because it does not exist", ctx);
      }
      const json& dependency = containers[it->second];
      if ((condition == "SUCCESS" || condition == "COMPLETE") && flag(dependency, "essential", true)) {
        // (AWS)
        return clientError("A dependency container with SUCCESS or COMPLETE condition cannot be an essential container",
                           ctx);
      }
      if (condition == "HEALTHY" && !field(dependency, "healthCheck")) {
        return clientError("A dependency container with HEALTHY condition must have health check configured. Container '" +
                               target + "' has no healthCheck.",
                           ctx);
      }
    }
  }
  if (auto cycle = findDependencyCycle(containers, facts)) {
    return clientError("Container dependencies must not form a cycle: " + *cycle + ".", "containerDefinitions");
  }
  return okStatus();
}

Status validateTaskResources(const json& containers, const TaskFacts& facts) {
  std::int64_t cpuSum = 0;
  std::int64_t reservedSum = 0;
  for (const json& c : containers) {
    cpuSum += integer(c, "cpu").value_or(0);
    reservedSum += integer(c, "memoryReservation").value_or(integer(c, "memory").value_or(0));
  }
  if (facts.cpu && cpuSum > *facts.cpu) {
    // (AWS)
    return clientError("The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.",
                       "cpu");
  }
  if (facts.memory && reservedSum > *facts.memory) {
    return clientError(
        "The sum of all container 'memoryReservation' values (or 'memory' where no reservation is set) cannot be "
        "greater than the value of the task 'memory'.",
        "memory");
  }
  // Static host ports are a task-wide resource (same port and protocol once).
  std::set<std::pair<std::string, std::int64_t>> hostPorts;
  for (const json& c : containers) {
    for (const json& pm : listOrEmpty(c, "portMappings")) {
      const std::int64_t hostPort = integer(pm, "hostPort").value_or(0);
      if (hostPort == 0) continue;
      const std::string protocol = str(pm, "protocol").value_or("tcp");
      if (!hostPorts.emplace(protocol, hostPort).second) {
        // (AWS)
        return clientError(upper(protocol) + " host port '" + std::to_string(hostPort) +
                               "' is mapped multiple times in task.",
                           "containerDefinitions");
      }
    }
  }
  return okStatus();
}

// Why the definition cannot run on Fargate, if it cannot (ECS Fargate task
// definition rules). Used both to reject requiresCompatibilities=FARGATE and
// to decide whether "FARGATE" appears in compatibilities.
std::optional<Error> fargateIncompatibility(const json& doc, const TaskFacts& facts) {
  if (facts.networkMode != "awsvpc") {
    return clientError("Fargate only supports network mode \u2018awsvpc\u2019.", "networkMode");  // (AWS, curly quotes)
  }
  if (!facts.cpu) return clientError("Fargate requires that 'cpu' be defined at the task level.", "cpu");  // (AWS)
  if (!facts.memory) {
    return clientError("Fargate requires that 'memory' be defined at the task level.", "memory");  // (AWS)
  }
  if (!isFargateTaskSize(*facts.cpu, *facts.memory) || (facts.windows && *facts.cpu < 1024)) {
    return clientError("No Fargate configuration exists for given values.", "cpu");  // (AWS)
  }
  if (field(doc, "ipcMode")) {
    return clientError("Tasks using the Fargate launch type do not support ipcMode.", "ipcMode");  // (AWS)
  }
  if (str(doc, "pidMode") == "host") {
    return clientError("Tasks using the Fargate launch type do not support pidMode 'host'.", "pidMode");
  }
  if (nonEmpty(doc, "placementConstraints")) {
    return clientError("Tasks using the Fargate launch type do not support placement constraints.",
                       "placementConstraints");
  }
  if (nonEmpty(doc, "inferenceAccelerators")) {
    return clientError("Tasks using the Fargate launch type do not support inferenceAccelerators.",
                       "inferenceAccelerators");
  }
  for (const json& v : listOrEmpty(doc, "volumes")) {
    if (const json* host = field(v, "host"); host && field(*host, "sourcePath")) {
      return clientError("Fargate compatible task definitions do not support sourcePath", "volumes");  // (AWS)
    }
    if (field(v, "dockerVolumeConfiguration")) {
      return clientError("Fargate compatible task definitions do not support dockerVolumeConfiguration", "volumes");
    }
  }
  const bool executionRole = !str(doc, "executionRoleArn").value_or("").empty();
  for (const json& c : listOrEmpty(doc, "containerDefinitions")) {
    const std::string name = c.value("name", "");
    if (flag(c, "privileged", false)) {
      return clientError("Tasks using the Fargate launch type do not support privileged containers.",
                         "containerDefinitions");
    }
    if (const json* lp = field(c, "linuxParameters")) {
      for (const char* p : {"devices", "sharedMemorySize", "tmpfs", "maxSwap", "swappiness"}) {
        if (field(*lp, p)) {
          return clientError(std::string("Tasks using the Fargate launch type do not support the linuxParameters '") +
                                 p + "' parameter (container '" + name + "').",
                             "containerDefinitions");
        }
      }
    }
    if (const json* log = field(c, "logConfiguration")) {
      const std::string driver = str(*log, "logDriver").value_or("");
      if (driver != "awslogs" && driver != "splunk" && driver != "awsfirelens") {
        return clientError(driver + " is not a valid log driver for Fargate. Must be one of [awslogs,splunk,awsfirelens]",
                           "containerDefinitions");
      }
      if (driver == "awslogs" && !executionRole) {
        return clientError("Fargate requires task definition to have execution role ARN to support log driver awslogs.",
                           "executionRoleArn");
      }
    }
    if (isPrivateEcrImage(c.value("image", "")) && !executionRole) {
      return clientError("Fargate requires task definition to have execution role ARN to support ECR images.",
                         "executionRoleArn");
    }
    if (integer(c, "stopTimeout").value_or(0) > kFargateMaxStopTimeout) {
      return clientError("Tasks using the Fargate launch type must have a stopTimeout of " +
                             std::to_string(kFargateMaxStopTimeout) + " seconds or less (container '" + name + "').",
                         "containerDefinitions");
    }
    for (const json& rr : listOrEmpty(c, "resourceRequirements")) {
      if (rr.value("type", "") == "GPU") {
        return clientError("Tasks using the Fargate launch type do not support GPU resource requirements.",
                           "containerDefinitions");
      }
    }
  }
  return std::nullopt;
}

// ECS Anywhere (EXTERNAL): bridge/host/none networking, no AWS-managed storage.
std::optional<Error> externalIncompatibility(const json& doc, const TaskFacts& facts) {
  if (facts.networkMode == "awsvpc") {
    return clientError("Tasks using the External launch type do not support network mode 'awsvpc'.", "networkMode");
  }
  for (const json& v : listOrEmpty(doc, "volumes")) {
    if (field(v, "efsVolumeConfiguration") || field(v, "fsxWindowsFileServerVolumeConfiguration")) {
      return clientError("Tasks using the External launch type do not support EFS or FSx volumes.", "volumes");
    }
  }
  if (nonEmpty(doc, "inferenceAccelerators")) {
    return clientError("Tasks using the External launch type do not support inferenceAccelerators.",
                       "inferenceAccelerators");
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// requiresAttributes: container-instance attributes the definition needs.
// Names follow the agent (agent/app/agent_capability.go: "com.amazonaws.ecs.
// capability." for old capabilities, "ecs.capability." for newer ones).
// Docker API versions follow the model docs (dockerLabels/ulimits/
// logConfiguration 1.18, log options 1.19, initProcessEnabled 1.25) and
// real DescribeTaskDefinition outputs (awsvpc -> 1.18 + task-eni,
// memoryReservation -> 1.21, awslogs-create-group -> 1.29, user -> 1.17,
// ipcMode -> 1.32).
// ---------------------------------------------------------------------------
class AttributeList {
 public:
  void add(std::string name) {
    if (seen_.insert(name).second) list_.push_back({{"name", std::move(name)}});
  }
  json take() { return std::move(list_); }

 private:
  std::set<std::string> seen_;
  json list_ = json::array();
};

constexpr std::string_view kCap = "com.amazonaws.ecs.capability.";
constexpr std::string_view kAttr = "ecs.capability.";

std::string cap(std::string_view suffix) { return std::string(kCap) + std::string(suffix); }
std::string attr(std::string_view suffix) { return std::string(kAttr) + std::string(suffix); }
std::string dockerApi(std::string_view version) { return cap("docker-remote-api.") + std::string(version); }

bool isSecretsManagerArn(std::string_view s) { return s.rfind("arn:", 0) == 0 && s.find(":secretsmanager:") != std::string_view::npos; }

json deriveRequiresAttributes(const json& doc, const TaskFacts& facts) {
  AttributeList out;
  const bool executionRole = !str(doc, "executionRoleArn").value_or("").empty();
  if (!str(doc, "taskRoleArn").value_or("").empty()) {
    out.add(cap("task-iam-role"));
    if (facts.networkMode == "host") out.add(cap("task-iam-role-network-host"));
  }
  if (facts.networkMode == "awsvpc") {
    out.add(dockerApi("1.18"));
    out.add(attr("task-eni"));
  }
  if (field(doc, "ipcMode") || field(doc, "pidMode")) out.add(attr("pid-ipc-namespace-sharing"));
  if (field(doc, "ipcMode")) out.add(dockerApi("1.32"));
  if (field(doc, "proxyConfiguration")) out.add(attr("aws-appmesh"));
  if (nonEmpty(doc, "inferenceAccelerators")) out.add(attr("task-eia"));
  for (const json& v : listOrEmpty(doc, "volumes")) {
    if (const json* dv = field(v, "dockerVolumeConfiguration")) {
      out.add(dockerApi("1.25"));
      out.add(attr("docker-plugin.") + str(*dv, "driver").value_or("local"));
    }
    if (field(v, "efsVolumeConfiguration")) {
      out.add(attr("efs"));
      out.add(attr("efsAuth"));
    }
  }

  for (const json& c : listOrEmpty(doc, "containerDefinitions")) {
    if (isPrivateEcrImage(c.value("image", ""))) {
      out.add(cap("ecr-auth"));
      if (executionRole) out.add(attr("execution-role-ecr-pull"));
    }
    if (field(c, "repositoryCredentials")) out.add(attr("private-registry-authentication.secretsmanager"));
    if (field(c, "memoryReservation")) out.add(dockerApi("1.21"));
    if (field(c, "user")) out.add(dockerApi("1.17"));
    if (nonEmpty(c, "dockerLabels") || nonEmpty(c, "ulimits")) out.add(dockerApi("1.18"));
    if (flag(c, "privileged", false)) out.add(cap("privileged-container"));
    for (const json& opt : listOrEmpty(c, "dockerSecurityOptions")) {
      const auto& s = opt.get_ref<const std::string&>();
      if (s.rfind("label:", 0) == 0) out.add(cap("selinux"));
      if (s.rfind("apparmor:", 0) == 0) out.add(cap("apparmor"));
    }
    if (field(c, "healthCheck")) out.add(attr("container-health-check"));
    if (nonEmpty(c, "dependsOn") || field(c, "startTimeout") || field(c, "stopTimeout")) {
      out.add(attr("container-ordering"));
    }
    if (nonEmpty(c, "environmentFiles")) out.add(attr("env-files.s3"));
    for (const json& s : listOrEmpty(c, "secrets")) {
      out.add(attr(isSecretsManagerArn(s.value("valueFrom", "")) ? "secrets.asm.environment-variables"
                                                                  : "secrets.ssm.environment-variables"));
    }
    if (const json* lp = field(c, "linuxParameters")) {
      if (field(*lp, "initProcessEnabled")) out.add(dockerApi("1.25"));
    }
    if (const json* log = field(c, "logConfiguration")) {
      const std::string driver = str(*log, "logDriver").value_or("");
      out.add(dockerApi("1.18"));
      out.add(cap("logging-driver.") + driver);
      if (nonEmpty(*log, "options")) out.add(dockerApi("1.19"));
      if (driver == "awslogs" && executionRole) out.add(attr("execution-role-awslogs"));
      if (const json* options = field(*log, "options"); options && field(*options, "awslogs-create-group")) {
        out.add(dockerApi("1.29"));
      }
      for (const json& s : listOrEmpty(*log, "secretOptions")) {
        out.add(attr(isSecretsManagerArn(s.value("valueFrom", "")) ? "secrets.asm.bootstrap.log-driver"
                                                                    : "secrets.ssm.bootstrap.log-driver"));
      }
    }
    if (const json* fl = field(c, "firelensConfiguration")) {
      out.add(attr("firelens.") + str(*fl, "type").value_or("fluentbit"));
      if (const json* options = field(*fl, "options")) {
        if (auto type = str(*options, "config-file-type")) out.add(attr("firelens.options.config.") + *type);
      }
    }
  }
  return out.take();
}

}  // namespace

Result<json> normalizeTaskDefinition(const json& request) {
  if (!request.is_object()) return invalidParameter("The request body must be a JSON object.");

  // family and containerDefinitions get AWS's own messages rather than the
  // generic "must not be null" of the model check.
  const json* family = field(request, "family");
  if (!family || (family->is_string() && family->get_ref<const std::string&>().empty())) {
    return clientError("Family can not be blank.", "family");  // (AWS)
  }
  const json* containersIn = field(request, "containerDefinitions");
  if (!containersIn || (containersIn->is_array() && containersIn->empty())) {
    return clientError("Container list cannot be empty.", "containerDefinitions");  // (AWS)
  }

  auto sanitized = sanitize(request, "RegisterTaskDefinitionRequest", "");
  if (!sanitized.ok()) return sanitized.takeError();
  json doc = std::move(*sanitized);
  doc.erase("tags");  // stored separately by the caller

  const std::string familyName = *str(doc, "family");
  if (familyName.size() > 255) {
    return clientError("Family is too long. Up to 255 letters, numbers, hyphens and underscores are allowed.",
                       "family");
  }
  if (!isResourceName(familyName)) return clientError("Family contains invalid characters.", "family");  // (AWS)

  json& containers = doc["containerDefinitions"];
  if (containers.size() > kMaxContainersPerTaskDefinition) {
    return clientError("Too many containers. A task definition can have at most " +
                           std::to_string(kMaxContainersPerTaskDefinition) + " containers.",
                       "containerDefinitions");
  }

  TaskFacts facts;
  for (std::size_t i = 0; i < containers.size(); ++i) {
    const json& c = containers[i];
    const std::string ctx = "containerDefinitions[" + std::to_string(i) + "]";
    auto name = str(c, "name");
    if (!name || name->empty()) return clientError("Container.name should not be null or empty.", ctx + ".name");  // (AWS)
    if (!isResourceName(*name)) return clientError("Container.name contains invalid characters.", ctx + ".name");  // (AWS)
    if (!facts.containerIndex.emplace(*name, i).second) {
      return clientError("Container names must be unique within a Task Definition.", ctx + ".name");  // (AWS)
    }
    auto image = str(c, "image");
    if (!image || image->empty()) {
      return clientError("Container.image should not be null or empty.", ctx + ".image");  // (AWS)
    }
    if (image->size() > 255) {
      return clientError("Container.image should not be longer than 255 characters.", ctx + ".image");
    }
    if (std::any_of(image->begin(), image->end(), [](char ch) {
          return std::isspace(static_cast<unsigned char>(ch)) || static_cast<unsigned char>(ch) < 0x20;
        })) {
      return clientError("Container.image contains invalid characters.", ctx + ".image");
    }
  }

  if (auto mode = str(doc, "networkMode")) facts.networkMode = *mode;
  for (const json& compat : listOrEmpty(doc, "requiresCompatibilities")) {
    facts.requiresFargate |= compat == "FARGATE";
    facts.requiresExternal |= compat == "EXTERNAL";
  }
  if (const json* platform = field(doc, "runtimePlatform")) {
    facts.windows = str(*platform, "operatingSystemFamily").value_or("LINUX").rfind("WINDOWS", 0) == 0;
  }

  if (auto cpu = str(doc, "cpu")) {
    auto units = parseTaskCpu(*cpu);
    if (!units.ok()) return units.takeError();
    facts.cpu = *units;
    doc["cpu"] = std::to_string(*units);
  }
  if (auto memory = str(doc, "memory")) {
    auto mib = parseTaskMemory(*memory);
    if (!mib.ok()) return mib.takeError();
    facts.memory = *mib;
    doc["memory"] = std::to_string(*mib);
  }
  if (facts.cpu && !facts.requiresFargate && (*facts.cpu < kMinTaskCpu || *facts.cpu > kMaxTaskCpu)) {
    // (AWS)
    return clientError("Invalid 'cpu' setting for task. For more information, see the Troubleshooting section of the "
                       "Amazon ECS Developer Guide.",
                       "cpu");
  }

  // A requested launch type is checked before the container rules so that,
  // like ECS, a Fargate request without task memory hears about the task
  // level first.
  if (facts.requiresFargate) {
    if (auto problem = fargateIncompatibility(doc, facts)) return *problem;
  }
  if (facts.requiresExternal) {
    if (auto problem = externalIncompatibility(doc, facts)) return *problem;
  }

  for (const json& acc : listOrEmpty(doc, "inferenceAccelerators")) {
    if (!facts.acceleratorNames.insert(acc.value("deviceName", "")).second) {
      return clientError("Inference accelerator device names must be unique within a Task Definition.",
                         "inferenceAccelerators");
    }
  }
  BERTH_TRY(validateVolumes(doc, facts));

  bool anyEssential = false;
  for (std::size_t i = 0; i < containers.size(); ++i) {
    BERTH_TRY(validateContainer(containers[i], i, facts, doc));
    anyEssential |= flag(containers[i], "essential", true);
  }
  if (!anyEssential) return clientError("Task definition doesn't have any essential container.", "containerDefinitions");  // (AWS)
  int firelensRouters = 0;
  for (const json& c : containers) firelensRouters += field(c, "firelensConfiguration") ? 1 : 0;
  if (firelensRouters > 1) {
    return clientError("Only one container in a task definition can have a firelensConfiguration.",
                       "containerDefinitions");
  }
  BERTH_TRY(validateDependencies(containers, facts));
  BERTH_TRY(validateTaskResources(containers, facts));

  const json& constraints = listOrEmpty(doc, "placementConstraints");
  if (constraints.size() > kMaxTaskPlacementConstraints) {
    return clientError("Too many placement constraints. A task can have at most " +
                           std::to_string(kMaxTaskPlacementConstraints) + " placement constraints.",
                       "placementConstraints");
  }
  for (const json& pc : constraints) {
    if (str(pc, "type").value_or("memberOf") == "memberOf" && str(pc, "expression").value_or("").empty()) {
      return clientError("A memberOf placement constraint must have an expression.", "placementConstraints");
    }
  }
  if (const json* proxy = field(doc, "proxyConfiguration")) {
    const std::string target = str(*proxy, "containerName").value_or("");
    if (!facts.containerIndex.count(target)) {
      return clientError("The proxyConfiguration containerName '" + target +
                             "' does not match any container in the task definition.",
                         "proxyConfiguration.containerName");
    }
    if (facts.networkMode != "awsvpc") {
      return clientError("proxyConfiguration is only supported when networkMode=awsvpc.", "proxyConfiguration");
    }
  }
  if (const json* storage = field(doc, "ephemeralStorage")) {
    const std::int64_t size = integer(*storage, "sizeInGiB").value_or(0);
    if (size < kMinEphemeralStorageGiB) {
      return clientError("EphemeralStorage size should be at least " + std::to_string(kMinEphemeralStorageGiB),  // (AWS)
                         "ephemeralStorage.sizeInGiB");
    }
    if (size > kMaxEphemeralStorageGiB) {
      return clientError("EphemeralStorage size should be at most " + std::to_string(kMaxEphemeralStorageGiB),  // (AWS)
                         "ephemeralStorage.sizeInGiB");
    }
  }

  // Requested launch types passed above; the others only decide whether the
  // definition is reported as compatible with them.
  const bool fargateProblem = fargateIncompatibility(doc, facts).has_value();
  const bool externalProblem = externalIncompatibility(doc, facts).has_value();

  // Order as AWS reports it: ["EXTERNAL", "EC2"] or ["EC2", "FARGATE"].
  json compatibilities = json::array();
  if (!externalProblem) compatibilities.push_back("EXTERNAL");
  compatibilities.push_back("EC2");
  if (!fargateProblem) compatibilities.push_back("FARGATE");
  doc["compatibilities"] = std::move(compatibilities);
  doc["requiresAttributes"] = deriveRequiresAttributes(doc, facts);
  if (!field(doc, "volumes")) doc["volumes"] = json::array();
  if (!field(doc, "placementConstraints")) doc["placementConstraints"] = json::array();
  return doc;
}

}  // namespace berth::control
