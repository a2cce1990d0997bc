#include "agent/registry_access.h"

#include <gtest/gtest.h>

namespace berth::agent {
namespace {

TEST(RegistryAccessTest, RecognisesEcrRegistryHosts) {
  EXPECT_TRUE(isEcrRegistryHost("123456789012.dkr.ecr.eu-west-3.amazonaws.com"));
  EXPECT_TRUE(isEcrRegistryHost("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"));
  EXPECT_FALSE(isEcrRegistryHost("12345678901.dkr.ecr.eu-west-3.amazonaws.com"));  // 11 digits
  EXPECT_FALSE(isEcrRegistryHost("123456789012.dkr.ecr.eu-west-3.amazonaws.com.evil.example"));
  EXPECT_FALSE(isEcrRegistryHost("public.ecr.aws"));
  EXPECT_FALSE(isEcrRegistryHost("docker.io"));
}

TEST(RegistryAccessTest, EcrNamesAndTheServersOwnAddressResolveToTheServer) {
  SystemClock clock;
  ServerEndpoint ep;
  ep.host = "127.0.0.1";
  ep.port = 18080;
  ServerClient client(ep, clock);
  RegistryAccess access(client, clock);
  EXPECT_EQ(access.endpointFor("123456789012.dkr.ecr.eu-west-3.amazonaws.com"), "http://127.0.0.1:18080");
  EXPECT_EQ(access.endpointFor("127.0.0.1:18080"), "http://127.0.0.1:18080");
  EXPECT_EQ(access.endpointFor("127.0.0.1:5000"), std::nullopt);  // another registry on loopback
  EXPECT_EQ(access.endpointFor("quay.io"), std::nullopt);
  // No login is attempted for other registries.
  EXPECT_EQ(access.credentialsFor("quay.io"), std::nullopt);
}

}  // namespace
}  // namespace berth::agent
