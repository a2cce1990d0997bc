#include "oci/digest.h"

#include <gtest/gtest.h>

namespace berth::oci {
namespace {

constexpr const char* kEmptySha256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(DigestTest, ParsesSha256AndSha512) {
  auto d = Digest::parse(kEmptySha256);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->algorithm(), DigestAlgorithm::kSha256);
  EXPECT_EQ(d->str(), kEmptySha256);
  std::string sha512 = "sha512:" + std::string(128, 'a');
  auto d2 = Digest::parse(sha512);
  ASSERT_TRUE(d2.ok());
  EXPECT_EQ(d2->algorithm(), DigestAlgorithm::kSha512);
  EXPECT_EQ(d2->algorithmName(), "sha512");
}

TEST(DigestTest, RejectsMalformed) {
  for (const char* bad : {"", "sha256", "sha256:", "e3b0c442", "sha256:abc",
                          "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                          "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
                          "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550",
                          "md5:d41d8cd98f00b204e9800998ecf8427e", "SHA256:e3b0", "sha256::", ":abc",
                          "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}) {
    EXPECT_FALSE(Digest::parse(bad).ok()) << bad;
  }
  auto r = Digest::parse("md5:d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_NE(r.error().message.find("unsupported digest algorithm"), std::string::npos);
}

TEST(DigestTest, HashesIncrementally) {
  EXPECT_EQ(digestOf("").str(), kEmptySha256);
  DigestHasher h;
  h.update("hello ");
  h.update("world");
  EXPECT_EQ(h.finish().str(), "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
  EXPECT_EQ(digestOf("abc", DigestAlgorithm::kSha512).hex().substr(0, 16), "ddaf35a193617aba");
}

}  // namespace
}  // namespace berth::oci
