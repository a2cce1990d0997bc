#include "api/task_credentials.h"

#include <gtest/gtest.h>

#include "api/sigv4.h"

namespace berth::api {
namespace {

using namespace std::chrono_literals;

const AwsCredentials kBootstrap{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};
const std::string kTask = "arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef0123456789abcdef";
const std::string kRole = "arn:aws:iam::000000000000:role/app";

struct Fixture {
  FakeClock clock;
  SeededRandom random{7};
  StaticCredentialProvider longTerm{std::vector<AwsCredentials>{kBootstrap}};
  TaskCredentialIssuer issuer{deriveTaskCredentialKey(kBootstrap), longTerm, clock, random};
};

HttpRequest signedRequest(const TemporaryCredentials& c, std::chrono::system_clock::time_point now,
                          const std::string& token) {
  HttpRequest req;
  req.method = "POST";
  req.target = "/";
  req.headers = {{"host", "127.0.0.1:8080"},
                 {"content-type", "application/x-amz-json-1.1"},
                 {"x-amz-target", "AmazonEC2ContainerServiceV20141113.ListClusters"}};
  if (!token.empty()) req.headers.emplace_back("x-amz-security-token", token);
  req.body = "{}";
  signSigV4(req, AwsCredentials{c.accessKeyId, c.secretAccessKey}, "us-east-1", "ecs", now);
  return req;
}

TEST(TaskCredentials, MintedCredentialsHaveAwsShapes) {
  Fixture f;
  auto c = f.issuer.mint(kTask, kRole, 3600s);
  EXPECT_EQ(c.accessKeyId.size(), 20u);
  EXPECT_EQ(c.accessKeyId.substr(0, 4), "ASIA");
  EXPECT_EQ(c.secretAccessKey.size(), 40u);
  EXPECT_EQ(c.expiration, f.clock.now() + 3600s);
  auto other = f.issuer.mint(kTask, kRole, 3600s);
  EXPECT_NE(other.accessKeyId, c.accessKeyId);
  EXPECT_NE(other.secretAccessKey, c.secretAccessKey);
}

TEST(TaskCredentials, TokenVerifiesWithItsClaims) {
  Fixture f;
  auto c = f.issuer.mint(kTask, kRole, 3600s);
  auto claims = f.issuer.verify(c.accessKeyId, c.sessionToken);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->taskArn, kTask);
  EXPECT_EQ(claims->roleArn, kRole);
  EXPECT_EQ(claims->expiration, c.expiration);
  EXPECT_EQ(f.issuer.sessionSecretFor(c.accessKeyId, c.sessionToken), c.secretAccessKey);
}

TEST(TaskCredentials, SigV4AcceptsSessionCredentialsWhileValid) {
  Fixture f;
  auto c = f.issuer.mint(kTask, kRole, 3600s);
  auto now = f.clock.now();
  auto ok = verifySigV4(signedRequest(c, now, c.sessionToken), f.issuer, now);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->accessKeyId, c.accessKeyId);
  // The bootstrap key still works through the same provider.
  HttpRequest plain = signedRequest(TemporaryCredentials{kBootstrap.accessKeyId, kBootstrap.secretAccessKey, "", {}},
                                    now, "");
  EXPECT_TRUE(verifySigV4(plain, f.issuer, now).ok());
}

TEST(TaskCredentials, ExpiredCredentialsAreRejected) {
  Fixture f;
  auto c = f.issuer.mint(kTask, kRole, 3600s);
  f.clock.advance(3600s);
  auto claims = f.issuer.verify(c.accessKeyId, c.sessionToken);
  ASSERT_FALSE(claims.ok());
  EXPECT_EQ(claims.error().code, ErrorCode::kAuthUnrecognizedClient);
  auto now = f.clock.now();
  auto r = verifySigV4(signedRequest(c, now, c.sessionToken), f.issuer, now);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kAuthUnrecognizedClient);
}

TEST(TaskCredentials, MissingOrTamperedTokenIsRejected) {
  Fixture f;
  auto c = f.issuer.mint(kTask, kRole, 3600s);
  auto now = f.clock.now();
  // No token: the ASIA key is not a long-term key.
  EXPECT_EQ(verifySigV4(signedRequest(c, now, ""), f.issuer, now).error().code, ErrorCode::kAuthUnrecognizedClient);
  // A flipped character in the claims or in the MAC.
  for (std::size_t pos : {std::size_t(10), c.sessionToken.size() - 3}) {
    std::string bad = c.sessionToken;
    bad[pos] = bad[pos] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(f.issuer.verify(c.accessKeyId, bad).ok()) << pos;
    EXPECT_EQ(verifySigV4(signedRequest(c, now, bad), f.issuer, now).error().code,
              ErrorCode::kAuthUnrecognizedClient);
  }
  // Another credential's token with this key id.
  auto other = f.issuer.mint(kTask, kRole, 3600s);
  EXPECT_FALSE(f.issuer.verify(c.accessKeyId, other.sessionToken).ok());
  // A long-term key with a token is left to the long-term provider (which ignores it).
  EXPECT_EQ(f.issuer.sessionSecretFor(kBootstrap.accessKeyId, "anything"), kBootstrap.secretAccessKey);
  // Garbage.
  EXPECT_FALSE(f.issuer.verify(c.accessKeyId, "BERTH1.").ok());
  EXPECT_FALSE(f.issuer.verify(c.accessKeyId, "").ok());
}

TEST(TaskCredentials, WrongSecretIsRejected) {
  Fixture f;
  auto c = f.issuer.mint(kTask, kRole, 3600s);
  auto now = f.clock.now();
  TemporaryCredentials wrong = c;
  wrong.secretAccessKey[0] = wrong.secretAccessKey[0] == 'A' ? 'B' : 'A';
  auto r = verifySigV4(signedRequest(wrong, now, c.sessionToken), f.issuer, now);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kAuthInvalidSignature);
}

TEST(TaskCredentials, AnotherServerKeyDoesNotVerify) {
  Fixture f;
  auto c = f.issuer.mint(kTask, kRole, 3600s);
  StaticCredentialProvider none;
  TaskCredentialIssuer other(deriveTaskCredentialKey({"AKIAOTHER", "other-secret"}), none, f.clock, f.random);
  EXPECT_FALSE(other.verify(c.accessKeyId, c.sessionToken).ok());
}

}  // namespace
}  // namespace berth::api
