#pragma once
// Building the OCI runtime spec (config.json, runtime-spec 1.0.2 as accepted
// by runc 1.1) for one ECS container. Pure: everything the builder needs from
// the host (rlimits, capabilities, the rootfs's /etc/passwd) comes in as
// input, so the result depends only on the arguments.
//
// Defaults follow Docker, because ECS task definitions are written against
// Docker's behaviour: its default capability set, seccomp profile, masked and
// read-only /proc paths, mounts and device rules. Deliberate differences:
//  * noNewPrivileges is on for every non-privileged container (Docker: off).
//  * RLIMIT_NOFILE defaults to 1024:1024 (containerd's default spec, which is
//    what Docker gives without daemon-level default-ulimits); override per
//    agent with defaultUlimits, per container with ulimits.
//  * ulimits above the agent's own hard limits are clamped to them: an
//    unprivileged-rlimit host (no CAP_SYS_RESOURCE) cannot raise them, and
//    runc would fail the whole container otherwise.
//  * privileged: every capability the agent holds, no seccomp, no masked or
//    read-only paths, writable /sys and cgroupfs, every device allowed in the
//    devices cgroup (host device nodes are not copied into /dev).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::runtime {

// The parts of an OCI image config ("config" object) that shape the process.
struct ImageConfig {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "NAME=value"
  std::string workingDir;
  std::string user;
};

// ECS ulimits[] entry; name is the ECS spelling ("nofile", "core", ...).
struct Ulimit {
  std::string name;
  std::int64_t softLimit = 0;
  std::int64_t hardLimit = 0;
};

// ECS linuxParameters.tmpfs[] entry.
struct TmpfsMount {
  std::string containerPath;
  std::int64_t sizeMiB = 0;
  std::vector<std::string> mountOptions;
};

// A host path bound into the container (volumes, resolv.conf, hosts...).
struct BindMount {
  std::string source;
  std::string destination;
  bool readOnly = false;
};

// A device node to create in the container and allow in the devices cgroup
// (ECS linuxParameters.devices, already resolved on the host: see
// resolveDevice in host_info.h).
struct LinuxDevice {
  std::string path;  // in the container
  char type = 'c';   // 'c' or 'b'
  std::int64_t major = 0;
  std::int64_t minor = 0;
  std::uint32_t fileMode = 0666;
  std::string permissions = "rwm";  // cgroup access: any of r, w, m
};

struct ContainerSpecInput {
  std::string containerId;  // default hostname source (first 12 characters)
  std::string rootfsPath;   // absolute host path of the root filesystem
  std::string imageName;    // recorded as the kImageAnnotation annotation
  ImageConfig image;

  // ECS entryPoint / command. nullopt = not set in the task definition (the
  // image's value applies); an empty vector is "set to nothing".
  std::optional<std::vector<std::string>> entryPoint;
  std::optional<std::vector<std::string>> command;
  std::vector<std::pair<std::string, std::string>> environment;  // ECS environment[], in order
  std::string workingDirectory;
  std::string user;        // ECS user; empty = the image's user; both empty = root
  std::string passwdFile;  // contents of <rootfs>/etc/passwd ("" if missing)
  std::string groupFile;   // contents of <rootfs>/etc/group ("" if missing)
  std::string hostname;    // empty = first 12 characters of containerId
  bool readonlyRootFilesystem = false;

  std::vector<Ulimit> ulimits;
  std::vector<Ulimit> defaultUlimits = {{"nofile", 1024, 1024}};
  // "RLIMIT_NOFILE" -> the agent's hard limit (see hostHardLimits()); a
  // missing entry means unlimited.
  std::map<std::string, std::uint64_t> hostHardLimits;

  std::vector<std::string> capAdd;
  std::vector<std::string> capDrop;
  // The agent's capability bounding set (hostCapabilities()); nullopt = all.
  std::optional<std::vector<std::string>> hostCapabilities;
  bool privileged = false;

  // initProcessEnabled: initPath (a static binary on the host, e.g. Debian's
  // /usr/bin/tini-static) is bound read-only at /dev/init and runs as pid 1,
  // forwarding signals and reaping zombies, like `docker run --init`.
  bool initProcessEnabled = false;
  std::string initPath = "/usr/bin/tini-static";

  std::int64_t sharedMemorySizeMiB = 0;  // 0 = 64 MiB (Docker's default)
  std::vector<TmpfsMount> tmpfs;
  std::vector<BindMount> bindMounts;
  std::vector<LinuxDevice> devices;

  // Networking: hostNetwork shares the host's network and UTS namespaces;
  // otherwise networkNamespacePath joins an existing namespace (the task's,
  // prepared by CNI) or, when empty, gives the container a fresh one.
  bool hostNetwork = false;
  std::string networkNamespacePath;

  std::int64_t cpuUnits = 0;              // ECS cpu -> cpu.shares (0/1 -> 2)
  std::int64_t memoryMiB = 0;             // hard limit; 0 = none
  std::int64_t memoryReservationMiB = 0;  // soft limit; 0 = none
  std::optional<std::int64_t> maxSwapMiB;  // nullopt = the host's swap behaviour
  std::optional<std::int64_t> swappiness;
  std::optional<std::int64_t> pidsLimit;
  std::string cgroupsPath;  // e.g. "/berth/<task>/<container>"; empty = runc's default

  std::map<std::string, std::string> annotations;
  std::string arch;  // "amd64"/"arm64"; empty = hostArchitecture()
};

inline constexpr std::string_view kImageAnnotation = "berth.image";
inline constexpr std::string_view kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Docker's entrypoint/cmd merge (moby daemon/commit.go merge): a task-level
// entryPoint drops the image's Cmd unless command is also given; a task-level
// command replaces the image's Cmd and keeps its Entrypoint. kInvalidParameter
// when the result is empty ("no command specified").
Result<std::vector<std::string>> resolveArgs(const std::optional<std::vector<std::string>>& entryPoint,
                                             const std::optional<std::vector<std::string>>& command,
                                             const ImageConfig& image);

// Process environment: PATH default, HOSTNAME, then the image's Env, then the
// container's environment; later sources replace earlier ones in place.
std::vector<std::string> resolveEnv(const ImageConfig& image,
                                    const std::vector<std::pair<std::string, std::string>>& environment,
                                    const std::string& hostname);

// ECS cpu units -> cgroup cpu.shares, clamped to the kernel's [2, 262144].
std::uint64_t cpuSharesFromUnits(std::int64_t units);

// The full config.json.
Result<nlohmann::json> buildOciSpec(const ContainerSpecInput& input);

}  // namespace berth::runtime
