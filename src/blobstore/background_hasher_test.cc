#include "blobstore/background_hasher.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "blobstore/testing/blob_store_fixture.h"

namespace berth::blobstore {
namespace {

TEST(BackgroundHasher, TwoReusedBuffersHashInSubmissionOrder) {
  const std::string data = test::patternBytes(5'000'000, 9);
  oci::DigestHasher hasher;
  {
    BackgroundHasher background(hasher);
    // The caller's pattern: fill one buffer while the other is hashed.
    std::string buffers[2] = {std::string(300'007, '\0'), std::string(300'007, '\0')};
    int current = 0;
    for (std::size_t off = 0; off < data.size(); off += buffers[0].size()) {
      std::size_t n = std::min(buffers[0].size(), data.size() - off);
      std::memcpy(buffers[current].data(), data.data() + off, n);
      background.submit(buffers[current].data(), n);
      current ^= 1;
    }
    background.drain();
    // Overwriting both buffers after drain() must not change the hash.
    buffers[0].assign(buffers[0].size(), 'x');
    buffers[1].assign(buffers[1].size(), 'x');
  }
  EXPECT_EQ(hasher.finish(), oci::digestOf(data));
}

TEST(BackgroundHasher, DestructionFinishesPendingWork) {
  const std::string data = test::patternBytes(2'000'000, 4);
  oci::DigestHasher hasher;
  {
    BackgroundHasher background(hasher);
    background.submit(data.data(), data.size());
  }
  EXPECT_EQ(hasher.finish(), oci::digestOf(data));
}

}  // namespace
}  // namespace berth::blobstore
