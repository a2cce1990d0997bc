#include "control/task_definition_ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "control/keys.h"
#include "control/testing/ecs_fixture.h"

namespace berth::control {
namespace {

using nlohmann::json;
using test::mustOk;
using namespace std::chrono_literals;

const std::string kTdArnPrefix = "arn:aws:ecs:eu-west-3:123456789012:task-definition/";
constexpr double kStart = 1'700'000'000.0;  // FakeClock's default start, in epoch seconds

std::string tdArn(const std::string& family, int rev) { return kTdArnPrefix + family + ":" + std::to_string(rev); }

json minimal(const std::string& family) {
  return json{{"family", family},
              {"containerDefinitions", {{{"name", "app"}, {"image", "nginx:1.25"}, {"memory", 512}}}}};
}

class TaskDefinitionOpsTest : public test::EcsFixture {
 protected:
  json registerTd(const json& request) { return mustOk(registerTaskDefinition(ctx(), request), "Register"); }
  json registerFamily(const std::string& family) { return registerTd(minimal(family)); }
  json describe(const std::string& ref, const json& include = json::array()) {
    return mustOk(describeTaskDefinition(ctx(), json{{"taskDefinition", ref}, {"include", include}}), "Describe " + ref);
  }
  json deregister(const std::string& ref) {
    return mustOk(deregisterTaskDefinition(ctx(), json{{"taskDefinition", ref}}), "Deregister " + ref);
  }
  json deleteTds(const json& refs) { return mustOk(deleteTaskDefinitions(ctx(), json{{"taskDefinitions", refs}}), "Delete"); }

  Error failure(const Result<json>& r) {
    EXPECT_FALSE(r.ok());
    return r.ok() ? Error{} : r.error();
  }

