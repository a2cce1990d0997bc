#include "blobstore/background_hasher.h"

namespace berth::blobstore {

BackgroundHasher::BackgroundHasher(oci::DigestHasher& hasher) : hasher_(hasher), thread_([this] { run(); }) {}

BackgroundHasher::~BackgroundHasher() {
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return pending_ == nullptr; });
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void BackgroundHasher::submit(const char* data, std::size_t size) {
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return pending_ == nullptr; });
    pending_ = data;
    pendingSize_ = size;
  }
  cv_.notify_all();
}

void BackgroundHasher::drain() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return pending_ == nullptr; });
}

void BackgroundHasher::run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || pending_ != nullptr; });
    if (pending_ == nullptr) return;  // stop_ and nothing left
    const char* data = pending_;
    std::size_t size = pendingSize_;
    lock.unlock();
    hasher_.update(data, size);
    lock.lock();
    pending_ = nullptr;
    cv_.notify_all();
  }
}

}  // namespace berth::blobstore
