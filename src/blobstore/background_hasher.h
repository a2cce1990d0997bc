#pragma once
// Hashes on a helper thread so that hashing one buffer overlaps with reading
// and writing the next. sha256 runs at roughly disk speed on its own; done in
// series with the write it would halve a large push's throughput.
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

#include "oci/digest.h"

namespace berth::blobstore {

class BackgroundHasher {
 public:
  // `hasher` must not be touched by anyone else until drain() or destruction.
  explicit BackgroundHasher(oci::DigestHasher& hasher);
  ~BackgroundHasher();  // drains, then joins
  BackgroundHasher(const BackgroundHasher&) = delete;
  BackgroundHasher& operator=(const BackgroundHasher&) = delete;

  // Waits until the previously submitted buffer is hashed (so its memory may be
  // reused), then starts hashing `data`, which must stay unchanged until the
  // next submit() or drain() returns. Buffers are hashed in submission order.
  void submit(const char* data, std::size_t size);
  // Waits until everything submitted is hashed.
  void drain();

 private:
  void run();

  oci::DigestHasher& hasher_;
  std::mutex mu_;
  std::condition_variable cv_;
  const char* pending_ = nullptr;  // guarded by mu_; non-null while a buffer is queued or being hashed
  std::size_t pendingSize_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace berth::blobstore
