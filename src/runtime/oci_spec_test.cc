#include "runtime/oci_spec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "runtime/capabilities.h"
#include "runtime/default_seccomp.h"

namespace berth::runtime {
namespace {

using nlohmann::json;
using Strings = std::vector<std::string>;

ContainerSpecInput baseInput() {
  ContainerSpecInput in;
  in.containerId = "0123456789abcdef-web";
  in.rootfsPath = "/var/lib/berth/rootfs/x";
  in.image.cmd = {"nginx", "-g", "daemon off;"};
  in.arch = "amd64";
  return in;
}

json build(const ContainerSpecInput& in) {
  auto r = buildOciSpec(in);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : json();
}

const json* findMount(const json& spec, const std::string& dest) {
  for (const auto& m : spec["mounts"]) {
    if (m["destination"] == dest) return &m;
  }
  return nullptr;
}

bool hasOption(const json& mount, const std::string& opt) {
  const auto& o = mount["options"];
  return std::find(o.begin(), o.end(), opt) != o.end();
}

std::vector<std::string> namespaceTypes(const json& spec) {
  Strings out;
  for (const auto& ns : spec["linux"]["namespaces"]) out.push_back(ns["type"]);
  return out;
}

bool seccompAllows(const json& spec, const std::string& syscall) {
  for (const auto& rule : spec["linux"]["seccomp"]["syscalls"]) {
    if (rule["action"] != "SCMP_ACT_ALLOW") continue;
    for (const auto& n : rule["names"]) {
      if (n == syscall) return true;
    }
  }
  return false;
}

// --- args: Docker's Entrypoint/Cmd merge, as a table -----------------------
struct ArgsCase {
  const char* name;
  std::optional<Strings> entryPoint, command;
  Strings imageEntrypoint, imageCmd;
  Strings want;  // empty = error
};

TEST(ResolveArgs, FollowsDockerMergeRules) {
  const std::vector<ArgsCase> cases = {
      {"image only", std::nullopt, std::nullopt, {"/ep"}, {"a", "b"}, {"/ep", "a", "b"}},
      {"command replaces image Cmd, keeps Entrypoint", std::nullopt, Strings{"x"}, {"/ep"}, {"a"}, {"/ep", "x"}},
      {"entryPoint drops image Cmd", Strings{"/my"}, std::nullopt, {"/ep"}, {"a"}, {"/my"}},
      {"entryPoint and command", Strings{"/my"}, Strings{"x", "y"}, {"/ep"}, {"a"}, {"/my", "x", "y"}},
      {"empty entryPoint clears image Entrypoint", Strings{}, std::nullopt, {"/ep"}, {"a"}, {"a"}},
      {"empty entryPoint, command", Strings{}, Strings{"x"}, {"/ep"}, {"a"}, {"x"}},
      {"no Cmd anywhere but Entrypoint", std::nullopt, std::nullopt, {"/ep"}, {}, {"/ep"}},
      {"nothing at all", std::nullopt, std::nullopt, {}, {}, {}},
      {"empty command keeps image Cmd", std::nullopt, Strings{}, {}, {"a"}, {"a"}},
  };
  for (const auto& c : cases) {
    ImageConfig image;
    image.entrypoint = c.imageEntrypoint;
    image.cmd = c.imageCmd;
    auto r = resolveArgs(c.entryPoint, c.command, image);
    if (c.want.empty()) {
      ASSERT_FALSE(r.ok()) << c.name;
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter) << c.name;
    } else {
      ASSERT_TRUE(r.ok()) << c.name;
      EXPECT_EQ(*r, c.want) << c.name;
    }
  }
}

TEST(ResolveEnv, ContainerWinsOverImageAndDefaults) {
  ImageConfig image;
  image.env = {"PATH=/opt/bin:/bin", "LANG=C", "A=image"};
  auto env = resolveEnv(image, {{"A", "container"}, {"B", "2"}}, "web");
  EXPECT_EQ(env, (Strings{"PATH=/opt/bin:/bin", "HOSTNAME=web", "LANG=C", "A=container", "B=2"}));

  auto defaults = resolveEnv(ImageConfig{}, {}, "h");
  EXPECT_EQ(defaults, (Strings{"PATH=" + std::string(kDefaultPath), "HOSTNAME=h"}));
}

TEST(CpuShares, ZeroAndOneBecomeTwo) {
  EXPECT_EQ(cpuSharesFromUnits(0), 2u);
  EXPECT_EQ(cpuSharesFromUnits(1), 2u);
  EXPECT_EQ(cpuSharesFromUnits(256), 256u);
  EXPECT_EQ(cpuSharesFromUnits(10'000'000), 262144u);
}

// --- whole-spec checks, table driven ---------------------------------------
struct SpecCase {
  const char* name;
  std::function<void(ContainerSpecInput&)> edit;
  std::function<void(const json&)> check;
};

TEST(BuildOciSpec, Table) {
  const std::vector<SpecCase> cases = {
      {"defaults",
       [](ContainerSpecInput&) {},
       [](const json& s) {
         EXPECT_EQ(s["ociVersion"], "1.0.2");
         EXPECT_EQ(s["process"]["args"], (Strings{"nginx", "-g", "daemon off;"}));
         EXPECT_EQ(s["process"]["cwd"], "/");
         EXPECT_EQ(s["process"]["user"]["uid"], 0);
         EXPECT_EQ(s["process"]["user"]["gid"], 0);
         EXPECT_EQ(s["process"]["noNewPrivileges"], true);
         EXPECT_EQ(s["process"]["terminal"], false);
         EXPECT_EQ(s["hostname"], "0123456789ab");
         EXPECT_EQ(s["root"]["path"], "/var/lib/berth/rootfs/x");
         EXPECT_EQ(s["root"]["readonly"], false);
         EXPECT_EQ(s["process"]["capabilities"]["bounding"], json(defaultCapabilities()));
         EXPECT_EQ(s["process"]["capabilities"]["effective"], json(defaultCapabilities()));
         EXPECT_EQ(s["process"]["rlimits"],
                   json::parse(R"([{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}])"));
         EXPECT_EQ(s["linux"]["resources"]["cpu"]["shares"], 2);
         EXPECT_FALSE(s["linux"]["resources"].contains("memory"));
         EXPECT_FALSE(s["linux"]["resources"].contains("pids"));
         EXPECT_FALSE(s["linux"].contains("cgroupsPath"));
         EXPECT_EQ(namespaceTypes(s), (Strings{"pid", "ipc", "mount", "uts", "network"}));
         for (const auto& ns : s["linux"]["namespaces"]) EXPECT_FALSE(ns.contains("path"));
         // Docker's masked and read-only /proc paths.
         for (const char* p : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/acpi", "/sys/firmware",
                               "/proc/scsi", "/proc/sched_debug", "/proc/latency_stats"}) {
           const auto& m = s["linux"]["maskedPaths"];
           EXPECT_NE(std::find(m.begin(), m.end(), p), m.end()) << p;
         }
         EXPECT_EQ(s["linux"]["readonlyPaths"],
                   (Strings{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}));
         // Default mounts.
         for (const char* d : {"/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"}) {
           EXPECT_NE(findMount(s, d), nullptr) << d;
         }
         EXPECT_TRUE(hasOption(*findMount(s, "/sys"), "ro"));
         EXPECT_TRUE(hasOption(*findMount(s, "/sys/fs/cgroup"), "ro"));
         EXPECT_TRUE(hasOption(*findMount(s, "/dev/shm"), "size=67108864"));
         EXPECT_EQ(findMount(s, "/dev/init"), nullptr);
         // Device cgroup: deny all first, then the harmless nodes.
         const auto& dev = s["linux"]["resources"]["devices"];
         EXPECT_EQ(dev[0], json::parse(R"({"allow":false,"access":"rwm"})"));
         bool nullAllowed = false;
         for (const auto& d : dev) nullAllowed |= d.value("major", -1) == 1 && d.value("minor", -1) == 3;
         EXPECT_TRUE(nullAllowed);
         // Seccomp.
         EXPECT_EQ(s["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
         EXPECT_EQ(s["linux"]["seccomp"]["architectures"],
                   (Strings{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
         EXPECT_TRUE(seccompAllows(s, "read"));
         EXPECT_TRUE(seccompAllows(s, "arch_prctl"));
         EXPECT_TRUE(seccompAllows(s, "chroot"));  // SYS_CHROOT is a default capability
         EXPECT_FALSE(seccompAllows(s, "mount"));
         EXPECT_FALSE(seccompAllows(s, "reboot"));
         EXPECT_FALSE(seccompAllows(s, "kexec_load"));
         EXPECT_FALSE(seccompAllows(s, "breakpoint"));  // arm only
         EXPECT_FALSE(s.contains("annotations"));
       }},
      {"user, cwd, env, hostname, readonly",
       [](ContainerSpecInput& in) {
         in.user = "app:extra";
         in.passwdFile = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
         in.groupFile = "root:x:0:\napp:x:1000:\nextra:x:2000:app\n";
         in.workingDirectory = "/srv";
         in.environment = {{"FOO", "bar"}};
         in.hostname = "web-1";
         in.readonlyRootFilesystem = true;
       },
       [](const json& s) {
         EXPECT_EQ(s["process"]["user"]["uid"], 1000);
         EXPECT_EQ(s["process"]["user"]["gid"], 2000);
         EXPECT_EQ(s["process"]["cwd"], "/srv");
         EXPECT_EQ(s["hostname"], "web-1");
         EXPECT_EQ(s["root"]["readonly"], true);
         const auto& env = s["process"]["env"];
         EXPECT_NE(std::find(env.begin(), env.end(), "FOO=bar"), env.end());
         EXPECT_NE(std::find(env.begin(), env.end(), "HOSTNAME=web-1"), env.end());
       }},
      {"image user and working dir apply when the task sets none",
       [](ContainerSpecInput& in) {
         in.image.user = "1234:5678";
         in.image.workingDir = "/app";
       },
       [](const json& s) {
         EXPECT_EQ(s["process"]["user"]["uid"], 1234);
         EXPECT_EQ(s["process"]["user"]["gid"], 5678);
         EXPECT_EQ(s["process"]["cwd"], "/app");
       }},
      {"ulimits override defaults and are clamped to the host",
       [](ContainerSpecInput& in) {
         in.ulimits = {{"nofile", 65536, 1048576}, {"core", 0, 0}};
         in.hostHardLimits = {{"RLIMIT_NOFILE", 20000}};
       },
       [](const json& s) {
         EXPECT_EQ(s["process"]["rlimits"],
                   json::parse(R"([{"type":"RLIMIT_CORE","hard":0,"soft":0},
                                   {"type":"RLIMIT_NOFILE","hard":20000,"soft":20000}])"));
       }},
      {"capabilities add and drop",
       [](ContainerSpecInput& in) {
         in.capAdd = {"SYS_ADMIN", "sys_time"};
         in.capDrop = {"NET_RAW", "CAP_MKNOD"};
       },
       [](const json& s) {
         Strings caps = s["process"]["capabilities"]["effective"];
         EXPECT_EQ(std::count(caps.begin(), caps.end(), "CAP_SYS_ADMIN"), 1);
         EXPECT_EQ(std::count(caps.begin(), caps.end(), "CAP_SYS_TIME"), 1);
         EXPECT_EQ(std::count(caps.begin(), caps.end(), "CAP_NET_RAW"), 0);
         EXPECT_EQ(std::count(caps.begin(), caps.end(), "CAP_MKNOD"), 0);
         EXPECT_EQ(caps.size(), defaultCapabilities().size());
         // Seccomp follows the capabilities.
         EXPECT_TRUE(seccompAllows(s, "mount"));
         EXPECT_TRUE(seccompAllows(s, "clock_settime"));
       }},
      {"drop ALL then add",
       [](ContainerSpecInput& in) {
         in.capDrop = {"ALL"};
         in.capAdd = {"NET_BIND_SERVICE"};
       },
       [](const json& s) {
         EXPECT_EQ(s["process"]["capabilities"]["effective"], (Strings{"CAP_NET_BIND_SERVICE"}));
         EXPECT_FALSE(seccompAllows(s, "chroot"));
       }},
      {"add ALL minus drop, limited to the host's bounding set",
       [](ContainerSpecInput& in) {
         in.capAdd = {"ALL"};
         in.capDrop = {"SYS_MODULE"};
         in.hostCapabilities = Strings{"CAP_CHOWN", "CAP_SYS_MODULE", "CAP_KILL"};
       },
       [](const json& s) { EXPECT_EQ(s["process"]["capabilities"]["effective"], (Strings{"CAP_CHOWN", "CAP_KILL"})); }},
      {"privileged",
       [](ContainerSpecInput& in) { in.privileged = true; },
       [](const json& s) {
         EXPECT_EQ(s["process"]["capabilities"]["bounding"], json(allCapabilities()));
         EXPECT_FALSE(s["linux"].contains("seccomp"));
         EXPECT_FALSE(s["linux"].contains("maskedPaths"));
         EXPECT_FALSE(s["linux"].contains("readonlyPaths"));
         EXPECT_TRUE(hasOption(*findMount(s, "/sys"), "rw"));
         EXPECT_EQ(s["linux"]["resources"]["devices"], json::parse(R"([{"allow":true,"access":"rwm"}])"));
         EXPECT_EQ(s["process"]["noNewPrivileges"], false);
       }},
      {"init process",
       [](ContainerSpecInput& in) {
         in.initProcessEnabled = true;
         in.initPath = "/usr/bin/tini-static";
       },
       [](const json& s) {
         EXPECT_EQ(s["process"]["args"], (Strings{"/dev/init", "--", "nginx", "-g", "daemon off;"}));
         const json* m = findMount(s, "/dev/init");
         ASSERT_NE(m, nullptr);
         EXPECT_EQ((*m)["source"], "/usr/bin/tini-static");
         EXPECT_TRUE(hasOption(*m, "ro"));
         // After /dev so the tmpfs does not hide it.
         EXPECT_EQ(s["mounts"].back()["destination"], "/dev/init");
       }},
      {"resources and cgroups path",
       [](ContainerSpecInput& in) {
         in.cpuUnits = 512;
         in.memoryMiB = 256;
         in.memoryReservationMiB = 128;
         in.maxSwapMiB = 0;
         in.pidsLimit = 100;
         in.cgroupsPath = "/berth/task-1/web";
         in.sharedMemorySizeMiB = 128;
       },
       [](const json& s) {
         const auto& r = s["linux"]["resources"];
         EXPECT_EQ(r["cpu"]["shares"], 512);
         EXPECT_EQ(r["memory"]["limit"], 256LL << 20);
         EXPECT_EQ(r["memory"]["reservation"], 128LL << 20);
         EXPECT_EQ(r["memory"]["swap"], 256LL << 20);  // maxSwap 0: no swap on top
         EXPECT_EQ(r["pids"]["limit"], 100);
         EXPECT_EQ(s["linux"]["cgroupsPath"], "/berth/task-1/web");
         EXPECT_TRUE(hasOption(*findMount(s, "/dev/shm"), "size=134217728"));
       }},
      {"tmpfs and bind mounts",
       [](ContainerSpecInput& in) {
         in.tmpfs = {{"/scratch", 32, {"exec"}}};
         in.bindMounts = {{"/var/lib/berth/vol/data", "/data", true}};
       },
       [](const json& s) {
         const json* t = findMount(s, "/scratch");
         ASSERT_NE(t, nullptr);
         EXPECT_EQ((*t)["type"], "tmpfs");
         EXPECT_TRUE(hasOption(*t, "size=33554432"));
         EXPECT_TRUE(hasOption(*t, "exec"));
         const json* b = findMount(s, "/data");
         ASSERT_NE(b, nullptr);
         EXPECT_EQ((*b)["source"], "/var/lib/berth/vol/data");
         EXPECT_TRUE(hasOption(*b, "ro"));
         EXPECT_TRUE(hasOption(*b, "rbind"));
       }},
      {"joined network namespace",
       [](ContainerSpecInput& in) { in.networkNamespacePath = "/var/run/netns/task-1"; },
       [](const json& s) {
         for (const auto& ns : s["linux"]["namespaces"]) {
           if (ns["type"] == "network") {
            EXPECT_EQ(ns["path"], "/var/run/netns/task-1");
          }
         }
       }},
      {"host network: no network or UTS namespace, no hostname",
       [](ContainerSpecInput& in) {
         in.hostNetwork = true;
         in.hostname = "the-host";
       },
       [](const json& s) {
         EXPECT_EQ(namespaceTypes(s), (Strings{"pid", "ipc", "mount"}));
         EXPECT_FALSE(s.contains("hostname"));
         const auto& env = s["process"]["env"];
         EXPECT_NE(std::find(env.begin(), env.end(), "HOSTNAME=the-host"), env.end());
       }},
      {"devices",
       [](ContainerSpecInput& in) { in.devices = {{"/dev/fuse", 'c', 10, 229, 0666, "rw"}}; },
       [](const json& s) {
         EXPECT_EQ(s["linux"]["devices"][0]["path"], "/dev/fuse");
         EXPECT_EQ(s["linux"]["resources"]["devices"].back(),
                   json::parse(R"({"allow":true,"type":"c","major":10,"minor":229,"access":"rw"})"));
       }},
      {"arm64 seccomp",
       [](ContainerSpecInput& in) { in.arch = "arm64"; },
       [](const json& s) {
         EXPECT_EQ(s["linux"]["seccomp"]["architectures"], (Strings{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}));
         EXPECT_TRUE(seccompAllows(s, "set_tls"));
         EXPECT_FALSE(seccompAllows(s, "arch_prctl"));
       }},
      {"image annotation",
       [](ContainerSpecInput& in) { in.imageName = "busybox:latest"; },
       [](const json& s) { EXPECT_EQ(s["annotations"]["berth.image"], "busybox:latest"); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto in = baseInput();
    c.edit(in);
    auto spec = build(in);
    if (!spec.is_null()) c.check(spec);
  }
}

TEST(BuildOciSpec, RejectsBadInput) {
  struct Bad {
    const char* name;
    std::function<void(ContainerSpecInput&)> edit;
  };
  const std::vector<Bad> cases = {
      {"relative rootfs", [](ContainerSpecInput& in) { in.rootfsPath = "rootfs"; }},
      {"no command", [](ContainerSpecInput& in) { in.image.cmd.clear(); }},
      {"relative cwd", [](ContainerSpecInput& in) { in.workingDirectory = "srv"; }},
      {"unknown user name", [](ContainerSpecInput& in) { in.user = "nobody-here"; }},
      {"unknown capability", [](ContainerSpecInput& in) { in.capAdd = {"SYS_WIZARD"}; }},
      {"capability the host lacks",
       [](ContainerSpecInput& in) {
         in.capAdd = {"SYS_RESOURCE"};
         in.hostCapabilities = defaultCapabilities();
       }},
      {"unknown ulimit", [](ContainerSpecInput& in) { in.ulimits = {{"files", 1, 1}}; }},
      {"soft above hard", [](ContainerSpecInput& in) { in.ulimits = {{"nofile", 10, 5}}; }},
      {"relative tmpfs", [](ContainerSpecInput& in) { in.tmpfs = {{"scratch", 1, {}}}; }},
  };
  for (const auto& c : cases) {
    auto in = baseInput();
    c.edit(in);
    auto r = buildOciSpec(in);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter) << c.name;
    EXPECT_FALSE(r.error().message.empty()) << c.name;
  }
}

TEST(DefaultSeccomp, CloneIsRestrictedWithoutSysAdmin) {
  auto profile = defaultSeccompProfile(defaultCapabilities(), "amd64");
  bool maskedClone = false, clone3Enosys = false;
  for (const auto& rule : profile["syscalls"]) {
    if (rule["names"] == Strings{"clone"}) {
      maskedClone = rule["args"][0]["op"] == "SCMP_CMP_MASKED_EQ" && rule["args"][0]["value"] == 0x7E020000;
    }
    if (rule["names"] == Strings{"clone3"}) clone3Enosys = rule["errnoRet"] == 38;
  }
  EXPECT_TRUE(maskedClone);
  EXPECT_TRUE(clone3Enosys);
  EXPECT_EQ(profile["defaultErrnoRet"], 1);
}

}  // namespace
}  // namespace berth::runtime
