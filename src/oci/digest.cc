#include "oci/digest.h"

#include <openssl/evp.h>

#include <cassert>

namespace berth::oci {
namespace {

std::size_t hexLength(DigestAlgorithm a) { return a == DigestAlgorithm::kSha256 ? 64 : 128; }

bool isLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The spec's algorithm grammar: [a-z0-9]+ ([+._-] [a-z0-9]+)*
bool validAlgorithmGrammar(std::string_view s) {
  if (s.empty()) return false;
  bool prevSep = true;
  for (char c : s) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    bool sep = c == '+' || c == '.' || c == '_' || c == '-';
    if (!alnum && !sep) return false;
    if (sep && prevSep) return false;
    prevSep = sep;
  }
  return !prevSep;
}

}  // namespace

Result<Digest> Digest::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Error::make(ErrorCode::kInvalidParameter,
                       "invalid digest: expected <algorithm>:<hex>", std::string(text));
  }
  std::string_view alg = text.substr(0, colon);
  std::string_view enc = text.substr(colon + 1);
  if (!validAlgorithmGrammar(alg)) {
    return Error::make(ErrorCode::kInvalidParameter, "invalid digest algorithm", std::string(text));
  }
  DigestAlgorithm a;
  if (alg == "sha256") {
    a = DigestAlgorithm::kSha256;
  } else if (alg == "sha512") {
    a = DigestAlgorithm::kSha512;
  } else {
    return Error::make(ErrorCode::kInvalidParameter,
                       "unsupported digest algorithm '" + std::string(alg) + "' (sha256 and sha512 are supported)",
                       std::string(text));
  }
  if (enc.size() != hexLength(a) || !isLowerHex(enc)) {
    return Error::make(ErrorCode::kInvalidParameter,
                       "invalid " + std::string(alg) + " digest: expected " + std::to_string(hexLength(a)) +
                           " lowercase hex characters",
                       std::string(text));
  }
  return Digest(a, std::string(enc));
}

std::string_view Digest::algorithmName() const {
  return algorithm_ == DigestAlgorithm::kSha256 ? "sha256" : "sha512";
}

std::string Digest::str() const { return std::string(algorithmName()) + ":" + hex_; }

struct DigestHasher::State {
  EVP_MD_CTX* ctx = nullptr;
  ~State() { EVP_MD_CTX_free(ctx); }
};

DigestHasher::DigestHasher(DigestAlgorithm algorithm) : algorithm_(algorithm), state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  const EVP_MD* md = algorithm == DigestAlgorithm::kSha256 ? EVP_sha256() : EVP_sha512();
  // Only allocation failure can make these fail; nothing sensible to recover.
  if (state_->ctx == nullptr || EVP_DigestInit_ex(state_->ctx, md, nullptr) != 1) std::abort();
}

DigestHasher::~DigestHasher() = default;
DigestHasher::DigestHasher(DigestHasher&&) noexcept = default;
DigestHasher& DigestHasher::operator=(DigestHasher&&) noexcept = default;

void DigestHasher::update(const void* data, std::size_t size) {
  assert(state_);
  EVP_DigestUpdate(state_->ctx, data, size);
}

Digest DigestHasher::finish() {
  assert(state_);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, out, &len);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    hex.push_back(kHex[out[i] >> 4]);
    hex.push_back(kHex[out[i] & 0xf]);
  }
  return Digest(algorithm_, std::move(hex));
}

Digest digestOf(std::string_view data, DigestAlgorithm algorithm) {
  DigestHasher h(algorithm);
  h.update(data);
  return h.finish();
}

}  // namespace berth::oci
