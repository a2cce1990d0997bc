#pragma once
// Temporary credentials for task roles (the ECS credentials endpoint,
// AWS_CONTAINER_CREDENTIALS_*_URI). The server mints them for a task whose
// definition (or overrides) name a taskRoleArn; the agent hands them to the
// task's containers; SDKs sign requests to Berth with them like STS session
// credentials (AccessKeyId "ASIA...", X-Amz-Security-Token).
//
// Stateless: nothing is stored per credential. The secret is derived from a
// server-held key and the access key id; the session token carries the claims
// (key id, task, role, expiry) and an HMAC over them, so any server holding
// the key verifies them, across restarts, without a lookup table. The key is
// derived from the bootstrap credentials (rotating those revokes every
// outstanding task credential).
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "api/credentials.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/result.h"

namespace berth::api {

struct TemporaryCredentials {
  std::string accessKeyId;  // "ASIA" + 16 base32 chars
  std::string secretAccessKey;
  std::string sessionToken;
  std::chrono::system_clock::time_point expiration;
};

// What a valid session token says.
struct SessionClaims {
  std::string accessKeyId;
  std::string taskArn;
  std::string roleArn;
  std::chrono::system_clock::time_point expiration;
};

// The token-signing key for a server, derived from its bootstrap credentials.
std::string deriveTaskCredentialKey(const AwsCredentials& bootstrap);

// Mints and verifies task credentials, and is the server's CredentialProvider:
// long-term keys are looked up in `longTerm`, session keys are verified here.
class TaskCredentialIssuer final : public CredentialProvider {
 public:
  // `longTerm` and `clock` must outlive the issuer. `key` must not be empty.
  TaskCredentialIssuer(std::string key, const CredentialProvider& longTerm, const Clock& clock, Random& random);

  TemporaryCredentials mint(const std::string& taskArn, const std::string& roleArn, std::chrono::seconds lifetime);

  // The claims of `sessionToken` if it was minted with this key for
  // `accessKeyId` and has not expired. Errors: kAuthUnrecognizedClient.
  Result<SessionClaims> verify(std::string_view accessKeyId, std::string_view sessionToken) const;

  std::optional<std::string> secretFor(std::string_view accessKeyId) const override;
  std::optional<std::string> sessionSecretFor(std::string_view accessKeyId,
                                              std::string_view sessionToken) const override;

 private:
  std::string secretForKeyId(std::string_view accessKeyId) const;

  const std::string key_;
  const CredentialProvider& longTerm_;
  const Clock& clock_;
  std::mutex randomMu_;  // Random implementations need not be thread-safe
  Random& random_;
};

}  // namespace berth::api
