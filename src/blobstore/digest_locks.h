#pragma once
// Striped per-digest locks. commitUpload's publish, withBlobLocked and the
// sweeper's check-then-unlink all take the lock of the digest they act on, so
// "is it referenced?" and "remove it" can never interleave with "record a
// reference". Striping bounds memory; two digests sharing a stripe only wait
// for each other. Stripes are not recursive: code running under one must not
// take another (see BlobStore::withBlobLocked).
#include <array>
#include <cstddef>
#include <mutex>

#include "oci/digest.h"

namespace berth::blobstore {

class DigestLocks {
 public:
  static constexpr std::size_t kStripes = 64;

  std::mutex& forDigest(const oci::Digest& digest) { return stripes_[stripeOf(digest)]; }
  // Digest hex is uniformly distributed, so its leading characters pick a stripe.
  static std::size_t stripeOf(const oci::Digest& digest);

 private:
  std::array<std::mutex, kStripes> stripes_;
};

}  // namespace berth::blobstore
