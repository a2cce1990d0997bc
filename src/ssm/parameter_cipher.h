#pragma once
// Encryption at rest for SecureString values: AES-256-GCM with one key the
// server generates once and keeps beside its state (DATA/ssm.key, mode 0600).
// Stands in for KMS: whatever KeyId a caller names, this key seals the value.
//
// Sealed form (what the store holds and what GetParameter without decryption
// returns, as AWS returns its KMS ciphertext): base64(0x01 | nonce[12] |
// ciphertext | tag[16]). The parameter's canonical name is bound as
// additional authenticated data, so a sealed value copied onto another
// parameter does not decrypt.
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::ssm {

class ParameterCipher {
 public:
  static constexpr std::size_t kKeyBytes = 32;

  // Reads the key at `path`, creating it (random, mode 0600, written
  // atomically) when the file does not exist. A file of the wrong size or
  // readable by others is refused (kInvalidParameter / kIo).
  static Result<std::unique_ptr<ParameterCipher>> openKeyFile(const std::string& path);
  // A cipher over a given 32-byte key (tests).
  static Result<std::unique_ptr<ParameterCipher>> fromKey(std::string key);

  Result<std::string> seal(std::string_view plaintext, std::string_view boundName) const;
  // kInvalidParameter when `sealed` is not a value this key sealed for `boundName`.
  Result<std::string> open(std::string_view sealed, std::string_view boundName) const;

 private:
  explicit ParameterCipher(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

}  // namespace berth::ssm
