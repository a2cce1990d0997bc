#include "ssm/parameter_cipher.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/base64.h"
#include "control/testing/ecs_fixture.h"

namespace berth::ssm {
namespace {

std::unique_ptr<ParameterCipher> cipherWithKey(char fill) {
  return std::move(ParameterCipher::fromKey(std::string(ParameterCipher::kKeyBytes, fill)).value());
}

TEST(ParameterCipher, SealsAndOpens) {
  auto c = cipherWithKey('a');
  auto sealed = c->seal("hunter2", "db/password");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->find("hunter2"), std::string::npos);
  EXPECT_EQ(base64Decode(*sealed)->find("hunter2"), std::string::npos);
  EXPECT_EQ(c->open(*sealed, "db/password").value(), "hunter2");
}

TEST(ParameterCipher, FreshNonceEachTime) {
  auto c = cipherWithKey('a');
  EXPECT_NE(c->seal("same", "n").value(), c->seal("same", "n").value());
}

TEST(ParameterCipher, RefusesOtherNameOtherKeyAndTampering) {
  auto c = cipherWithKey('a');
  auto sealed = c->seal("v", "one").value();
  EXPECT_FALSE(c->open(sealed, "two").ok());
  EXPECT_FALSE(cipherWithKey('b')->open(sealed, "one").ok());
  auto raw = *base64Decode(sealed);
  raw[raw.size() / 2] ^= 1;
  EXPECT_FALSE(c->open(base64Encode(raw), "one").ok());
  EXPECT_FALSE(c->open("not base64!", "one").ok());
}

TEST(ParameterCipher, KeyFileIsCreatedOnceWithMode0600) {
  control::test::TempDir dir;
  const std::string path = dir.file("ssm.key");
  auto first = ParameterCipher::openKeyFile(path);
  ASSERT_TRUE(first.ok()) << first.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, static_cast<off_t>(ParameterCipher::kKeyBytes));
  auto sealed = (*first)->seal("secret", "n").value();
  auto second = ParameterCipher::openKeyFile(path);  // same key after a restart
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)->open(sealed, "n").value(), "secret");
  ::chmod(path.c_str(), 0644);
  EXPECT_FALSE(ParameterCipher::openKeyFile(path).ok());
}

}  // namespace
}  // namespace berth::ssm
