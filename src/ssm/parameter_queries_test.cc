#include "ssm/parameter_queries.h"

#include <gtest/gtest.h>

#include <set>

#include "ssm/parameter_ops.h"
#include "ssm/testing/ssm_fixture.h"

namespace berth::ssm {
namespace {

using nlohmann::json;
using control::test::mustOk;

class ParameterQueriesTest : public test::SsmFixture {
 protected:
  void SetUp() override {
    put("top", "String");
    put("/app/a", "String");
    put("/app/b", "SecureString");
    put("/app/db/host", "String");
    put("/app/db/password", "SecureString");
    put("/app/db/deep/x", "StringList");
    put("/other/c", "String");
  }
  void put(const std::string& name, const std::string& type, json extra = json::object()) {
    json req = {{"Name", name}, {"Value", "value-of-" + name}, {"Type", type}};
    req.update(extra);
    mustOk(putParameter(ctx(), req), "PutParameter " + name);
  }
  static std::vector<std::string> names(const json& params) {
    std::vector<std::string> out;
    for (const auto& p : params) out.push_back(p["Name"].get<std::string>());
    return out;
  }
  // Every page of a listing, following NextToken (bounded).
  std::vector<std::string> allPages(Result<json> (*op)(SsmContext&, const json&), json req, std::size_t* pages = nullptr) {
    std::vector<std::string> out;
    std::size_t n = 0;
    for (; n < 50; ++n) {
      json r = mustOk(op(ctx(), req));
      for (const auto& s : names(r["Parameters"])) out.push_back(s);
      if (!r.contains("NextToken")) break;
      req["NextToken"] = r["NextToken"];
    }
    if (pages) *pages = n + 1;
    return out;
  }
};

TEST_F(ParameterQueriesTest, ByPathOneLevelAndRecursive) {
  json one = mustOk(getParametersByPath(ctx(), {{"Path", "/app"}}));
  EXPECT_EQ(names(one["Parameters"]), (std::vector<std::string>{"/app/a", "/app/b"}));
  EXPECT_NE(one["Parameters"][1]["Value"], "value-of-/app/b");  // sealed without WithDecryption
  json rec = mustOk(getParametersByPath(ctx(), {{"Path", "/app/"}, {"Recursive", true}, {"WithDecryption", true}}));
  EXPECT_EQ(names(rec["Parameters"]),
            (std::vector<std::string>{"/app/a", "/app/b", "/app/db/deep/x", "/app/db/host", "/app/db/password"}));
  EXPECT_EQ(rec["Parameters"][1]["Value"], "value-of-/app/b");
  json root = mustOk(getParametersByPath(ctx(), {{"Path", "/"}}));
  EXPECT_EQ(names(root["Parameters"]), (std::vector<std::string>{"top"}));
  EXPECT_EQ(mustFail(getParametersByPath(ctx(), {{"Path", "app"}})).code, ErrorCode::kInvalidParameter);
}

TEST_F(ParameterQueriesTest, ByPathFilters) {
  json r = mustOk(getParametersByPath(ctx(), {{"Path", "/app"},
                                              {"Recursive", true},
                                              {"ParameterFilters", {{{"Key", "Type"}, {"Values", {"SecureString"}}}}}}));
  EXPECT_EQ(names(r["Parameters"]), (std::vector<std::string>{"/app/b", "/app/db/password"}));
  auto e = mustFail(getParametersByPath(ctx(), {{"Path", "/app"}, {"ParameterFilters", {{{"Key", "Name"}, {"Values", {"x"}}}}}}));
  EXPECT_EQ(e.context, "InvalidFilterKey");
  e = mustFail(getParametersByPath(ctx(), {{"Path", "/app"}, {"ParameterFilters", {{{"Key", "Type"}, {"Values", {"Number"}}}}}}));
  EXPECT_EQ(e.context, "InvalidFilterValue");
  e = mustFail(getParametersByPath(
      ctx(), {{"Path", "/app"}, {"ParameterFilters", {{{"Key", "Type"}, {"Option", "BeginsWith"}, {"Values", {"String"}}}}}}));
  EXPECT_EQ(e.context, "InvalidFilterOption");
}

TEST_F(ParameterQueriesTest, ByPathPaginates) {
  std::size_t pages = 0;
  auto all = allPages(getParametersByPath, {{"Path", "/app"}, {"Recursive", true}, {"MaxResults", 2}}, &pages);
  EXPECT_EQ(all, (std::vector<std::string>{"/app/a", "/app/b", "/app/db/deep/x", "/app/db/host", "/app/db/password"}));
  EXPECT_EQ(pages, 3u);
  auto e = mustFail(getParametersByPath(ctx(), {{"Path", "/app"}, {"NextToken", "garbage"}}));
  EXPECT_EQ(e.context, "InvalidNextToken");
  // A token of one listing is no good for another.
  json first = mustOk(getParametersByPath(ctx(), {{"Path", "/app"}, {"Recursive", true}, {"MaxResults", 1}}));
  EXPECT_EQ(mustFail(getParametersByPath(ctx(), {{"Path", "/other"}, {"NextToken", first["NextToken"]}})).context,
            "InvalidNextToken");
}

TEST_F(ParameterQueriesTest, DescribeNeverReturnsValues) {
  json r = mustOk(describeParameters(ctx(), json::object()));
  EXPECT_EQ(r["Parameters"].size(), 7u);
  EXPECT_EQ(r.dump().find("value-of-"), std::string::npos);
  for (const auto& p : r["Parameters"]) EXPECT_FALSE(p.contains("Value"));
}

TEST_F(ParameterQueriesTest, DescribeFilters) {
  auto filtered = [&](json filters) {
    return names(mustOk(describeParameters(ctx(), {{"ParameterFilters", filters}}))["Parameters"]);
  };
  EXPECT_EQ(filtered({{{"Key", "Name"}, {"Values", {"/app/a"}}}}), (std::vector<std::string>{"/app/a"}));
  EXPECT_EQ(filtered({{{"Key", "Name"}, {"Values", {"/top"}}}}), (std::vector<std::string>{"top"}));
  EXPECT_EQ(filtered({{{"Key", "Name"}, {"Option", "BeginsWith"}, {"Values", {"/app/db"}}}}),
            (std::vector<std::string>{"/app/db/deep/x", "/app/db/host", "/app/db/password"}));
  EXPECT_EQ(filtered({{{"Key", "Path"}, {"Values", {"/app/db"}}}}),
            (std::vector<std::string>{"/app/db/host", "/app/db/password"}));
  EXPECT_EQ(filtered({{{"Key", "Path"}, {"Option", "Recursive"}, {"Values", {"/app/db"}}}}),
            (std::vector<std::string>{"/app/db/deep/x", "/app/db/host", "/app/db/password"}));
  EXPECT_EQ(filtered({{{"Key", "Type"}, {"Values", {"SecureString"}}}, {{"Key", "Path"}, {"Values", {"/app"}}}}),
            (std::vector<std::string>{"/app/b"}));
  EXPECT_EQ(filtered({{{"Key", "KeyId"}, {"Values", {"alias/aws/ssm"}}}}),
            (std::vector<std::string>{"/app/b", "/app/db/password"}));
  put("/tagged", "String", {{"Tags", {{{"Key", "env"}, {"Value", "prod"}}}}});
  EXPECT_EQ(filtered({{{"Key", "tag:env"}, {"Values", {"prod"}}}}), (std::vector<std::string>{"/tagged"}));
  EXPECT_EQ(filtered({{{"Key", "tag:env"}}}), (std::vector<std::string>{"/tagged"}));
  // Legacy Filters: Name begins with.
  json legacy = mustOk(describeParameters(ctx(), {{"Filters", {{{"Key", "Name"}, {"Values", {"/other"}}}}}}));
  EXPECT_EQ(names(legacy["Parameters"]), (std::vector<std::string>{"/other/c"}));
  auto e = mustFail(describeParameters(ctx(), {{"Filters", {{{"Key", "Name"}, {"Values", {"a"}}}}},
                                               {"ParameterFilters", {{{"Key", "Name"}, {"Values", {"a"}}}}}}));
  EXPECT_EQ(e.code, ErrorCode::kInvalidParameter);
  e = mustFail(describeParameters(ctx(), {{"ParameterFilters", {{{"Key", "Path"}, {"Option", "Equals"}, {"Values", {"/a"}}}}}}));
  EXPECT_EQ(e.context, "InvalidFilterOption");
}

TEST_F(ParameterQueriesTest, DescribePaginates) {
  std::size_t pages = 0;
  auto all = allPages(describeParameters, {{"MaxResults", 3}}, &pages);
  EXPECT_EQ(all.size(), 7u);
  EXPECT_EQ(pages, 3u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 7u);
}

}  // namespace
}  // namespace berth::ssm
