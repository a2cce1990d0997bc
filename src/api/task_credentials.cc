#include "api/task_credentials.h"

#include <nlohmann/json.hpp>

#include "api/sigv4.h"
#include "common/base64.h"

namespace berth::api {
namespace {

using std::chrono::system_clock;

constexpr std::string_view kTokenPrefix = "BERTH1.";
constexpr std::size_t kMaxTokenLength = 4096;

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

Error unrecognized() {
  return Error::make(ErrorCode::kAuthUnrecognizedClient, "The security token included in the request is invalid.");
}

}  // namespace

std::string deriveTaskCredentialKey(const AwsCredentials& bootstrap) {
  return hmacSha256(bootstrap.secretAccessKey, "berth task credentials v1|" + bootstrap.accessKeyId);
}

TaskCredentialIssuer::TaskCredentialIssuer(std::string key, const CredentialProvider& longTerm, const Clock& clock,
                                           Random& random)
    : key_(std::move(key)), longTerm_(longTerm), clock_(clock), random_(random) {}

std::string TaskCredentialIssuer::secretForKeyId(std::string_view accessKeyId) const {
  // 40 characters of base64, the shape of AWS secrets.
  return base64Encode(hmacSha256(key_, "secret|" + std::string(accessKeyId))).substr(0, 40);
}

TemporaryCredentials TaskCredentialIssuer::mint(const std::string& taskArn, const std::string& roleArn,
                                                std::chrono::seconds lifetime) {
  static constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  TemporaryCredentials c;
  c.accessKeyId = "ASIA";
  {
    std::lock_guard lock(randomMu_);
    std::uint64_t word = random_.next();
    for (int i = 0; i < 12; ++i, word >>= 5) c.accessKeyId.push_back(kBase32[word & 31]);
    word = random_.next();
    for (int i = 0; i < 4; ++i, word >>= 5) c.accessKeyId.push_back(kBase32[word & 31]);
  }
  c.secretAccessKey = secretForKeyId(c.accessKeyId);
  // Whole seconds: the expiry is shown to SDKs as an ISO-8601 timestamp.
  c.expiration = std::chrono::time_point_cast<std::chrono::seconds>(clock_.now()) + lifetime;
  const std::int64_t exp =
      std::chrono::duration_cast<std::chrono::seconds>(c.expiration.time_since_epoch()).count();
  const std::string payload =
      base64UrlEncode(nlohmann::json{{"k", c.accessKeyId}, {"t", taskArn}, {"r", roleArn}, {"e", exp}}.dump());
  c.sessionToken = std::string(kTokenPrefix) + payload + "." + base64UrlEncode(hmacSha256(key_, "token|" + payload));
  return c;
}

Result<SessionClaims> TaskCredentialIssuer::verify(std::string_view accessKeyId, std::string_view sessionToken) const {
  if (sessionToken.size() > kMaxTokenLength || sessionToken.substr(0, kTokenPrefix.size()) != kTokenPrefix)
    return unrecognized();
  std::string_view rest = sessionToken.substr(kTokenPrefix.size());
  const std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return unrecognized();
  const std::string payload(rest.substr(0, dot));
  auto mac = base64UrlDecode(rest.substr(dot + 1));
  if (!mac || !constantTimeEquals(*mac, hmacSha256(key_, "token|" + payload))) return unrecognized();
  auto text = base64UrlDecode(payload);
  if (!text) return unrecognized();
  auto claims = nlohmann::json::parse(*text, nullptr, false);
  if (!claims.is_object() || !claims.contains("k") || !claims["k"].is_string() || !claims.contains("e") ||
      !claims["e"].is_number_integer())
    return unrecognized();
  SessionClaims out;
  out.accessKeyId = claims["k"].get<std::string>();
  out.taskArn = claims.value("t", "");
  out.roleArn = claims.value("r", "");
  out.expiration = system_clock::time_point(std::chrono::seconds(claims["e"].get<std::int64_t>()));
  if (out.accessKeyId != accessKeyId) return unrecognized();
  if (clock_.now() >= out.expiration)
    return Error::make(ErrorCode::kAuthUnrecognizedClient, "The security token included in the request is expired");
  return out;
}

std::optional<std::string> TaskCredentialIssuer::secretFor(std::string_view accessKeyId) const {
  return longTerm_.secretFor(accessKeyId);
}

std::optional<std::string> TaskCredentialIssuer::sessionSecretFor(std::string_view accessKeyId,
                                                                  std::string_view sessionToken) const {
  if (verify(accessKeyId, sessionToken).ok()) return secretForKeyId(accessKeyId);
  // Not one of ours: a long-term key with a token is the long-term provider's
  // call; a minted key id is unknown there, so a bad token is refused.
  return longTerm_.sessionSecretFor(accessKeyId, sessionToken);
}

}  // namespace berth::api
