#pragma once
// Content digests as the OCI image spec defines them (descriptor.md, "Digests"):
// "<algorithm>:<encoded>". Berth verifies sha256 (required by the spec) and
// sha512 (registered); other algorithms are refused rather than trusted.
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::oci {

enum class DigestAlgorithm { kSha256, kSha512 };

class Digest {
 public:
  // Parses and validates "sha256:<64 lowercase hex>" or "sha512:<128 lowercase hex>".
  // Errors are kInvalidParameter with the offending value as context.
  static Result<Digest> parse(std::string_view text);
  Digest() = default;  // empty: only a placeholder inside structs before parsing
  bool empty() const { return hex_.empty(); }

  DigestAlgorithm algorithm() const { return algorithm_; }
  std::string_view algorithmName() const;
  const std::string& hex() const { return hex_; }
  std::string str() const;  // "sha256:<hex>"

  friend bool operator==(const Digest&, const Digest&) = default;

 private:
  Digest(DigestAlgorithm a, std::string hex) : algorithm_(a), hex_(std::move(hex)) {}
  friend class DigestHasher;
  DigestAlgorithm algorithm_ = DigestAlgorithm::kSha256;
  std::string hex_;
};

// Incremental hashing, used to verify blobs while they stream to disk.
class DigestHasher {
 public:
  explicit DigestHasher(DigestAlgorithm algorithm = DigestAlgorithm::kSha256);
  ~DigestHasher();
  DigestHasher(DigestHasher&&) noexcept;
  DigestHasher& operator=(DigestHasher&&) noexcept;
  DigestHasher(const DigestHasher&) = delete;
  DigestHasher& operator=(const DigestHasher&) = delete;

  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Finishes the hash; the hasher must not be updated afterwards.
  Digest finish();

 private:
  struct State;
  DigestAlgorithm algorithm_;
  std::unique_ptr<State> state_;
};

// Convenience: digest of an in-memory byte string.
Digest digestOf(std::string_view data, DigestAlgorithm algorithm = DigestAlgorithm::kSha256);

}  // namespace berth::oci
