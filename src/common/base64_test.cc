#include "common/base64.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(base64Encode(plain), encoded);
    auto decoded = base64Decode(encoded);
    ASSERT_TRUE(decoded) << encoded;
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(Base64, BinaryRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(base64Decode(base64Encode(all)), all);
  EXPECT_EQ(base64UrlDecode(base64UrlEncode(all)), all);
  EXPECT_EQ(base64UrlEncode(all).find_first_of("+/="), std::string::npos);
}

TEST(Base64, RefusesMalformedInput) {
  EXPECT_FALSE(base64Decode("Zg="));      // length not a multiple of 4
  EXPECT_FALSE(base64Decode("Z!==")); // outside the alphabet
  EXPECT_FALSE(base64Decode("Zh=="));     // stray bits: not what any input encodes to
  EXPECT_FALSE(base64Decode("Z==="));
  EXPECT_FALSE(base64Decode("Zm9v\n"));
  EXPECT_FALSE(base64UrlDecode("Zm9v+"));  // standard alphabet char in URL form
}

TEST(Base64, UrlFormAcceptsMissingPadding) {
  EXPECT_EQ(base64UrlDecode("Zm8"), "fo");
  EXPECT_EQ(base64UrlDecode("Zm8="), "fo");
  EXPECT_EQ(base64UrlEncode("\xfb\xff"), "-_8");
}

}  // namespace
}  // namespace berth
