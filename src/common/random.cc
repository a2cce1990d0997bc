#include "common/random.h"

#include <openssl/rand.h>

#include <cstdio>
#include <stdexcept>

namespace berth {

std::string Random::hex(std::size_t bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  std::uint64_t word = 0;
  for (std::size_t i = 0; i < bytes; ++i) {
    if (i % 8 == 0) word = next();
    auto b = static_cast<unsigned>(word & 0xff);
    word >>= 8;
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::string Random::uuid() {
  std::string h = hex(16);
  h[12] = '4';
  static constexpr char kVariant[] = "89ab";
  h[16] = kVariant[(h[16] - '0') & 3];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

std::uint64_t SystemRandom::next() {
  std::uint64_t v = 0;
  // RAND_bytes only fails if the OS entropy source is broken: nothing to recover.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) {
    std::fputs("fatal: RAND_bytes failed\n", stderr);
    std::abort();
  }
  return v;
}

std::uint64_t SeededRandom::next() {
  std::lock_guard lock(mu_);
  return engine_();
}

}  // namespace berth
