#include "common/fs_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace berth {

Error ioError(std::string_view what, const std::string& path, int err) {
  return Error::make(ErrorCode::kIo, std::string(what) + " " + path + ": " + std::strerror(err), path);
}

Status writeAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ioError("cannot write", path, errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return okStatus();
}

Status makeDirs(const std::string& path, unsigned mode) {
  std::string cur;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    auto slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    cur = path.substr(0, slash);
    pos = slash + 1;
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) return ioError("cannot create directory", cur, errno);
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ioError("cannot stat", path, errno);
  if (!S_ISDIR(st.st_mode)) return ioError("not a directory:", path, ENOTDIR);
  return okStatus();
}

Status fsyncDir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ioError("cannot open directory", path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ioError("cannot fsync directory", path, err);
  return okStatus();
}

Status removeTree(const std::string& path) {
  std::error_code ec;
  // std::filesystem::remove_all removes symlinks themselves, never their targets.
  std::filesystem::remove_all(path, ec);
  if (ec) return ioError("cannot remove", path, ec.value());
  return okStatus();
}

Status writeFileAtomic(const std::string& path, std::string_view data, unsigned mode) {
  std::string tmpl = path + ".tmp-XXXXXX";
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return ioError("cannot create temp file for", path, errno);
  if (auto st = writeAll(fd, data, tmpl); !st.ok()) {
    ::close(fd);
    ::unlink(tmpl.c_str());
    return st;
  }
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmpl.c_str());
    return ioError("cannot fsync", tmpl, err);
  }
  ::close(fd);
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    return ioError("cannot rename into", path, err);
  }
  return fsyncDir(std::filesystem::path(path).parent_path().string());
}

Result<std::string> readFile(const std::string& path, std::size_t maxBytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Error::make(ErrorCode::kNotFound, "no such file " + path, path);
    return ioError("cannot open", path, errno);
  }
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ioError("cannot read", path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > maxBytes) {
      ::close(fd);
      return Error::make(ErrorCode::kPayloadTooLarge, path + " is larger than " + std::to_string(maxBytes) + " bytes",
                         path);
    }
  }
  ::close(fd);
  return out;
}

}  // namespace berth
