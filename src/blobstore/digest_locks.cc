#include "blobstore/digest_locks.h"

namespace berth::blobstore {
namespace {

unsigned hexValue(char c) { return c <= '9' ? static_cast<unsigned>(c - '0') : static_cast<unsigned>(c - 'a' + 10); }

}  // namespace

std::size_t DigestLocks::stripeOf(const oci::Digest& digest) {
  const std::string& hex = digest.hex();
  std::size_t v = 0;
  for (std::size_t i = 0; i < 4 && i < hex.size(); ++i) v = (v << 4) | hexValue(hex[i]);
  return v % kStripes;
}

}  // namespace berth::blobstore
