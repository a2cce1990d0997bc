#include "runtime/default_seccomp.h"

#include <algorithm>
#include <cstdint>

// The rule table uses designated initializers and relies on member defaults;
// -Wextra would flag every omitted field.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace berth::runtime {
namespace {

struct ArgRule {
  unsigned index;
  std::uint64_t value;
  const char* op;
};

// One rule of the profile. A rule applies when every `include*` matches (empty
// = no condition) and no `exclude*` matches.
struct Rule {
  std::vector<const char*> names;
  const char* action = "SCMP_ACT_ALLOW";
  std::vector<ArgRule> args;
  std::vector<const char*> includeCaps;
  std::vector<const char*> excludeCaps;
  std::vector<const char*> includeArches;
  std::vector<const char*> excludeArches;
  int errnoRet = 0;  // only for SCMP_ACT_ERRNO rules
};

// Namespace-creating clone flags: CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET.
constexpr std::uint64_t kCloneNamespaceFlags = 0x7E020000;
constexpr int kEnosys = 38;

const std::vector<Rule>& rules() {
  static const std::vector<Rule> kRules = {
      // Always allowed: the syscalls an ordinary process needs.
      {.names = {"accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset", "chdir",
                 "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
                 "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
                 "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
                 "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
                 "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
                 "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
                 "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl",
                 "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr",
                 "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64",
                 "futex", "futex_time64", "futex_waitv", "futimesat", "getcpu", "getcwd", "getdents",
                 "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
                 "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid",
                 "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit",
                 "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area",
                 "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init",
                 "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
                 "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit",
                 "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc", "kill", "landlock_add_rule",
                 "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link",
                 "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr",
                 "lstat", "lstat64", "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir",
                 "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect",
                 "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
                 "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv",
                 "msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep",
                 "newfstatat", "_newselect", "open", "openat", "openat2", "pause", "pidfd_open",
                 "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll",
                 "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease",
                 "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
                 "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
                 "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir",
                 "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
                 "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
                 "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
                 "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
                 "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
                 "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
                 "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg",
                 "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups",
                 "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32", "setresgid",
                 "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
                 "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid",
                 "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack",
                 "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat",
                 "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range",
                 "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun",
                 "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
                 "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill",
                 "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime",
                 "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid",
                 "write", "writev"}},
      // Safe since Linux 4.8 (ptrace can no longer bypass seccomp); every
      // kernel we support is newer.
      {.names = {"process_vm_readv", "process_vm_writev", "ptrace"}},
      // Any socket family except AF_VSOCK (40).
      {.names = {"socket"}, .args = {{0, 40, "SCMP_CMP_NE"}}},
      // personality(): only PER_LINUX, PER_LINUX32 (0x8), UNAME26 (0x20000),
      // PER_LINUX32|UNAME26 and the query value 0xffffffff.
      {.names = {"personality"}, .args = {{0, 0x0, "SCMP_CMP_EQ"}}},
      {.names = {"personality"}, .args = {{0, 0x8, "SCMP_CMP_EQ"}}},
      {.names = {"personality"}, .args = {{0, 0x20000, "SCMP_CMP_EQ"}}},
      {.names = {"personality"}, .args = {{0, 0x20008, "SCMP_CMP_EQ"}}},
      {.names = {"personality"}, .args = {{0, 0xffffffff, "SCMP_CMP_EQ"}}},
      // Architecture-specific calls.
      {.names = {"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush",
                 "set_tls"},
       .includeArches = {"arm", "arm64"}},
      {.names = {"arch_prctl"}, .includeArches = {"amd64", "x32"}},
      {.names = {"modify_ldt"}, .includeArches = {"amd64", "x32", "x86"}},
      // Capability-gated calls: allowed only when the container holds the
      // capability that makes them meaningful.
      {.names = {"open_by_handle_at"}, .includeCaps = {"CAP_DAC_READ_SEARCH"}},
      {.names = {"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
                 "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl",
                 "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare"},
       .includeCaps = {"CAP_SYS_ADMIN"}},
      // Without CAP_SYS_ADMIN, clone() may not create namespaces...
      {.names = {"clone"},
       .args = {{0, kCloneNamespaceFlags, "SCMP_CMP_MASKED_EQ"}},
       .excludeCaps = {"CAP_SYS_ADMIN"},
       .excludeArches = {"s390", "s390x"}},
      {.names = {"clone"},
       .args = {{1, kCloneNamespaceFlags, "SCMP_CMP_MASKED_EQ"}},
       .excludeCaps = {"CAP_SYS_ADMIN"},
       .includeArches = {"s390", "s390x"}},
      // ...and clone3() (whose flags live in memory seccomp cannot inspect)
      // fails with ENOSYS so libc falls back to clone().
      {.names = {"clone3"}, .action = "SCMP_ACT_ERRNO", .excludeCaps = {"CAP_SYS_ADMIN"}, .errnoRet = kEnosys},
      {.names = {"reboot"}, .includeCaps = {"CAP_SYS_BOOT"}},
      {.names = {"chroot"}, .includeCaps = {"CAP_SYS_CHROOT"}},
      {.names = {"delete_module", "init_module", "finit_module"}, .includeCaps = {"CAP_SYS_MODULE"}},
      {.names = {"acct"}, .includeCaps = {"CAP_SYS_PACCT"}},
      {.names = {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"},
       .includeCaps = {"CAP_SYS_PTRACE"}},
      {.names = {"iopl", "ioperm"}, .includeCaps = {"CAP_SYS_RAWIO"}},
      {.names = {"settimeofday", "stime", "clock_settime", "clock_settime64"}, .includeCaps = {"CAP_SYS_TIME"}},
      {.names = {"vhangup"}, .includeCaps = {"CAP_SYS_TTY_CONFIG"}},
      {.names = {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"},
       .includeCaps = {"CAP_SYS_NICE"}},
      {.names = {"syslog"}, .includeCaps = {"CAP_SYSLOG"}},
      {.names = {"bpf"}, .includeCaps = {"CAP_BPF"}},
      {.names = {"perf_event_open"}, .includeCaps = {"CAP_PERFMON"}},
  };
  return kRules;
}

bool has(const std::vector<std::string>& set, const char* item) {
  return std::find(set.begin(), set.end(), item) != set.end();
}

bool archIn(const std::vector<const char*>& arches, std::string_view arch) {
  return std::any_of(arches.begin(), arches.end(), [&](const char* a) { return arch == a; });
}

std::vector<std::string> scmpArchitectures(std::string_view arch) {
  if (arch == "amd64") return {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  if (arch == "arm64") return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
  if (arch == "386") return {"SCMP_ARCH_X86"};
  if (arch == "arm") return {"SCMP_ARCH_ARM"};
  return {};
}

}  // namespace

std::string_view hostArchitecture() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__i386__)
  return "386";
#elif defined(__arm__)
  return "arm";
#else
  return "unknown";
#endif
}

nlohmann::json defaultSeccompProfile(const std::vector<std::string>& capabilities, std::string_view arch) {
  nlohmann::json syscalls = nlohmann::json::array();
  for (const auto& rule : rules()) {
    bool applies = true;
    for (const char* cap : rule.includeCaps) applies = applies && has(capabilities, cap);
    for (const char* cap : rule.excludeCaps) applies = applies && !has(capabilities, cap);
    if (!rule.includeArches.empty()) applies = applies && archIn(rule.includeArches, arch);
    if (!rule.excludeArches.empty()) applies = applies && !archIn(rule.excludeArches, arch);
    if (!applies) continue;

    nlohmann::json entry = {{"names", rule.names}, {"action", rule.action}};
    if (!rule.args.empty()) {
      nlohmann::json args = nlohmann::json::array();
      for (const auto& a : rule.args) {
        args.push_back({{"index", a.index}, {"value", a.value}, {"valueTwo", 0}, {"op", a.op}});
      }
      entry["args"] = std::move(args);
    }
    if (rule.errnoRet != 0) entry["errnoRet"] = rule.errnoRet;
    syscalls.push_back(std::move(entry));
  }
  return {
      {"defaultAction", "SCMP_ACT_ERRNO"},
      {"defaultErrnoRet", 1},  // EPERM, as Docker
      {"architectures", scmpArchitectures(arch)},
      {"syscalls", std::move(syscalls)},
  };
}

}  // namespace berth::runtime
