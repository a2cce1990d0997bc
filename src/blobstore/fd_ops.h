#pragma once
// Descriptor-relative file operations for the store. Every path component is
// opened with O_NOFOLLOW relative to a directory descriptor under the root, so
// a symlink planted inside the root can never lead an operation outside it.
// Errors are kIo and name the root-relative path given as `path`.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "common/result.h"

namespace berth::blobstore {

// One component `name` under dirfd as a directory (O_RDONLY, so it can be fsynced
// and used with *at calls). Returns -1 with errno set (ELOOP/ENOTDIR for a symlink).
int openDirNoFollow(int dirfd, const std::string& name);
// mkdirat that treats "already exists" as success; `created` tells whether it was new.
Status makeDirAt(int dirfd, const std::string& name, const std::string& path, bool* created = nullptr);

Status fsyncFd(int fd, const std::string& path);
// pwrite until all bytes are written (EINTR and short writes retried).
Status pwriteAll(int fd, const char* data, std::size_t size, std::uint64_t offset, const std::string& path);
// pread until `size` bytes or end of file; returns the bytes read.
Result<std::size_t> preadFull(int fd, char* out, std::size_t size, std::uint64_t offset, const std::string& path);

// Names in a directory except "." and "..", read through a fresh open file
// description so the caller's descriptor offset is untouched.
Result<std::vector<std::string>> listDir(int dirfd, const std::string& path);
// Removes directory `name` under parentFd and the files directly inside it
// (never following symlinks; a symlink entry is removed itself). Missing is success.
Status removeFlatDir(int parentFd, const std::string& name, const std::string& path);

// Timestamps the store writes come from the injected Clock (see blob_store_impl.h).
std::chrono::system_clock::time_point fromTimespec(const struct timespec& ts);
struct timespec toTimespec(std::chrono::system_clock::time_point t);
// Sets both atime and mtime of an open file.
Status setFileTime(int fd, std::chrono::system_clock::time_point t, const std::string& path);

}  // namespace berth::blobstore
