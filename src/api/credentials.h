#pragma once
// AWS access keys: the credential type shared by the SigV4 verifier and
// signer, the lookup interface the verifier uses, and the server's bootstrap
// credentials (generated once, kept in the data dir like ~/.aws/credentials).
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/random.h"
#include "common/result.h"

namespace berth::api {

struct AwsCredentials {
  std::string accessKeyId;
  std::string secretAccessKey;
};

// Looks up the secret for an access key id. Implementations must be safe to
// call from several request threads at once.
class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;
  // nullopt if the access key id is unknown.
  virtual std::optional<std::string> secretFor(std::string_view accessKeyId) const = 0;
  // The secret for a request that carries a session token (X-Amz-Security-Token):
  // nullopt unless the token is valid for this key id and not expired.
  // Providers that know no session credentials ignore the token (the
  // verifier's behaviour before task credentials existed).
  virtual std::optional<std::string> sessionSecretFor(std::string_view accessKeyId,
                                                      std::string_view sessionToken) const {
    (void)sessionToken;
    return secretFor(accessKeyId);
  }
};

// A fixed set of keys (the bootstrap key, test keys). Immutable after
// construction, so concurrent lookups need no lock.
class StaticCredentialProvider final : public CredentialProvider {
 public:
  StaticCredentialProvider() = default;
  explicit StaticCredentialProvider(const std::vector<AwsCredentials>& credentials);
  std::optional<std::string> secretFor(std::string_view accessKeyId) const override;

 private:
  std::unordered_map<std::string, std::string> secrets_;  // access key id -> secret
};

struct BootstrapCredentials {
  AwsCredentials credentials;
  bool generated = false;  // true only on the call that created the file: print the keys once
  std::string source;      // "env" or the path of the credentials file
};

// Environment variables that override the bootstrap credentials file.
inline constexpr const char* kAccessKeyIdEnv = "BERTH_ACCESS_KEY_ID";
inline constexpr const char* kSecretAccessKeyEnv = "BERTH_SECRET_ACCESS_KEY";

// Bootstrap credentials for the server, in order of precedence:
//  1. env BERTH_ACCESS_KEY_ID + BERTH_SECRET_ACCESS_KEY when both are set
//     (setting only one is an error rather than a silent fallback);
//  2. the [default] profile of DIR/credentials when that file exists;
//  3. otherwise a new key pair ("AKIA" + 16 base32 chars, 40-char secret),
//     written to DIR/credentials in AWS shared-credentials format with mode
//     0600 (temp file + fsync + no-clobber link), returned with generated=true.
// If another process creates the file concurrently, its keys win and are
// returned with generated=false.
Result<BootstrapCredentials> loadOrCreateBootstrapCredentials(
    const std::string& dataDir, Random& random,
    const std::function<const char*(const char*)>& getenv = ::getenv);

// Parses the [profile] section of an AWS shared-credentials file
// (aws_access_key_id / aws_secret_access_key). '#' and ';' start comment
// lines; keys are case-insensitive; other keys in the section are ignored.
Result<AwsCredentials> parseSharedCredentials(std::string_view text, std::string_view profile = "default");

// Renders credentials as a shared-credentials file with one [profile] section.
std::string formatSharedCredentials(const AwsCredentials& credentials, std::string_view profile = "default");

// A new AWS-shaped key pair drawn from `random`.
AwsCredentials generateCredentials(Random& random);

}  // namespace berth::api
