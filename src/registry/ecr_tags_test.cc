#include "registry/ecr_tags.h"

#include <gtest/gtest.h>

namespace berth::registry {
namespace {

using nlohmann::json;

TEST(EcrTags, ValidatesAndMerges) {
  auto tags = validateEcrTags(json::parse(R"([{"Key":"team","Value":"core"},{"Key":"env"},{"Key":"team","Value":"edge"}])"));
  ASSERT_TRUE(tags.ok()) << tags.error().message;
  EXPECT_EQ(*tags, json::parse(R"([{"Key":"team","Value":"edge"},{"Key":"env","Value":""}])"));
  EXPECT_EQ(validateEcrTags(json()).value(), json::array());

  auto merged = mergeEcrTags(*tags, json::parse(R"([{"Key":"env","Value":"prod"},{"Key":"x","Value":"1"}])"));
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(*merged, json::parse(R"([{"Key":"team","Value":"edge"},{"Key":"env","Value":"prod"},{"Key":"x","Value":"1"}])"));
  EXPECT_EQ(removeEcrTags(*merged, json::parse(R"(["team","nope"])")),
            json::parse(R"([{"Key":"env","Value":"prod"},{"Key":"x","Value":"1"}])"));
}

TEST(EcrTags, Refusals) {
  auto code = [](const json& tags) {
    auto r = validateEcrTags(tags);
    return r.ok() ? std::optional<ErrorCode>() : r.error().code;
  };
  EXPECT_EQ(code(json::parse(R"([{"Value":"v"}])")), ErrorCode::kInvalidTagParameter);
  EXPECT_EQ(code(json::parse(R"([{"Key":""}])")), ErrorCode::kInvalidTagParameter);
  EXPECT_EQ(code(json::array({{{"Key", std::string(129, 'k')}}})), ErrorCode::kInvalidTagParameter);
  EXPECT_EQ(code(json::array({{{"Key", std::string(128, 'k')}, {"Value", std::string(256, 'v')}}})), std::nullopt);
  EXPECT_EQ(code(json::array({{{"Key", "k"}, {"Value", std::string(257, 'v')}}})), ErrorCode::kInvalidTagParameter);
  EXPECT_EQ(code(json::parse(R"([{"Key":"a*b"}])")), ErrorCode::kInvalidTagParameter);
  EXPECT_EQ(code(json::parse(R"([{"Key":"AWS:name"}])")), ErrorCode::kInvalidTagParameter);
  json many = json::array();
  for (int i = 0; i < 51; ++i) many.push_back({{"Key", "k" + std::to_string(i)}});
  EXPECT_EQ(code(many), ErrorCode::kTooManyTags);
  many.erase(many.begin());
  EXPECT_EQ(code(many), std::nullopt);
  EXPECT_FALSE(mergeEcrTags(validateEcrTags(many).value(), json::parse(R"([{"Key":"one-more","Value":""}])")).ok());
}

}  // namespace
}  // namespace berth::registry
