#pragma once
// One upload in progress: the data file on disk plus, in memory, its size and
// the incremental sha256 of everything written so far (so committing a sha256
// blob never re-reads it).
//
// Concurrency: `mu` guards the flags and `size`. An append or a commit first
// sets `busy` under `mu` and then owns `dataFd` and `hasher` without holding
// `mu` (the I/O can take minutes); a second append finds `busy` and is refused.
// `gone` means the id no longer exists (committed, cancelled, expired): every
// later operation answers kUploadNotFound, and a busy appender stops at its next
// chunk.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "blobstore/blob_store.h"
#include "common/unique_fd.h"
#include "common/result.h"
#include "oci/digest.h"

namespace berth::blobstore {

// Bytes gathered from the source before each write and hash update: large
// writes keep a multi-GiB push near disk speed.
inline constexpr std::size_t kAppendBufferBytes = std::size_t{1} << 20;
// How much written data accumulates before its writeback is started.
inline constexpr std::uint64_t kWritebackBytes = std::uint64_t{8} << 20;

class UploadSession {
 public:
  // `path` is the root-relative directory ("uploads/<id>") used in messages.
  UploadSession(std::string id, std::string path) : id_(std::move(id)), path_(std::move(path)) {}

  const std::string& id() const { return id_; }
  const std::string& path() const { return path_; }
  std::string dataPath() const;

  // Creates uploads/<id>/{data,started} for a new upload, stamped with `now`.
  // Caller holds `mu`; the directory must not exist.
  Status create(int uploadsFd, std::chrono::system_clock::time_point now);
  // Reloads an upload left by an earlier process: opens its files and re-hashes
  // the data. kUploadNotFound when the directory or data file is missing (or is
  // not a plain directory/file). Caller holds `mu`.
  Status load(int uploadsFd);

  struct AppendOutcome {
    std::optional<Error> error;  // source or write failure; bytes before it stay appended
    bool tooLarge = false;       // the source had more than maxTotalBytes allowed
    bool gone = false;           // cancelled or expired while appending
  };
  // Streams `source` to the end of the data file in kAppendBufferBytes writes,
  // hashing each write after it succeeded, so file and hash always agree.
  // Caller owns the session (busy set). Publishes `size` under `mu` per write.
  AppendOutcome appendFrom(const ByteSource& source, std::uint64_t maxTotalBytes);

  // The file's digest with `algorithm`. sha256 finishes the running hash (the
  // session cannot be appended to afterwards); sha512 re-reads the file.
  Result<oci::Digest> finishDigest(oci::DigestAlgorithm algorithm);

  std::mutex mu;
  // Guarded by mu.
  bool loaded = false;
  bool busy = false;
  bool gone = false;
  std::uint64_t size = 0;
  std::chrono::system_clock::time_point startedAt;

  // Owned by whoever set busy (or by create/load under mu).
  UniqueFd dirFd;
  UniqueFd dataFd;

 private:
  void startWriteback(std::uint64_t written);

  const std::string id_;
  const std::string path_;
  oci::DigestHasher hasher_;  // sha256 of data[0, size)
  std::uint64_t writebackStarted_ = 0;  // owned like dataFd
};

}  // namespace berth::blobstore
