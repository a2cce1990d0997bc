#include "images/layer_unpacker.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <vector>

#include "common/unique_fd.h"
#include "common/fs_util.h"

namespace berth::images {
namespace {

constexpr std::size_t kMaxPath = 4096;
constexpr std::size_t kMaxName = 255;
constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr const char* kOpaqueXattr = "trusted.overlay.opaque";

using Fd = UniqueFd;

int openBeneath(int dirfd, const std::string& path, std::uint64_t flags, std::uint64_t resolve) {
  struct open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = flags | O_CLOEXEC;
  how.resolve = resolve;
  int fd;
  do {
    fd = static_cast<int>(::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how));
  } while (fd < 0 && errno == EAGAIN);
  return fd;
}

std::string joinPath(const std::vector<std::string>& parts, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    if (i) s += '/';
    s += parts[i];
  }
  return s;
}

Error hostile(const std::string& entry, std::string why) {
  return Error::make(ErrorCode::kInvalidParameter, "layer entry '" + entry + "' refused: " + std::move(why), entry);
}

// Splits a tar path into clean components: "./a//b/" → {a, b}. Refuses absolute
// paths, ".." anywhere, over-long names.
Result<std::vector<std::string>> splitEntryPath(const std::string& raw) {
  if (raw.size() > kMaxPath) return hostile(raw.substr(0, 64) + "...", "path longer than 4096 bytes");
  // "/" alone names the layer root (umoci writes it); any other absolute path is refused.
  if (raw.find_first_not_of("/.") == std::string::npos && raw.find("..") == std::string::npos) {
    return std::vector<std::string>{};
  }
  if (!raw.empty() && raw[0] == '/') return hostile(raw, "absolute path");
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (pos <= raw.size()) {
    auto slash = raw.find('/', pos);
    if (slash == std::string::npos) slash = raw.size();
    std::string comp = raw.substr(pos, slash - pos);
    pos = slash + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") return hostile(raw, "'..' path component");
    if (comp.size() > kMaxName) return hostile(raw, "path component longer than 255 bytes");
    parts.push_back(std::move(comp));
  }
  return parts;
}

struct DirMeta {
  std::string path;  // relative to root, "" never stored
  mode_t mode;
  uid_t uid;
  gid_t gid;
  struct timespec mtime;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

bool xattrAllowed(std::string_view name) {
  return name.starts_with("user.") || name == "security.capability";
}

class Extractor {
 public:
  Extractor(int rootFd, bool root) : rootFd_(rootFd), isRoot_(root) {}

  Status handle(struct archive* a, struct archive_entry* e);
  Status finish();
  UnpackStats stats;

 private:
  Result<Fd> openParent(const std::string& entry, const std::vector<std::string>& parts, std::size_t n);
  Status clearExisting(const std::string& entry, int parentFd, const std::string& name, bool keepDir, bool* isDir);
  Status writeRegular(struct archive* a, struct archive_entry* e, const std::string& entry, int parentFd,
                      const std::string& name);
  Status applyOwnerModeTimes(int fd, const std::string& entry, struct archive_entry* e);
  std::vector<std::pair<std::string, std::string>> entryXattrs(struct archive_entry* e);

