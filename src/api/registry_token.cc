#include "api/registry_token.h"

#include <openssl/crypto.h>

#include <strings.h>

#include <charconv>

#include "api/sigv4.h"
#include "common/base64.h"

namespace berth::api {
namespace {

constexpr std::string_view kVersion = "berth1";
constexpr std::string_view kUser = "AWS";

std::string mac(std::string_view secret, std::string_view signedPart) {
  // A key derived for this purpose only, so a token MAC can never double as a SigV4 signature.
  return hmacSha256(hmacSha256(secret, "berth-registry-token"), signedPart);
}

Error invalid(std::string message) { return Error::make(ErrorCode::kAuthInvalidSignature, std::move(message)); }

}  // namespace

Result<RegistryToken> RegistryTokens::issue(const std::string& accessKeyId,
                                            std::chrono::system_clock::time_point now) const {
  auto secret = credentials_.secretFor(accessKeyId);
  if (!secret)
    return Error::make(ErrorCode::kAuthUnrecognizedClient, "The security token included in the request is invalid.");
  auto expiresAt = std::chrono::time_point_cast<std::chrono::seconds>(now + kRegistryTokenLifetime);
  std::string signedPart = std::string(kVersion) + "." +
                           base64UrlEncode(accessKeyId + "." + std::to_string(expiresAt.time_since_epoch().count()));
  RegistryToken token;
  token.password = signedPart + "." + base64UrlEncode(mac(*secret, signedPart));
  token.authorizationToken = base64Encode(std::string(kUser) + ":" + token.password);
  token.expiresAt = expiresAt;
  return token;
}

Result<RegistryPrincipal> RegistryTokens::verifyPassword(std::string_view password,
                                                         std::chrono::system_clock::time_point now) const {
  auto firstDot = password.find('.');
  auto lastDot = password.rfind('.');
  if (firstDot == std::string_view::npos || firstDot == lastDot || password.substr(0, firstDot) != kVersion)
    return invalid("The registry password is not a Berth registry token; get one with `aws ecr get-login-password`.");
  auto signedPart = password.substr(0, lastDot);
  auto payload = base64UrlDecode(password.substr(firstDot + 1, lastDot - firstDot - 1));
  auto signature = base64UrlDecode(password.substr(lastDot + 1));
  if (!payload || !signature) return invalid("The registry token is malformed.");
  auto sep = payload->rfind('.');
  if (sep == std::string::npos) return invalid("The registry token is malformed.");
  std::string accessKeyId = payload->substr(0, sep);
  long long expires = 0;
  auto expiresText = std::string_view(*payload).substr(sep + 1);
  auto [end, ec] = std::from_chars(expiresText.data(), expiresText.data() + expiresText.size(), expires);
  if (ec != std::errc() || end != expiresText.data() + expiresText.size())
    return invalid("The registry token is malformed.");
  auto secret = credentials_.secretFor(accessKeyId);
  if (!secret) return invalid("The registry token was issued for an access key this server does not know.");
  std::string expected = mac(*secret, signedPart);
  if (signature->size() != expected.size() || CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0)
    return invalid("The registry token signature does not match.");
  auto expiresAt = std::chrono::system_clock::time_point(std::chrono::seconds(expires));
  if (now >= expiresAt)
    return invalid("Your authorization token has expired. Reauthenticate and try again.");
  return RegistryPrincipal{std::move(accessKeyId), expiresAt};
}

Result<RegistryPrincipal> RegistryTokens::verify(const HttpRequest& request,
                                                 std::chrono::system_clock::time_point now) const {
  const std::string* header = request.header("authorization");
  if (!header) return Error::make(ErrorCode::kAuthMissing, "Authentication is required: log in with the password from `aws ecr get-login-password`.");
  std::string_view value(*header);
  constexpr std::string_view kBasic = "Basic ";
  if (value.size() < kBasic.size() || strncasecmp(value.data(), kBasic.data(), kBasic.size()) != 0)
    return Error::make(ErrorCode::kAuthMissing, "The registry takes Basic authentication with user AWS.");
  value.remove_prefix(kBasic.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  auto decoded = base64Decode(value);
  if (!decoded) return invalid("The Basic credentials are not valid base64.");
  auto colon = decoded->find(':');
  if (colon == std::string::npos || std::string_view(*decoded).substr(0, colon) != kUser)
    return invalid("The registry user must be AWS (docker/skopeo/podman login -u AWS).");
  return verifyPassword(std::string_view(*decoded).substr(colon + 1), now);
}

}  // namespace berth::api
