#include "control/tags.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::control {
namespace {

using nlohmann::json;

json tag(const std::string& k, const std::string& v) { return {{"key", k}, {"value", v}}; }

json manyTags(int n, const std::string& prefix = "k") {
  json out = json::array();
  for (int i = 0; i < n; ++i) out.push_back(tag(prefix + std::to_string(i), "v"));
  return out;
}

// A string of n copies of a (possibly multi-byte) character.
std::string repeat(const std::string& c, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += c;
  return s;
}

void expectInvalid(const json& tags, const std::string& why) {
  auto r = validateTags(tags);
  ASSERT_FALSE(r.ok()) << why << ": " << tags.dump();
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter) << why;
}

TEST(ValidateTagsTest, AbsentOrNullIsEmpty) {
  auto r = validateTags(json());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, json::array());
  auto e = validateTags(json::array());
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, json::array());
}

TEST(ValidateTagsTest, NormalisesToKeyValuePairsInOrder) {
  auto r = validateTags(json::array({{{"key", "b"}, {"value", "2"}, {"extra", 1}}, {{"key", "a"}},
                                     {{"key", "c"}, {"value", nullptr}}}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, json::array({tag("b", "2"), tag("a", ""), tag("c", "")}));
}

TEST(ValidateTagsTest, CountLimitIs50) {
  auto fifty = validateTags(manyTags(50));
  ASSERT_TRUE(fifty.ok());
  EXPECT_EQ(fifty->size(), 50u);
  expectInvalid(manyTags(51), "51 tags");
}

TEST(ValidateTagsTest, KeyLengthIs1To128Characters) {
  EXPECT_TRUE(validateTags(json::array({tag(std::string(128, 'k'), "")})).ok());
  expectInvalid(json::array({tag(std::string(129, 'k'), "")}), "129-char key");
  expectInvalid(json::array({tag("", "v")}), "empty key");
  expectInvalid(json::array({{{"value", "v"}}}), "missing key");
  // Characters, not bytes: 128 two-byte letters are fine, 129 are not.
  EXPECT_TRUE(validateTags(json::array({tag(repeat("é", 128), "")})).ok());
  expectInvalid(json::array({tag(repeat("é", 129), "")}), "129 two-byte chars");
}

TEST(ValidateTagsTest, ValueLengthIsAtMost256Characters) {
  EXPECT_TRUE(validateTags(json::array({tag("k", std::string(256, 'v'))})).ok());
  expectInvalid(json::array({tag("k", std::string(257, 'v'))}), "257-char value");
  EXPECT_TRUE(validateTags(json::array({tag("k", repeat("ж", 256))})).ok());
  expectInvalid(json::array({tag("k", repeat("ж", 257))}), "257 two-byte chars");
}

TEST(ValidateTagsTest, AwsPrefixIsReservedInAnyCase) {
  for (const char* k : {"aws:foo", "AWS:foo", "Aws:foo", "aWs:", "awS:x"}) expectInvalid(json::array({tag(k, "v")}), k);
  for (const char* k : {"aws", "awsfoo", "aws-foo", "my:aws:foo", "aw:s"})
    EXPECT_TRUE(validateTags(json::array({tag(k, "v")})).ok()) << k;
}

TEST(ValidateTagsTest, CharacterSet) {
  EXPECT_TRUE(validateTags(json::array({tag("Team Name+-=._:/@09", "a b+c-d=e.f_g:h/i@j 10")})).ok());
  EXPECT_TRUE(validateTags(json::array({tag("équipe", "値")})).ok());
  for (const char* bad : {"a*b", "a#b", "a,b", "a!b", "a\"b", "a\x01", "a{b}", "a%b", "a;b"}) {
    expectInvalid(json::array({tag(bad, "v")}), std::string("key ") + bad);
    expectInvalid(json::array({tag("k", bad)}), std::string("value ") + bad);
  }
}

TEST(ValidateTagsTest, DuplicateKeysRejected) {
  expectInvalid(json::array({tag("env", "a"), tag("team", "b"), tag("env", "c")}), "duplicate");
  // Keys are case-sensitive: these are different.
  EXPECT_TRUE(validateTags(json::array({tag("env", "a"), tag("Env", "b")})).ok());
}

TEST(ValidateTagsTest, WrongTypesAreSerializationErrors) {
  for (const json& bad : {json("tags"), json::object(), json::array({"k=v"}), json::array({{{"key", "k"}, {"value", 5}}})}) {
    auto r = validateTags(bad);
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.error().code, ErrorCode::kSerialization) << bad.dump();
  }
  // A non-string key is reported like a missing one.
  auto r = validateTags(json::array({{{"key", 5}}}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
}

TEST(MergeTagsTest, OverwritesExistingKeysInPlaceAndAppendsNewOnes) {
  json existing = json::array({tag("a", "1"), tag("b", "2")});
  auto r = mergeTags(existing, json::array({tag("b", "20"), tag("c", "3")}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, json::array({tag("a", "1"), tag("b", "20"), tag("c", "3")}));
  // Inputs are not modified.
  EXPECT_EQ(existing, json::array({tag("a", "1"), tag("b", "2")}));
}

TEST(MergeTagsTest, NullExistingIsEmpty) {
  auto r = mergeTags(json(), json::array({tag("a", "1")}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, json::array({tag("a", "1")}));
}

TEST(MergeTagsTest, LimitCountsTheMergedResult) {
  json existing = manyTags(49);
  auto fifty = mergeTags(existing, json::array({tag("new", "v")}));
  ASSERT_TRUE(fifty.ok());
  EXPECT_EQ(fifty->size(), 50u);
  auto over = mergeTags(existing, json::array({tag("new", "v"), tag("new2", "v")}));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kInvalidParameter);
  // Overwriting at the limit adds nothing.
  auto overwrite = mergeTags(*fifty, json::array({tag("k0", "changed"), tag("new", "changed")}));
  ASSERT_TRUE(overwrite.ok());
  EXPECT_EQ(overwrite->size(), 50u);
  EXPECT_EQ((*overwrite)[0], tag("k0", "changed"));
  EXPECT_EQ((*overwrite)[49], tag("new", "changed"));
}

TEST(RemoveTagsTest, RemovesListedKeysOnly) {
  json existing = json::array({tag("a", "1"), tag("b", "2"), tag("c", "3")});
  EXPECT_EQ(removeTags(existing, json::array({"b", "zzz"})), json::array({tag("a", "1"), tag("c", "3")}));
  EXPECT_EQ(removeTags(existing, json::array()), existing);
  EXPECT_EQ(removeTags(existing, json::array({"a", "b", "c"})), json::array());
  EXPECT_EQ(removeTags(json(), json::array({"a"})), json::array());
  // Case-sensitive like the keys themselves.
  EXPECT_EQ(removeTags(existing, json::array({"A"})), existing);
}

}  // namespace
}  // namespace berth::control