  int rootFd_;
  bool isRoot_;
  std::vector<DirMeta> dirs_;
};

Error resolveError(const std::string& entry, const std::string& parent, int err) {
  switch (err) {
    case EXDEV:
      return hostile(entry, "'" + parent + "' resolves outside the layer (symlink escape)");
    case ELOOP:
      return hostile(entry, "'" + parent + "' has too many levels of symlinks or a magic link");
    case ENOTDIR:
      return hostile(entry, "'" + parent + "' is not a directory");
    default:
      return Error::make(ErrorCode::kIo, "cannot open '" + parent + "' for entry '" + entry + "': " + std::strerror(err),
                         entry);
  }
}

// Opens parts[0..n) as a directory beneath the root, creating missing directories
// (tars may omit them). Symlinks are followed only while they stay beneath root.
Result<Fd> Extractor::openParent(const std::string& entry, const std::vector<std::string>& parts, std::size_t n) {
  constexpr std::uint64_t kResolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  if (n == 0) {
    int fd = ::fcntl(rootFd_, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return Error::make(ErrorCode::kIo, std::string("dup: ") + std::strerror(errno));
    return Fd(fd);
  }
  std::string full = joinPath(parts, n);
  int fd = openBeneath(rootFd_, full, O_RDONLY | O_DIRECTORY, kResolve);
  if (fd >= 0) return Fd(fd);
  if (errno == ENOSYS) {
    return Error::make(ErrorCode::kInternal, "the kernel lacks openat2 (Linux 5.6 or later is required to unpack layers)");
  }
  if (errno != ENOENT) return resolveError(entry, full, errno);
  // Walk, creating what is missing.
  Fd cur(::fcntl(rootFd_, F_DUPFD_CLOEXEC, 0));
  for (std::size_t i = 0; i < n; ++i) {
    std::string prefix = joinPath(parts, i + 1);
    int next = openBeneath(rootFd_, prefix, O_RDONLY | O_DIRECTORY, kResolve);
    if (next < 0 && errno == ENOENT) {
      if (::mkdirat(cur.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST) {
        return Error::make(ErrorCode::kIo, "cannot create '" + prefix + "': " + std::strerror(errno), entry);
      }
      next = openBeneath(rootFd_, prefix, O_RDONLY | O_DIRECTORY, kResolve);
    }
    if (next < 0) return resolveError(entry, prefix, errno);
    cur.reset(next);
  }
  return cur;
}

// Removes whatever is at parentFd/name unless (keepDir && it is a directory).
Status Extractor::clearExisting(const std::string& entry, int parentFd, const std::string& name, bool keepDir,
                                bool* isDir) {
  struct stat st;
  if (isDir) *isDir = false;
  if (::fstatat(parentFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return okStatus();
    return Error::make(ErrorCode::kIo, "cannot stat '" + entry + "': " + std::strerror(errno), entry);
  }
  if (S_ISDIR(st.st_mode)) {
    if (keepDir) {
      if (isDir) *isDir = true;
      return okStatus();
    }
    // Replace a directory: remove it recursively, never following symlinks.
    int dfd = ::openat(parentFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) return Error::make(ErrorCode::kIo, "cannot open '" + entry + "': " + std::strerror(errno), entry);
    char procPath[64];
    std::snprintf(procPath, sizeof procPath, "/proc/self/fd/%d", dfd);
    char real[PATH_MAX];
    ssize_t n = ::readlink(procPath, real, sizeof real - 1);
    ::close(dfd);
    if (n <= 0) return Error::make(ErrorCode::kIo, "cannot resolve '" + entry + "'", entry);
    real[n] = '\0';
    BERTH_TRY(removeTree(real));
    return okStatus();
  }
  if (::unlinkat(parentFd, name.c_str(), 0) != 0) {
    return Error::make(ErrorCode::kIo, "cannot replace '" + entry + "': " + std::strerror(errno), entry);
  }
  return okStatus();
}

std::vector<std::pair<std::string, std::string>> Extractor::entryXattrs(struct archive_entry* e) {
  std::vector<std::pair<std::string, std::string>> out;
  archive_entry_xattr_reset(e);
  const char* name;
  const void* value;
  std::size_t size;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    if (name && xattrAllowed(name)) out.emplace_back(name, std::string(static_cast<const char*>(value), size));
  }
  return out;
}

Status Extractor::applyOwnerModeTimes(int fd, const std::string& entry, struct archive_entry* e) {
  if (isRoot_ && ::fchown(fd, archive_entry_uid(e), archive_entry_gid(e)) != 0) {
    return Error::make(ErrorCode::kIo, "cannot chown '" + entry + "': " + std::strerror(errno), entry);
  }
  for (const auto& [k, v] : entryXattrs(e)) {
    // Best effort: the filesystem may not support user xattrs.
    (void)::fsetxattr(fd, k.c_str(), v.data(), v.size(), 0);
  }
  // chmod after chown: chown clears setuid/setgid bits.
  if (::fchmod(fd, archive_entry_perm(e) & 07777) != 0) {
    return Error::make(ErrorCode::kIo, "cannot chmod '" + entry + "': " + std::strerror(errno), entry);
  }
  struct timespec ts[2];
  ts[1].tv_sec = archive_entry_mtime(e);
  ts[1].tv_nsec = archive_entry_mtime_nsec(e);
  ts[0] = ts[1];
  (void)::futimens(fd, ts);
  return okStatus();
}

Status Extractor::writeRegular(struct archive* a, struct archive_entry* e, const std::string& entry, int parentFd,
                               const std::string& name) {
  Fd fd(::openat(parentFd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) return Error::make(ErrorCode::kIo, "cannot create '" + entry + "': " + std::strerror(errno), entry);
  const void* buf;
  std::size_t size;
  la_int64_t offset;
  while (true) {
    int r = archive_read_data_block(a, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      return Error::make(ErrorCode::kInvalidParameter,
                         "corrupt layer data in '" + entry + "': " + (archive_error_string(a) ? archive_error_string(a) : "?"),
                         entry);
    }
    const char* p = static_cast<const char*>(buf);
    while (size > 0) {
      ssize_t n = ::pwrite(fd.get(), p, size, offset);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Error::make(ErrorCode::kIo, "cannot write '" + entry + "': " + std::strerror(errno), entry);
      }
      p += n;
      size -= static_cast<std::size_t>(n);
      offset += n;
      stats.bytes += static_cast<std::uint64_t>(n);
    }
  }
  // Sparse files may end in a hole.
  if (archive_entry_size_is_set(e) && ::ftruncate(fd.get(), archive_entry_size(e)) != 0) {
    return Error::make(ErrorCode::kIo, "cannot size '" + entry + "': " + std::strerror(errno), entry);
  }
  return applyOwnerModeTimes(fd.get(), entry, e);
}

Status Extractor::handle(struct archive* a, struct archive_entry* e) {
  const char* rawPath = archive_entry_pathname(e);
  if (rawPath == nullptr) rawPath = archive_entry_pathname_utf8(e);
  if (rawPath == nullptr) {
    return Error::make(ErrorCode::kInvalidParameter, "layer entry with an unreadable path name");
  }
  std::string entry(rawPath);
  auto parts = splitEntryPath(entry);
  if (!parts.ok()) return parts.takeError();
  ++stats.entries;
  if (parts->empty()) return okStatus();  // "./": the layer root itself; its metadata is ours
  const std::string name = parts->back();
  const std::size_t parentDepth = parts->size() - 1;

  // Whiteouts (OCI image-spec layer.md, "Whiteouts").
  if (name.starts_with(kWhiteoutPrefix)) {
    auto parent = openParent(entry, *parts, parentDepth);
    if (!parent.ok()) return parent.takeError();
    if (name == kOpaqueMarker) {
      if (::fsetxattr(parent->get(), kOpaqueXattr, "y", 1, 0) != 0) {
        return Error::make(ErrorCode::kIo,
                           "cannot mark '" + entry + "' opaque (xattr " + kOpaqueXattr + "): " + std::strerror(errno),
                           entry);
      }
      return okStatus();
    }
    if (name.starts_with(".wh..wh.")) return okStatus();  // AUFS metadata (e.g. .wh..wh.plnk): ignored
    std::string target = name.substr(kWhiteoutPrefix.size());
    if (target.empty() || target == "." || target == "..") return hostile(entry, "malformed whiteout");
    BERTH_TRY(clearExisting(entry, parent->get(), target, false, nullptr));
    if (::mknodat(parent->get(), target.c_str(), S_IFCHR | 0000, ::makedev(0, 0)) != 0) {
      return Error::make(ErrorCode::kIo, "cannot create whiteout for '" + entry + "': " + std::strerror(errno), entry);
    }
    return okStatus();
  }

  auto parent = openParent(entry, *parts, parentDepth);
  if (!parent.ok()) return parent.takeError();
  int pfd = parent->get();

  // Hard links first: libarchive reports them with the type of their target.
  if (const char* link = archive_entry_hardlink(e); link != nullptr) {
    auto tparts = splitEntryPath(link);
    if (!tparts.ok()) return hostile(entry, "hard link target '" + std::string(link) + "': " + tparts.error().message);
    if (tparts->empty()) return hostile(entry, "hard link to the layer root");
    auto tparent = openParent(entry, *tparts, tparts->size() - 1);
    if (!tparent.ok()) return tparent.takeError();
    struct stat st;
    if (::fstatat(tparent->get(), tparts->back().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return hostile(entry, "hard link target '" + std::string(link) + "' does not exist in the layer");
    }
    if (S_ISDIR(st.st_mode)) return hostile(entry, "hard link to a directory");
    BERTH_TRY(clearExisting(entry, pfd, name, false, nullptr));
    // flags 0: the target itself is linked, never a symlink's destination.
    if (::linkat(tparent->get(), tparts->back().c_str(), pfd, name.c_str(), 0) != 0) {
      return Error::make(ErrorCode::kIo, "cannot hard link '" + entry + "': " + std::strerror(errno), entry);
    }
    return okStatus();
  }

  mode_t type = archive_entry_filetype(e);
  switch (type) {
    case AE_IFDIR: {
      bool exists = false;
      BERTH_TRY(clearExisting(entry, pfd, name, true, &exists));
      if (!exists && ::mkdirat(pfd, name.c_str(), 0700) != 0) {
        return Error::make(ErrorCode::kIo, "cannot create directory '" + entry + "': " + std::strerror(errno), entry);
      }
      DirMeta m{joinPath(*parts, parts->size()),
                static_cast<mode_t>(archive_entry_perm(e) & 07777),
                static_cast<uid_t>(archive_entry_uid(e)),
                static_cast<gid_t>(archive_entry_gid(e)),
                {archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                entryXattrs(e)};
      dirs_.push_back(std::move(m));
      return okStatus();
    }
    case AE_IFREG:
      BERTH_TRY(clearExisting(entry, pfd, name, false, nullptr));
      return writeRegular(a, e, entry, pfd, name);
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      if (target == nullptr || std::strlen(target) == 0 || std::strlen(target) >= kMaxPath) {
        return hostile(entry, "symlink with an empty or over-long target");
      }
      BERTH_TRY(clearExisting(entry, pfd, name, false, nullptr));
      if (::symlinkat(target, pfd, name.c_str()) != 0) {
        return Error::make(ErrorCode::kIo, "cannot create symlink '" + entry + "': " + std::strerror(errno), entry);
      }
      if (isRoot_ && ::fchownat(pfd, name.c_str(), archive_entry_uid(e), archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) != 0) {
        return Error::make(ErrorCode::kIo, "cannot chown symlink '" + entry + "': " + std::strerror(errno), entry);
      }
      struct timespec ts[2];
      ts[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
      ts[0] = ts[1];
      (void)::utimensat(pfd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW);
      return okStatus();
    }
    case AE_IFIFO: {
      BERTH_TRY(clearExisting(entry, pfd, name, false, nullptr));
      if (::mkfifoat(pfd, name.c_str(), 0600) != 0) {
        return Error::make(ErrorCode::kIo, "cannot create fifo '" + entry + "': " + std::strerror(errno), entry);
      }
      Fd fd(::openat(pfd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (fd.get() < 0) return Error::make(ErrorCode::kIo, "cannot open fifo '" + entry + "'", entry);
      // fchown/fchmod do not work on O_PATH fds; go through the fd's /proc path
      // (no symlink follows involved: it names exactly this inode).
      char procPath[64];
      std::snprintf(procPath, sizeof procPath, "/proc/self/fd/%d", fd.get());
      if (isRoot_) (void)::chown(procPath, archive_entry_uid(e), archive_entry_gid(e));
      (void)::chmod(procPath, archive_entry_perm(e) & 0777);
      return okStatus();
    }
    case AE_IFCHR:
      if (archive_entry_rdevmajor(e) == 0 && archive_entry_rdevminor(e) == 0) {
        // Already in overlay whiteout form (layers exported from overlay dirs).
        BERTH_TRY(clearExisting(entry, pfd, name, false, nullptr));
        if (::mknodat(pfd, name.c_str(), S_IFCHR | 0000, ::makedev(0, 0)) != 0) {
          return Error::make(ErrorCode::kIo, "cannot create whiteout '" + entry + "': " + std::strerror(errno), entry);
        }
        return okStatus();
      }
      return hostile(entry, "character device nodes are not allowed in image layers");
    case AE_IFBLK:
      return hostile(entry, "block device nodes are not allowed in image layers");
    case AE_IFSOCK:
      return hostile(entry, "sockets are not allowed in image layers");
    default:
      return hostile(entry, "unknown entry type");
  }
}

// Directory metadata last, deepest first: creating children changes a
// directory's mtime, and a read-only mode would stop us creating them.
Status Extractor::finish() {
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
    int fd = openBeneath(rootFd_, it->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
                         RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) continue;  // replaced later in the tar
      return Error::make(ErrorCode::kIo, "cannot open directory '" + it->path + "': " + std::strerror(errno), it->path);
    }
    Fd guard(fd);
    if (isRoot_ && ::fchown(fd, it->uid, it->gid) != 0) {
      return Error::make(ErrorCode::kIo, "cannot chown '" + it->path + "': " + std::strerror(errno), it->path);
    }
    for (const auto& [k, v] : it->xattrs) (void)::fsetxattr(fd, k.c_str(), v.data(), v.size(), 0);
    if (::fchmod(fd, it->mode) != 0) {
      return Error::make(ErrorCode::kIo, "cannot chmod '" + it->path + "': " + std::strerror(errno), it->path);
    }
    struct timespec ts[2] = {it->mtime, it->mtime};
    (void)::futimens(fd, ts);
  }
  return okStatus();
}

}  // namespace

Result<UnpackStats> unpackLayer(const std::string& archivePath, const std::string& targetDir) {
  Fd root(::open(targetDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (root.get() < 0) return ioError("cannot open unpack target", targetDir, errno);

  struct archive* a = archive_read_new();
  if (a == nullptr) return Error::make(ErrorCode::kInternal, "archive_read_new failed");
  struct Closer {
    struct archive* a;
    ~Closer() { archive_read_free(a); }
  } closer{a};
  archive_read_support_filter_all(a);  // gzip, zstd, none (and others; detection is by magic bytes)
  archive_read_support_format_tar(a);  // ustar, pax, gnutar
  // An empty blob is a valid empty layer for some tools; accept it as such.
  archive_read_support_format_empty(a);
  if (archive_read_open_filename(a, archivePath.c_str(), 1 << 16) != ARCHIVE_OK) {
    return Error::make(ErrorCode::kInvalidParameter,
                       std::string("layer is not a readable tar archive: ") +
                           (archive_error_string(a) ? archive_error_string(a) : "unknown error"),
                       archivePath);
  }
  Extractor ex(root.get(), ::geteuid() == 0);
  while (true) {
    struct archive_entry* e = nullptr;
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      return Error::make(ErrorCode::kInvalidParameter,
                         std::string("corrupt layer archive: ") +
                             (archive_error_string(a) ? archive_error_string(a) : "unknown error"),
                         archivePath);
    }
    auto st = ex.handle(a, e);
    if (!st.ok()) return st.takeError();
  }
  BERTH_TRY(ex.finish());
  return ex.stats;
}

}  // namespace berth::images
