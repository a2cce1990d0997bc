#pragma once
// ECR-style registry login tokens. GetAuthorizationToken hands out
// base64("AWS:<password>"); clients (`aws ecr get-login-password | skopeo/podman/
// docker login -u AWS --password-stdin`) then send `Authorization: Basic <same>`
// on every /v2/ request.
//
// The password is self-verifying so no token state is stored:
//   "berth1." base64url(accessKeyId "." expiresAtEpochSeconds) "." base64url(HMAC-SHA256)
// keyed by HMAC(secret of accessKeyId, "berth-registry-token"). Rotating or
// removing the access key therefore revokes its tokens; tokens last 12 hours as
// ECR's do.
#include <chrono>
#include <string>

#include "api/credentials.h"
#include "api/http_types.h"
#include "common/result.h"

namespace berth::api {

inline constexpr std::chrono::hours kRegistryTokenLifetime{12};

struct RegistryToken {
  std::string authorizationToken;  // base64("AWS:" + password), as ECR returns it
  std::string password;            // what `aws ecr get-login-password` prints
  std::chrono::system_clock::time_point expiresAt;
};

struct RegistryPrincipal {
  std::string accessKeyId;
  std::chrono::system_clock::time_point expiresAt;
};

class RegistryTokens {
 public:
  explicit RegistryTokens(const CredentialProvider& credentials) : credentials_(credentials) {}

  // kAuthUnrecognizedClient if the access key is unknown.
  Result<RegistryToken> issue(const std::string& accessKeyId, std::chrono::system_clock::time_point now) const;

  // Checks a request's `Authorization: Basic base64(AWS:<password>)`.
  // kAuthMissing when there is no (Basic) Authorization header; kAuthInvalidSignature
  // when the user is not AWS, the password is malformed, forged, for an unknown key
  // or expired (the message says which, for the operator).
  Result<RegistryPrincipal> verify(const HttpRequest& request, std::chrono::system_clock::time_point now) const;
  Result<RegistryPrincipal> verifyPassword(std::string_view password, std::chrono::system_clock::time_point now) const;

 private:
  const CredentialProvider& credentials_;
};

}  // namespace berth::api
