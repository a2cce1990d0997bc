#pragma once
// Shared helpers for the blob store tests: a temp root, byte sources, and a
// fixture with a FakeClock and a seeded Random.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>

#include "blobstore/blob_store.h"
#include "common/clock.h"
#include "common/random.h"

namespace berth::blobstore::test {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/berth-blobs-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Hands out `data`, at most `perCall` bytes per call, then 0.
inline ByteSource sourceOf(std::string data, std::size_t perCall = SIZE_MAX) {
  auto pos = std::make_shared<std::size_t>(0);
  auto bytes = std::make_shared<std::string>(std::move(data));
  return [pos, bytes, perCall](char* out, std::size_t max) -> Result<std::size_t> {
    std::size_t n = std::min({max, perCall, bytes->size() - *pos});
    std::copy_n(bytes->data() + *pos, n, out);
    *pos += n;
    return n;
  };
}

// Hands out `data` (in calls of at most `perCall` bytes), then fails with `error`.
inline ByteSource failingAfter(std::string data, Error error, std::size_t perCall = SIZE_MAX) {
  auto inner = sourceOf(std::move(data), perCall);
  return [inner, error](char* out, std::size_t max) -> Result<std::size_t> {
    auto n = inner(out, max);
    if (n.ok() && *n == 0) return error;
    return n;
  };
}

// Deterministic, non-repeating-looking content of `size` bytes.
inline std::string patternBytes(std::size_t size, unsigned seed = 1) {
  std::string s(size, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

// A one-shot signal between a test and a thread it started. It also opens when
// destroyed, so a failed assertion never leaves that thread blocked: declare it
// after the std::future that joins the thread.
class Gate {
 public:
  Gate() : future_(promise_.get_future().share()) {}
  ~Gate() { open(); }
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  void open() {
    if (!opened_.exchange(true)) promise_.set_value();
  }
  void wait() const { future_.wait(); }
  // For the test thread: fails instead of hanging when the signal never comes.
  bool waitFor(std::chrono::seconds timeout = std::chrono::seconds(10)) const {
    return future_.wait_for(timeout) == std::future_status::ready;
  }

 private:
  std::promise<void> promise_;
  std::shared_future<void> future_;
  std::atomic<bool> opened_{false};
};

inline std::function<Status(const BlobInfo&)> noPublish() {
  return [](const BlobInfo&) { return okStatus(); };
}

inline std::size_t countEntries(const std::string& dir) {
  std::error_code ec;
  std::size_t n = 0;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    ++n;
  }
  return n;
}

inline std::string errorOf(const Error& e) { return std::string(errorCodeName(e.code)) + ": " + e.message; }

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = openStore(); }

  std::string root() const { return dir_.path() + "/root"; }
  std::string uploadsDir() const { return root() + "/uploads"; }

  std::unique_ptr<BlobStore> openStore() {
    auto s = BlobStore::open(root(), clock_, random_);
    if (!s.ok()) {
      ADD_FAILURE() << errorOf(s.error());
      return nullptr;
    }
    return std::move(s).value();
  }

  std::string begin() {
    auto u = store_->beginUpload();
    if (!u.ok()) {
      ADD_FAILURE() << errorOf(u.error());
      return {};
    }
    return u->id;
  }

  // begin + one append + commit.
  oci::Digest put(const std::string& content) {
    std::string id = begin();
    auto n = store_->append(id, 0, sourceOf(content), UINT64_MAX);
    EXPECT_TRUE(n.ok()) << errorOf(n.error());
    auto digest = oci::digestOf(content);
    auto info = store_->commitUpload(id, digest, noPublish());
    EXPECT_TRUE(info.ok()) << errorOf(info.error());
    return digest;
  }

  std::string blobPath(const oci::Digest& d) const {
    return root() + "/blobs/" + std::string(d.algorithmName()) + "/" + d.hex().substr(0, 2) + "/" + d.hex();
  }

  FakeClock clock_;
  SeededRandom random_{7};
  TempDir dir_;
  std::unique_ptr<BlobStore> store_;
};

}  // namespace berth::blobstore::test
