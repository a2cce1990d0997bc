#include "api/registry_token.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/base64.h"

namespace berth::api {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

class RegistryTokenTest : public ::testing::Test {
 protected:
  StaticCredentialProvider creds{{AwsCredentials{"AKIAREGISTRYTEST0001", "secret-one"},
                                  AwsCredentials{"AKIAREGISTRYTEST0002", "secret-two"}}};
  RegistryTokens tokens{creds};
  std::chrono::system_clock::time_point now{seconds(1'800'000'000)};

  static HttpRequest withAuthorization(std::string value) {
    HttpRequest r;
    r.method = "GET";
    r.target = "/v2/";
    r.headers.emplace_back("authorization", std::move(value));
    return r;
  }
};

TEST_F(RegistryTokenTest, IssuedTokenIsEcrShapedAndVerifies) {
  auto t = tokens.issue("AKIAREGISTRYTEST0001", now);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->expiresAt, now + hours(12));
  // ECR: authorizationToken = base64("AWS:" + password); docker sends exactly it after "Basic ".
  EXPECT_EQ(base64Decode(t->authorizationToken), "AWS:" + t->password);
  auto p = tokens.verify(withAuthorization("Basic " + t->authorizationToken), now + hours(1));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->accessKeyId, "AKIAREGISTRYTEST0001");
}

TEST_F(RegistryTokenTest, ExpiresAfterTwelveHours) {
  auto t = tokens.issue("AKIAREGISTRYTEST0001", now);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(tokens.verifyPassword(t->password, now + hours(12) - seconds(1)).ok());
  auto late = tokens.verifyPassword(t->password, now + hours(12));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ErrorCode::kAuthInvalidSignature);
  EXPECT_NE(late.error().message.find("expired"), std::string::npos);
}

TEST_F(RegistryTokenTest, UnknownKeyCannotGetAToken) {
  auto t = tokens.issue("AKIANOBODY", now);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, ErrorCode::kAuthUnrecognizedClient);
}

TEST_F(RegistryTokenTest, ForgedOrTamperedPasswordsAreRefused) {
  auto t = tokens.issue("AKIAREGISTRYTEST0001", now);
  ASSERT_TRUE(t.ok());
  // Claim the other key with the first key's MAC.
  auto dot1 = t->password.find('.');
  auto dot2 = t->password.rfind('.');
  std::string other = t->password.substr(0, dot1 + 1) +
                      base64UrlEncode("AKIAREGISTRYTEST0002." + std::to_string(1'800'043'200)) +
                      t->password.substr(dot2);
  EXPECT_FALSE(tokens.verifyPassword(other, now).ok());
  // Extend the expiry.
  std::string later = t->password.substr(0, dot1 + 1) +
                      base64UrlEncode("AKIAREGISTRYTEST0001." + std::to_string(1'900'000'000)) +
                      t->password.substr(dot2);
  EXPECT_FALSE(tokens.verifyPassword(later, now).ok());
  for (const std::string& bad : std::vector<std::string>{"", "x", "berth1..", "berth1.abc.def", "berth2." + t->password.substr(7),
                          t->password + "A"}) {
    auto r = tokens.verifyPassword(bad, now);
    EXPECT_FALSE(r.ok()) << bad;
  }
}

TEST_F(RegistryTokenTest, HeaderFormsAndWrongUser) {
  auto t = tokens.issue("AKIAREGISTRYTEST0002", now);
  ASSERT_TRUE(t.ok());
  HttpRequest none;
  EXPECT_EQ(tokens.verify(none, now).error().code, ErrorCode::kAuthMissing);
  EXPECT_EQ(tokens.verify(withAuthorization("Bearer abc"), now).error().code, ErrorCode::kAuthMissing);
  EXPECT_TRUE(tokens.verify(withAuthorization("basic  " + t->authorizationToken), now).ok());
  EXPECT_EQ(tokens.verify(withAuthorization("Basic " + base64Encode("root:" + t->password)), now).error().code,
            ErrorCode::kAuthInvalidSignature);
  EXPECT_EQ(tokens.verify(withAuthorization("Basic !!!"), now).error().code, ErrorCode::kAuthInvalidSignature);
}

}  // namespace
}  // namespace berth::api