  // Every ARN of a listing, page by page with `maxResults` (0 = default).
  std::vector<std::string> listAll(json request, int maxResults, int* pagesOut = nullptr) {
    std::vector<std::string> out;
    if (maxResults > 0) request["maxResults"] = maxResults;
    int pages = 0;
    while (true) {
      json page = mustOk(listTaskDefinitions(ctx(), request), "List");
      ++pages;
      if (maxResults > 0) {
        EXPECT_LE(page["taskDefinitionArns"].size(), static_cast<std::size_t>(maxResults));
      }
      for (const auto& a : page["taskDefinitionArns"]) out.push_back(a.get<std::string>());
      if (!page.contains("nextToken") || pages > 100) break;
      request["nextToken"] = page["nextToken"];
    }
    if (pagesOut) *pagesOut = pages;
    return out;
  }
  std::vector<std::string> familiesAll(json request, int maxResults) {
    std::vector<std::string> out;
    if (maxResults > 0) request["maxResults"] = maxResults;
    for (int pages = 0; pages < 100; ++pages) {
      json page = mustOk(listTaskDefinitionFamilies(ctx(), request), "ListFamilies");
      if (maxResults > 0) {
        EXPECT_LE(page["families"].size(), static_cast<std::size_t>(maxResults));
      }
      for (const auto& f : page["families"]) out.push_back(f.get<std::string>());
      if (!page.contains("nextToken")) break;
      request["nextToken"] = page["nextToken"];
    }
    return out;
  }
};

TEST(TaskDefinitionRefTest, Parses) {
  auto fam = parseTaskDefinitionRef("web");
  ASSERT_TRUE(fam.has_value());
  EXPECT_EQ(fam->family, "web");
  EXPECT_FALSE(fam->revision.has_value());
  auto rev = parseTaskDefinitionRef("web_1-x:12");
  ASSERT_TRUE(rev.has_value());
  EXPECT_EQ(rev->family, "web_1-x");
  EXPECT_EQ(rev->revision, 12);
  auto arn = parseTaskDefinitionRef("arn:aws:ecs:eu-west-3:123456789012:task-definition/web:3");
  ASSERT_TRUE(arn.has_value());
  EXPECT_EQ(arn->family, "web");
  EXPECT_EQ(arn->revision, 3);
  for (const char* bad : {"", ":1", "web:", "web:0", "web:-1", "web:1x", "web:x", "a b", "web:1:2",
                          "arn:aws:ecs:eu-west-3:123456789012:task-definition/web",  // ARNs carry a revision
                          "arn:aws:ecs:eu-west-3:123456789012:cluster/web", "arn:aws:iam::1:task-definition/web:1"})
    EXPECT_FALSE(parseTaskDefinitionRef(bad).has_value()) << bad;
  EXPECT_FALSE(parseTaskDefinitionRef(std::string(256, 'f')).has_value());
  EXPECT_TRUE(parseTaskDefinitionRef(std::string(255, 'f')).has_value());
}

TEST_F(TaskDefinitionOpsTest, RegisterAssignsRevisionsAndMetadata) {
  for (int rev = 1; rev <= 3; ++rev) {
    json r = registerFamily("web");
    const json& td = r["taskDefinition"];
    EXPECT_EQ(td["family"], "web");
    EXPECT_EQ(td["revision"], rev);
    EXPECT_EQ(td["taskDefinitionArn"], tdArn("web", rev));
    EXPECT_EQ(td["status"], "ACTIVE");
    EXPECT_DOUBLE_EQ(td["registeredAt"].get<double>(), kStart + 10.0 * (rev - 1));
    EXPECT_EQ(td["registeredBy"], "arn:aws:iam::123456789012:root");
    EXPECT_EQ(td["containerDefinitions"][0]["image"], "nginx:1.25");
    EXPECT_EQ(r["tags"], json::array());
    clock().advance(10s);
  }
  // Another family counts on its own.
  EXPECT_EQ(registerFamily("api")["taskDefinition"]["revision"], 1);
  EXPECT_EQ(cache().countPrefix(keys::familyRevisions("web")), 3u);
  // What describe returns is what register returned.
  json again = describe("web:2");
  EXPECT_EQ(again["taskDefinition"]["revision"], 2);
  EXPECT_DOUBLE_EQ(again["taskDefinition"]["registeredAt"].get<double>(), kStart + 10.0);
}

TEST_F(TaskDefinitionOpsTest, RegisterStoresTags) {
  json tags = json::parse(R"([{"key":"team","value":"core"},{"key":"env","value":"prod"}])");
  json req = minimal("web");
  req["tags"] = tags;
  json r = registerTd(req);
  EXPECT_EQ(r["tags"], tags);
  EXPECT_FALSE(r["taskDefinition"].contains("tags"));  // tags travel beside the task definition
  EXPECT_EQ(describe("web:1", {"TAGS"})["tags"], tags);
  EXPECT_FALSE(describe("web:1").contains("tags"));
}

TEST_F(TaskDefinitionOpsTest, RegisterFailuresWriteNothing) {
  json badTags = minimal("web");
  badTags["tags"] = json::parse(R"([{"key":"aws:reserved","value":"x"}])");
  EXPECT_EQ(failure(registerTaskDefinition(ctx(), badTags)).code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(failure(registerTaskDefinition(ctx(), json{{"family", "web"}})).code, ErrorCode::kClient);
  EXPECT_EQ(failure(registerTaskDefinition(ctx(), minimal("bad family"))).code, ErrorCode::kClient);
  EXPECT_EQ(store().currentRevision(), 0);
  // The failed attempts did not use up revision numbers.
  EXPECT_EQ(registerFamily("web")["taskDefinition"]["revision"], 1);
}

TEST_F(TaskDefinitionOpsTest, DescribeByFamilyRevisionAndArn) {
  for (int i = 0; i < 3; ++i) registerFamily("web");
  EXPECT_EQ(describe("web")["taskDefinition"]["revision"], 3);  // latest ACTIVE
  EXPECT_EQ(describe("web:2")["taskDefinition"]["revision"], 2);
  EXPECT_EQ(describe(tdArn("web", 1))["taskDefinition"]["revision"], 1);
  deregister("web:3");
  EXPECT_EQ(describe("web")["taskDefinition"]["revision"], 2);  // skips the INACTIVE one
  json inactive = describe("web:3");                           // an explicit revision still resolves
  EXPECT_EQ(inactive["taskDefinition"]["status"], "INACTIVE");
  deregister("web:1");
  deregister("web:2");
  Error none = failure(describeTaskDefinition(ctx(), json{{"taskDefinition", "web"}}));
  EXPECT_EQ(none.code, ErrorCode::kClient);
  EXPECT_EQ(none.message, "Unable to describe task definition.");
}

TEST_F(TaskDefinitionOpsTest, DescribeUnknownAndInvalid) {
  registerFamily("web");
  for (const char* ref : {"nope", "web:2", "arn:aws:ecs:eu-west-3:123456789012:task-definition/nope:1"}) {
    Error e = failure(describeTaskDefinition(ctx(), json{{"taskDefinition", ref}}));
    EXPECT_EQ(e.code, ErrorCode::kClient) << ref;
    EXPECT_EQ(e.message, "Unable to describe task definition.") << ref;
  }
  for (const char* ref : {"web:0", "web:x", "bad name", "arn:aws:ecs:eu-west-3:123456789012:cluster/web"})
    EXPECT_EQ(failure(describeTaskDefinition(ctx(), json{{"taskDefinition", ref}})).code, ErrorCode::kClient) << ref;
  EXPECT_EQ(failure(describeTaskDefinition(ctx(), json::object())).code, ErrorCode::kClient);
  EXPECT_EQ(failure(describeTaskDefinition(ctx(), json{{"taskDefinition", "web"}, {"include", {"EVERYTHING"}}})).code,
            ErrorCode::kInvalidParameter);
}

// api: 1(INACTIVE) 2 3; web: 1 2(INACTIVE) 3 4; worker: 1 2.
class ListTaskDefinitionsTest : public TaskDefinitionOpsTest {
 protected:
  void SetUp() override {
    for (int i = 0; i < 4; ++i) registerFamily("web");
    for (int i = 0; i < 3; ++i) registerFamily("api");
    for (int i = 0; i < 2; ++i) registerFamily("worker");
    deregister("web:2");
    deregister("api:1");
  }
  const std::vector<std::string> activeAsc_ = {tdArn("api", 2), tdArn("api", 3), tdArn("web", 1),   tdArn("web", 3),
                                               tdArn("web", 4), tdArn("worker", 1), tdArn("worker", 2)};
};

TEST_F(ListTaskDefinitionsTest, DefaultsToActiveAscending) {
  EXPECT_EQ(listAll(json::object(), 0), activeAsc_);
  std::vector<std::string> desc(activeAsc_.rbegin(), activeAsc_.rend());
  EXPECT_EQ(listAll(json{{"sort", "DESC"}}, 0), desc);
  EXPECT_EQ(listAll(json{{"status", "INACTIVE"}}, 0), (std::vector<std::string>{tdArn("api", 1), tdArn("web", 2)}));
  EXPECT_EQ(listAll(json{{"status", "INACTIVE"}, {"sort", "DESC"}}, 0),
            (std::vector<std::string>{tdArn("web", 2), tdArn("api", 1)}));
  EXPECT_EQ(listAll(json{{"status", "DELETE_IN_PROGRESS"}}, 0), std::vector<std::string>{});
}

TEST_F(ListTaskDefinitionsTest, FamilyPrefixIsTheWholeFamily) {
  EXPECT_EQ(listAll(json{{"familyPrefix", "web"}}, 0),
            (std::vector<std::string>{tdArn("web", 1), tdArn("web", 3), tdArn("web", 4)}));
  EXPECT_EQ(listAll(json{{"familyPrefix", "web"}, {"sort", "DESC"}}, 0),
            (std::vector<std::string>{tdArn("web", 4), tdArn("web", 3), tdArn("web", 1)}));
  EXPECT_EQ(listAll(json{{"familyPrefix", "w"}}, 0), std::vector<std::string>{});
  EXPECT_EQ(listAll(json{{"familyPrefix", "work"}}, 0), std::vector<std::string>{});
  EXPECT_EQ(listAll(json{{"familyPrefix", "api"}, {"status", "INACTIVE"}}, 0),
            (std::vector<std::string>{tdArn("api", 1)}));
}

TEST_F(ListTaskDefinitionsTest, EveryPageSizeBothOrders) {
  const int n = static_cast<int>(activeAsc_.size());
  std::vector<std::string> desc(activeAsc_.rbegin(), activeAsc_.rend());
  for (int size = 1; size <= n + 1; ++size) {
    int pages = 0;
    EXPECT_EQ(listAll(json{{"sort", "ASC"}}, size, &pages), activeAsc_) << "ASC size " << size;
    EXPECT_EQ(pages, (n + size - 1) / size) << "ASC size " << size;
    EXPECT_EQ(listAll(json{{"sort", "DESC"}}, size, &pages), desc) << "DESC size " << size;
    EXPECT_EQ(pages, (n + size - 1) / size) << "DESC size " << size;
    EXPECT_EQ(listAll(json{{"familyPrefix", "web"}, {"sort", "DESC"}}, size),
              (std::vector<std::string>{tdArn("web", 4), tdArn("web", 3), tdArn("web", 1)}));
  }
}

// A page boundary whose task definition leaves the listing (deregistered, so no
// longer ACTIVE) between two calls must not end the listing early.
TEST_F(ListTaskDefinitionsTest, AscContinuesWhenTheLastItemOfAPageLeavesTheListing) {
  json first = mustOk(listTaskDefinitions(ctx(), json{{"familyPrefix", "web"}, {"maxResults", 2}}));
  EXPECT_EQ(first["taskDefinitionArns"], json::array({tdArn("web", 1), tdArn("web", 3)}));
  ASSERT_TRUE(first.contains("nextToken"));
  deregister("web:3");
  json second = mustOk(
      listTaskDefinitions(ctx(), json{{"familyPrefix", "web"}, {"maxResults", 2}, {"nextToken", first["nextToken"]}}));
  EXPECT_EQ(second["taskDefinitionArns"], json::array({tdArn("web", 4)}));
  EXPECT_FALSE(second.contains("nextToken"));
}

TEST_F(ListTaskDefinitionsTest, DescContinuesWhenTheLastItemOfAPageLeavesTheListing) {
  json req = {{"familyPrefix", "web"}, {"sort", "DESC"}, {"maxResults", 2}};
  json first = mustOk(listTaskDefinitions(ctx(), req));
  EXPECT_EQ(first["taskDefinitionArns"], json::array({tdArn("web", 4), tdArn("web", 3)}));
  ASSERT_TRUE(first.contains("nextToken"));
  deregister("web:3");
  req["nextToken"] = first["nextToken"];
  json second = mustOk(listTaskDefinitions(ctx(), req));
  EXPECT_EQ(second["taskDefinitionArns"], json::array({tdArn("web", 1)}));
  EXPECT_FALSE(second.contains("nextToken"));

  // Same when the boundary revision is deleted outright.
  req.erase("nextToken");
  req["maxResults"] = 1;
  json top = mustOk(listTaskDefinitions(ctx(), req));
  EXPECT_EQ(top["taskDefinitionArns"], json::array({tdArn("web", 4)}));
  deregister("web:4");
  deleteTds({"web:4"});
  req["nextToken"] = top["nextToken"];
  EXPECT_EQ(mustOk(listTaskDefinitions(ctx(), req))["taskDefinitionArns"], json::array({tdArn("web", 1)}));
}

TEST_F(ListTaskDefinitionsTest, RejectsBadArgumentsAndForeignTokens) {
  EXPECT_EQ(failure(listTaskDefinitions(ctx(), json{{"status", "DELETED"}})).code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(failure(listTaskDefinitions(ctx(), json{{"sort", "UP"}})).code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(failure(listTaskDefinitions(ctx(), json{{"maxResults", 0}})).code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(failure(listTaskDefinitions(ctx(), json{{"maxResults", 101}})).code, ErrorCode::kInvalidParameter);
  json asc = mustOk(listTaskDefinitions(ctx(), json{{"maxResults", 1}}));
  json desc = mustOk(listTaskDefinitions(ctx(), json{{"maxResults", 1}, {"sort", "DESC"}}));
  ASSERT_TRUE(asc.contains("nextToken") && desc.contains("nextToken"));
  // A token only continues the listing that produced it.
  for (const json& req : {json{{"sort", "DESC"}, {"nextToken", asc["nextToken"]}},
                          json{{"status", "INACTIVE"}, {"nextToken", asc["nextToken"]}},
                          json{{"familyPrefix", "web"}, {"nextToken", asc["nextToken"]}},
                          json{{"nextToken", desc["nextToken"]}}, json{{"nextToken", "junk"}}})
    EXPECT_EQ(failure(listTaskDefinitions(ctx(), req)).code, ErrorCode::kInvalidParameter) << req.dump();
}

TEST_F(TaskDefinitionOpsTest, ListFamiliesByStatusAndPrefix) {
  registerFamily("api");
  registerFamily("api");
  deregister("api:1");  // api: one ACTIVE, one INACTIVE -> ACTIVE
  registerFamily("web");
  registerFamily("webhook");
  registerFamily("old");
  deregister("old:1");  // only INACTIVE revisions -> INACTIVE
  registerFamily("gone");
  deregister("gone:1");
  deleteTds({"gone:1"});  // nothing left -> listed nowhere

  EXPECT_EQ(familiesAll(json::object(), 0), (std::vector<std::string>{"api", "web", "webhook"}));
  EXPECT_EQ(familiesAll(json{{"status", "ACTIVE"}}, 0), (std::vector<std::string>{"api", "web", "webhook"}));
  EXPECT_EQ(familiesAll(json{{"status", "INACTIVE"}}, 0), (std::vector<std::string>{"old"}));
  EXPECT_EQ(familiesAll(json{{"status", "ALL"}}, 0), (std::vector<std::string>{"api", "old", "web", "webhook"}));
  // familyPrefix really is a prefix here.
  EXPECT_EQ(familiesAll(json{{"familyPrefix", "web"}}, 0), (std::vector<std::string>{"web", "webhook"}));
  EXPECT_EQ(familiesAll(json{{"familyPrefix", "o"}, {"status", "ALL"}}, 0), (std::vector<std::string>{"old"}));
  EXPECT_EQ(familiesAll(json{{"familyPrefix", "o"}}, 0), std::vector<std::string>{});
  for (int size = 1; size <= 5; ++size)
    EXPECT_EQ(familiesAll(json{{"status", "ALL"}}, size), (std::vector<std::string>{"api", "old", "web", "webhook"}))
        << "maxResults " << size;

  EXPECT_EQ(failure(listTaskDefinitionFamilies(ctx(), json{{"status", "DELETED"}})).code, ErrorCode::kInvalidParameter);
  json first = mustOk(listTaskDefinitionFamilies(ctx(), json{{"maxResults", 1}}));
  ASSERT_TRUE(first.contains("nextToken"));
  EXPECT_EQ(failure(listTaskDefinitionFamilies(ctx(), json{{"status", "ALL"}, {"nextToken", first["nextToken"]}})).code,
            ErrorCode::kInvalidParameter);
}

TEST_F(TaskDefinitionOpsTest, DeregisterMarksInactiveOnce) {
  registerFamily("web");
  registerFamily("web");
  clock().advance(60s);
  json r = deregister(tdArn("web", 1));
  EXPECT_EQ(r["taskDefinition"]["status"], "INACTIVE");
  EXPECT_EQ(r["taskDefinition"]["revision"], 1);
  EXPECT_DOUBLE_EQ(r["taskDefinition"]["deregisteredAt"].get<double>(), kStart + 60.0);
  EXPECT_EQ(describe("web:1")["taskDefinition"], r["taskDefinition"]);

  // Again: same answer, nothing written, deregisteredAt kept.
  std::int64_t rev = store().currentRevision();
  clock().advance(60s);
  json again = deregister("web:1");
  EXPECT_EQ(again["taskDefinition"], r["taskDefinition"]);
  EXPECT_EQ(store().currentRevision(), rev);

  EXPECT_EQ(failure(deregisterTaskDefinition(ctx(), json{{"taskDefinition", "web"}})).code, ErrorCode::kClient);
  EXPECT_EQ(failure(deregisterTaskDefinition(ctx(), json{{"taskDefinition", "web:9"}})).code, ErrorCode::kClient);
  EXPECT_EQ(failure(deregisterTaskDefinition(ctx(), json::object())).code, ErrorCode::kClient);
  EXPECT_EQ(describe("web:2")["taskDefinition"]["status"], "ACTIVE");
}

TEST_F(TaskDefinitionOpsTest, DeleteOnlyInactiveRevisions) {
  registerFamily("web");
  registerFamily("web");
  registerFamily("web");
  deregister("web:2");
  deregister("web:3");
  clock().advance(5s);
  json r = deleteTds({"web:1", tdArn("web", 2), "nope:1", "web"});
  ASSERT_EQ(r["taskDefinitions"].size(), 1u);
  const json& deleted = r["taskDefinitions"][0];
  EXPECT_EQ(deleted["taskDefinitionArn"], tdArn("web", 2));
  EXPECT_EQ(deleted["status"], "DELETE_IN_PROGRESS");
  EXPECT_DOUBLE_EQ(deleted["deleteRequestedAt"].get<double>(), kStart + 5.0);
  ASSERT_EQ(r["failures"].size(), 3u);
  EXPECT_EQ(r["failures"][0]["arn"], tdArn("web", 1));
  EXPECT_EQ(r["failures"][0]["reason"], "TASK_DEFINITION_NOT_INACTIVE");
  EXPECT_EQ(r["failures"][1]["arn"], tdArn("nope", 1));
  EXPECT_EQ(r["failures"][1]["reason"], "TASK_DEFINITION_NOT_FOUND");
  EXPECT_EQ(r["failures"][2]["reason"], "INVALID_ARGUMENT");

  Error gone = failure(describeTaskDefinition(ctx(), json{{"taskDefinition", "web:2"}}));
  EXPECT_EQ(gone.code, ErrorCode::kClient);
  EXPECT_EQ(describe("web:1")["taskDefinition"]["status"], "ACTIVE");
  EXPECT_EQ(listAll(json{{"status", "INACTIVE"}}, 0), (std::vector<std::string>{tdArn("web", 3)}));
  // Deleting again: not found.
  json again = deleteTds({"web:2"});
  EXPECT_TRUE(again["taskDefinitions"].empty());
  EXPECT_EQ(again["failures"][0]["reason"], "TASK_DEFINITION_NOT_FOUND");
}

TEST_F(TaskDefinitionOpsTest, DeletedRevisionNumbersAreNotReused) {
  registerFamily("web");
  registerFamily("web");
  deregister("web:2");
  deleteTds({"web:2"});
  EXPECT_EQ(registerFamily("web")["taskDefinition"]["revision"], 3);
  // Even when every revision of the family is gone.
  deregister("web:1");
  deregister("web:3");
  deleteTds({"web:1", "web:3"});
  EXPECT_EQ(cache().countPrefix(keys::familyRevisions("web")), 0u);
  EXPECT_EQ(registerFamily("web")["taskDefinition"]["revision"], 4);
  EXPECT_EQ(describe("web")["taskDefinition"]["revision"], 4);
}

TEST_F(TaskDefinitionOpsTest, DeleteRequestLimits) {
  json eleven = json::array();
  for (int i = 1; i <= 11; ++i) eleven.push_back("web:" + std::to_string(i));
  EXPECT_EQ(failure(deleteTaskDefinitions(ctx(), json{{"taskDefinitions", eleven}})).code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(failure(deleteTaskDefinitions(ctx(), json{{"taskDefinitions", json::array()}})).code,
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(failure(deleteTaskDefinitions(ctx(), json::object())).code, ErrorCode::kInvalidParameter);
  eleven.erase(eleven.end() - 1);
  json ten = deleteTds(eleven);
  EXPECT_EQ(ten["failures"].size(), 10u);
}

TEST_F(TaskDefinitionOpsTest, ConcurrentRegistrationsGetDistinctConsecutiveRevisions) {
  constexpr int kThreads = 8, kEach = 20;
  std::vector<std::vector<std::int64_t>> revs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = registerTaskDefinition(ctx(), minimal("shared"));
        if (!r.ok()) {
          ADD_FAILURE() << r.error().message;
          continue;
        }
        revs[t].push_back((*r)["taskDefinition"]["revision"].get<std::int64_t>());
      }
    });
  for (auto& th : threads) th.join();
  std::vector<std::int64_t> all;
  for (const auto& v : revs) {
    // Each caller's own revisions increase.
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
    all.insert(all.end(), v.begin(), v.end());
  }
  std::sort(all.begin(), all.end());
  std::vector<std::int64_t> expected(kThreads * kEach);
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<std::int64_t>(i) + 1;
  EXPECT_EQ(all, expected);
  EXPECT_EQ(cache().countPrefix(keys::familyRevisions("shared")), expected.size());
  EXPECT_EQ(describe("shared")["taskDefinition"]["revision"], kThreads * kEach);
  auto family = cache().get(keys::family("shared"));
  ASSERT_TRUE(family.has_value());
  EXPECT_EQ(family->doc["lastRevision"], kThreads * kEach);
  EXPECT_EQ(family->doc["activeRevisions"], kThreads * kEach);
}

TEST(TaskDefinitionPersistenceTest, StateSurvivesReopeningTheStore) {
  test::TempDir dir;
  const std::string path = dir.file("berth.db");
  json described;
  {
    test::EcsEnv env(path);
    auto& ctx = *env.ctx;
    json tagged = minimal("web");
    tagged["tags"] = json::parse(R"([{"key":"k","value":"v"}])");
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(registerTaskDefinition(ctx, tagged).ok());
    ASSERT_TRUE(deregisterTaskDefinition(ctx, json{{"taskDefinition", "web:2"}}).ok());
    ASSERT_TRUE(deregisterTaskDefinition(ctx, json{{"taskDefinition", "web:3"}}).ok());
    ASSERT_TRUE(deleteTaskDefinitions(ctx, json{{"taskDefinitions", {"web:3"}}}).ok());
    described = mustOk(describeTaskDefinition(ctx, json{{"taskDefinition", "web:2"}, {"include", {"TAGS"}}}));
  }
  test::EcsEnv env(path);
  auto& ctx = *env.ctx;
  EXPECT_EQ(mustOk(describeTaskDefinition(ctx, json{{"taskDefinition", "web:2"}, {"include", {"TAGS"}}})), described);
  EXPECT_EQ(mustOk(describeTaskDefinition(ctx, json{{"taskDefinition", "web"}}))["taskDefinition"]["revision"], 1);
  EXPECT_FALSE(describeTaskDefinition(ctx, json{{"taskDefinition", "web:3"}}).ok());
  EXPECT_EQ(mustOk(listTaskDefinitions(ctx, json{{"status", "INACTIVE"}}))["taskDefinitionArns"],
            json::array({tdArn("web", 2)}));
  // Numbering continues after the deleted revision 3.
  EXPECT_EQ(mustOk(registerTaskDefinition(ctx, minimal("web")))["taskDefinition"]["revision"], 4);
}

}  // namespace
}  // namespace berth::control

namespace berth::control {
namespace {

TEST_F(TaskDefinitionOpsTest, ListOrdersFamiliesAlphabeticallyEvenWithHyphens) {
  // "web" must come before "web-api" (AWS sorts by family name, then revision).
  registerFamily("web-api");
  registerFamily("web");
  registerFamily("web");
  EXPECT_EQ(listAll(json::object(), 0), (std::vector<std::string>{tdArn("web", 1), tdArn("web", 2), tdArn("web-api", 1)}));
  EXPECT_EQ(listAll(json{{"familyPrefix", ""}}, 2).size(), 3u);  // "" means no filter
  EXPECT_EQ(listAll(json{{"familyPrefix", "web"}}, 0), (std::vector<std::string>{tdArn("web", 1), tdArn("web", 2)}));
}

}  // namespace
}  // namespace berth::control
