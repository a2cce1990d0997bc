#include "ssm/parameter_cipher.h"

#include <errno.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/base64.h"
#include "common/fs_util.h"

namespace berth::ssm {
namespace {

constexpr unsigned char kFormatVersion = 0x01;
constexpr int kNonceBytes = 12;
constexpr int kTagBytes = 16;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

Error cryptoError(const char* what) { return Error::make(ErrorCode::kInternal, std::string("AES-256-GCM ") + what + " failed"); }

Error notOurs() {
  return Error::make(ErrorCode::kInvalidParameter, "The SecureString value cannot be decrypted with this server's key.");
}

}  // namespace

Result<std::unique_ptr<ParameterCipher>> ParameterCipher::fromKey(std::string key) {
  if (key.size() != kKeyBytes)
    return Error::make(ErrorCode::kInvalidParameter, "the SSM key must be " + std::to_string(kKeyBytes) + " bytes");
  return std::unique_ptr<ParameterCipher>(new ParameterCipher(std::move(key)));
}

Result<std::unique_ptr<ParameterCipher>> ParameterCipher::openKeyFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0)
      return Error::make(ErrorCode::kIo, "the SSM key file is readable by group or others; chmod 600 it", path);
    auto key = readFile(path, kKeyBytes + 1);
    if (!key.ok()) return key.takeError();
    if (key->size() != kKeyBytes)
      return Error::make(ErrorCode::kInvalidParameter,
                         "the SSM key file holds " + std::to_string(key->size()) + " bytes, not " +
                             std::to_string(kKeyBytes) + "; SecureString values cannot be read without the original key",
                         path);
    return fromKey(std::move(*key));
  }
  if (errno != ENOENT) return ioError("cannot stat the SSM key file", path, errno);
  std::string key(kKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), kKeyBytes) != 1)
    return Error::make(ErrorCode::kInternal, "cannot draw random bytes for the SSM key");
  BERTH_TRY(writeFileAtomic(path, key, 0600));
  return fromKey(std::move(key));
}

Result<std::string> ParameterCipher::seal(std::string_view plaintext, std::string_view boundName) const {
  std::string out(1 + kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  bytes[0] = kFormatVersion;
  unsigned char* nonce = bytes + 1;
  // A fresh random nonce per seal: with 96-bit nonces the collision risk stays
  // negligible far beyond any parameter count a server will see.
  if (RAND_bytes(nonce, kNonceBytes) != 1) return cryptoError("nonce");
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, reinterpret_cast<const unsigned char*>(key_.data()), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(boundName.data()),
                        static_cast<int>(boundName.size())) != 1)
    return cryptoError("setup");
  unsigned char* ct = nonce + kNonceBytes;
  if (EVP_EncryptUpdate(ctx.get(), ct, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1)
    return cryptoError("encrypt");
  int fin = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), ct + len, &fin) != 1) return cryptoError("final");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, ct + plaintext.size()) != 1)
    return cryptoError("tag");
  return base64Encode(out);
}

Result<std::string> ParameterCipher::open(std::string_view sealed, std::string_view boundName) const {
  auto raw = base64Decode(sealed);
  if (!raw || raw->size() < 1 + kNonceBytes + kTagBytes || static_cast<unsigned char>((*raw)[0]) != kFormatVersion)
    return notOurs();
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw->data());
  const unsigned char* nonce = bytes + 1;
  const unsigned char* ct = nonce + kNonceBytes;
  const std::size_t ctLen = raw->size() - 1 - kNonceBytes - kTagBytes;
  std::string plain(ctLen, '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, reinterpret_cast<const unsigned char*>(key_.data()), nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(boundName.data()),
                        static_cast<int>(boundName.size())) != 1)
    return cryptoError("setup");
  if (EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len, ct, static_cast<int>(ctLen)) != 1)
    return notOurs();
  std::string tag(reinterpret_cast<const char*>(ct + ctLen), kTagBytes);
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) != 1) return cryptoError("tag");
  int fin = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len, &fin) != 1) return notOurs();
  return plain;
}

}  // namespace berth::ssm
