#include "registry/lifecycle_policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace berth::registry {
namespace {

using nlohmann::json;

constexpr double kNow = 1'700'000'000;
constexpr double kDay = 86400;

json rule(int priority, json selection) {
  return {{"rulePriority", priority}, {"selection", std::move(selection)}, {"action", {{"type", "expire"}}}};
}
json keepNewest(const std::string& tagStatus, long long n) {
  return {{"tagStatus", tagStatus}, {"countType", "imageCountMoreThan"}, {"countNumber", n}};
}
json withList(json selection, const char* list, std::vector<std::string> values) {
  selection[list] = std::move(values);
  return selection;
}
json olderThanDays(const std::string& tagStatus, long long days) {
  return {{"tagStatus", tagStatus}, {"countType", "sinceImagePushed"}, {"countUnit", "days"}, {"countNumber", days}};
}

// Vectors, not json: a braced single json element would copy it instead of making an array.
LifecyclePolicy mustParse(const std::vector<json>& rules) {
  auto p = parseLifecyclePolicy(json{{"rules", json(rules)}}.dump());
  if (!p.ok()) {
    ADD_FAILURE() << p.error().message;
    return {};
  }
  return *p;
}

ImageFacts image(const std::string& digest, double ageDays, std::vector<std::string> tags = {}) {
  return ImageFacts{digest, std::move(tags), kNow - ageDays * kDay, 100, "application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.oci.image.config.v1+json"};
}

std::vector<std::string> digests(const std::vector<Expiration>& e) {
  std::vector<std::string> out;
  for (const auto& x : e) out.push_back(x.digest);
  return out;
}

using Strings = std::vector<std::string>;

// --- evaluation -------------------------------------------------------------

TEST(LifecycleEvaluate, KeepNewestThreeOfFiveExpiresTheTwoOldest) {
  auto policy = mustParse({rule(1, keepNewest("any", 3))});
  std::vector<ImageFacts> images = {image("sha256:c", 3), image("sha256:a", 5), image("sha256:e", 1),
                                    image("sha256:b", 4), image("sha256:d", 2)};
  auto expired = evaluateLifecyclePolicy(policy, images, kNow);
  EXPECT_EQ(digests(expired), (Strings{"sha256:a", "sha256:b"}));  // oldest first
  ASSERT_EQ(expired.size(), 2u);
  EXPECT_EQ(expired[0].rulePriority, 1);
  EXPECT_DOUBLE_EQ(expired[0].pushedAt, kNow - 5 * kDay);
  EXPECT_EQ(expired[0].sizeInBytes, 100);
  EXPECT_EQ(expired[0].manifestMediaType, "application/vnd.oci.image.manifest.v1+json");
}

TEST(LifecycleEvaluate, NothingExpiresWhenTheCountIsNotExceeded) {
  auto policy = mustParse({rule(1, keepNewest("any", 3))});
  std::vector<ImageFacts> images = {image("sha256:a", 5), image("sha256:b", 4), image("sha256:c", 3)};
  EXPECT_TRUE(evaluateLifecyclePolicy(policy, images, kNow).empty());
  EXPECT_TRUE(evaluateLifecyclePolicy(policy, {}, kNow).empty());
}

TEST(LifecycleEvaluate, EqualPushTimesAreOrderedByDigest) {
  auto policy = mustParse({rule(1, keepNewest("any", 1))});
  std::vector<ImageFacts> images = {image("sha256:b", 1), image("sha256:c", 1), image("sha256:a", 1)};
  // Ordering is (pushedAt, digest): the "newest" is the largest digest.
  EXPECT_EQ(digests(evaluateLifecyclePolicy(policy, images, kNow)), (Strings{"sha256:a", "sha256:b"}));
}

TEST(LifecycleEvaluate, UntaggedRuleOnlySeesUntaggedImages) {
  auto policy = mustParse({rule(1, keepNewest("untagged", 1))});
  std::vector<ImageFacts> images = {image("sha256:u1", 4), image("sha256:t1", 3, {"v1"}), image("sha256:u2", 2),
                                    image("sha256:u3", 1)};
  EXPECT_EQ(digests(evaluateLifecyclePolicy(policy, images, kNow)), (Strings{"sha256:u1", "sha256:u2"}));
}

TEST(LifecycleEvaluate, SinceImagePushedExpiresStrictlyOlderImages) {
  auto policy = mustParse({rule(1, olderThanDays("any", 7))});
  std::vector<ImageFacts> images = {image("sha256:old", 8), image("sha256:edge", 7), image("sha256:new", 5)};
  // Exactly 7 days old is not "more than" 7 days.
  EXPECT_EQ(digests(evaluateLifecyclePolicy(policy, images, kNow)), (Strings{"sha256:old"}));
  // A day later the edge image is past the limit too: `now` is the only clock.
  EXPECT_EQ(digests(evaluateLifecyclePolicy(policy, images, kNow + kDay)), (Strings{"sha256:old", "sha256:edge"}));
}

TEST(LifecycleEvaluate, TaggedPrefixListRequiresEveryPrefix) {
  auto policy = mustParse({rule(1, withList(keepNewest("tagged", 1), "tagPrefixList", {"prod", "v"}))});
  std::vector<ImageFacts> images = {
      image("sha256:both-old", 5, {"prod-1", "v1"}),
      image("sha256:prod-only", 4, {"prod-2"}),
      image("sha256:one-tag-both", 3, {"prodv"}),  // "prodv" starts with prod but not with v
      image("sha256:both-new", 2, {"v2", "production"}),
  };
  EXPECT_EQ(digests(evaluateLifecyclePolicy(policy, images, kNow)), (Strings{"sha256:both-old"}));
}

TEST(LifecycleEvaluate, TaggedPatternListMatchesWholeTagsWithWildcards) {
  auto policy = mustParse({rule(1, withList(olderThanDays("tagged", 1), "tagPatternList", {"prod*-*rc"}))});
  std::vector<ImageFacts> images = {
      image("sha256:match", 3, {"prod-1-rc"}),
      image("sha256:match-empty-star", 3, {"prod-rc"}),  // '*' may match nothing
      image("sha256:suffix-differs", 3, {"prod-1-rc2"}),
      image("sha256:prefix-differs", 3, {"xprod-1-rc"}),
      image("sha256:untagged", 3),
  };
  EXPECT_EQ(digests(evaluateLifecyclePolicy(policy, images, kNow)), (Strings{"sha256:match", "sha256:match-empty-star"}));
}

TEST(LifecycleEvaluate, PatternWithoutWildcardIsAnExactMatch) {
  auto policy = mustParse({rule(1, withList(olderThanDays("tagged", 1), "tagPatternList", {"latest"}))});
  std::vector<ImageFacts> images = {image("sha256:a", 3, {"latest"}), image("sha256:b", 3, {"latest2"}),
                                    image("sha256:c", 3, {"notlatest"})};
  EXPECT_EQ(digests(evaluateLifecyclePolicy(policy, images, kNow)), (Strings{"sha256:a"}));
}

TEST(LifecycleEvaluate, SeveralPatternsMustAllMatchSomeTag) {
  auto policy = mustParse({rule(1, withList(olderThanDays("tagged", 1), "tagPatternList", {"*prod*", "v*"}))});
  std::vector<ImageFacts> images = {image("sha256:both", 3, {"my-prod", "v2"}), image("sha256:one", 3, {"my-prod"}),
                                    image("sha256:other", 3, {"v3"})};
  EXPECT_EQ(digests(evaluateLifecyclePolicy(policy, images, kNow)), (Strings{"sha256:both"}));
}

TEST(LifecycleEvaluate, StarPatternSelectsEveryTaggedImage) {
  auto policy = mustParse({rule(1, withList(keepNewest("tagged", 1), "tagPatternList", {"*"}))});
  std::vector<ImageFacts> images = {image("sha256:t1", 3, {"a"}), image("sha256:u", 2), image("sha256:t2", 1, {"b"})};
  EXPECT_EQ(digests(evaluateLifecyclePolicy(policy, images, kNow)), (Strings{"sha256:t1"}));
}

// ECR User Guide, lifecycle policy examples ("Filtering on multiple rules"):
// rule 1 keeps one prod image, rule 2 keeps one beta image. Rule 2 would expire
// A and B, but A is already expired by rule 1 and B was selected by rule 1, so
// only A goes, attributed to rule 1.
TEST(LifecycleEvaluate, ImageSelectedByHigherPriorityRuleIsNotExpiredByLowerOne) {
  auto policy = mustParse({rule(1, withList(keepNewest("tagged", 1), "tagPrefixList", {"prod"})),
                           rule(2, withList(keepNewest("tagged", 1), "tagPrefixList", {"beta"}))});
  std::vector<ImageFacts> images = {image("sha256:A", 10, {"beta-1", "prod-1"}),
                                    image("sha256:B", 9, {"beta-2", "prod-2"}), image("sha256:C", 8, {"beta-3"})};
  auto expired = evaluateLifecyclePolicy(policy, images, kNow);
  ASSERT_EQ(digests(expired), (Strings{"sha256:A"}));
  EXPECT_EQ(expired[0].rulePriority, 1);
  EXPECT_EQ(expired[0].tags, (Strings{"beta-1", "prod-1"}));
}

TEST(LifecycleEvaluate, ImagesAllRulesSelectAreExpiredByTheFirst) {
  auto policy = mustParse({rule(1, withList(keepNewest("tagged", 1), "tagPrefixList", {"prod"})),
                           rule(2, withList(keepNewest("tagged", 1), "tagPrefixList", {"beta"}))});
  std::vector<ImageFacts> images = {image("sha256:A", 10, {"beta-1", "prod-1"}),
                                    image("sha256:B", 9, {"beta-2", "prod-2"}),
                                    image("sha256:C", 8, {"beta-3", "prod-3"})};
  auto expired = evaluateLifecyclePolicy(policy, images, kNow);
  ASSERT_EQ(digests(expired), (Strings{"sha256:A", "sha256:B"}));
  EXPECT_EQ(expired[0].rulePriority, 1);
  EXPECT_EQ(expired[1].rulePriority, 1);
}

// Protected images still count toward a lower rule's total: the "any" rule
// keeps 3 of 5, and its two oldest are prod images that rule 1 protects, so
// nothing expires (the classic surprise of ECR's semantics).
TEST(LifecycleEvaluate, ProtectedImagesCountTowardLowerRulesTotals) {
  auto policy = mustParse({rule(1, withList(keepNewest("tagged", 10), "tagPrefixList", {"prod"})),
                           rule(2, keepNewest("any", 3))});
  std::vector<ImageFacts> images = {image("sha256:p1", 5, {"prod-1"}), image("sha256:p2", 4, {"prod-2"}),
                                    image("sha256:x", 3), image("sha256:y", 2, {"dev"}), image("sha256:z", 1)};
  EXPECT_TRUE(evaluateLifecyclePolicy(policy, images, kNow).empty());

  // One more image: the any rule now keeps y, z and w, and x (unprotected) is past the count.
  images.push_back(image("sha256:w", 0.5));
  auto expired = evaluateLifecyclePolicy(policy, images, kNow);
  ASSERT_EQ(digests(expired), (Strings{"sha256:x"}));
  EXPECT_EQ(expired[0].rulePriority, 2);
}

TEST(LifecycleEvaluate, UntaggedAndAnyRulesCombine) {
  auto policy = mustParse({rule(1, olderThanDays("untagged", 1)), rule(2, keepNewest("any", 2))});
  std::vector<ImageFacts> images = {image("sha256:u-old", 5), image("sha256:t-old", 4, {"a"}),
                                    image("sha256:t-mid", 3, {"b"}), image("sha256:u-new", 0.5),
                                    image("sha256:t-new", 0.2, {"c"})};
  auto expired = evaluateLifecyclePolicy(policy, images, kNow);
  // Rule 1 expires u-old (older than a day) and protects u-new. Rule 2 keeps
  // the 2 newest overall (u-new, t-new) and expires t-old and t-mid.
  ASSERT_EQ(digests(expired), (Strings{"sha256:u-old", "sha256:t-old", "sha256:t-mid"}));
  EXPECT_EQ(expired[0].rulePriority, 1);
  EXPECT_EQ(expired[1].rulePriority, 2);
  EXPECT_EQ(expired[2].rulePriority, 2);
}

TEST(LifecycleEvaluate, RulesApplyInPriorityOrderNotDocumentOrder) {
  // Written in reverse; the priority-1 rule still claims the prod images first.
  auto policy = mustParse({rule(9, keepNewest("any", 1)), rule(3, withList(keepNewest("tagged", 5), "tagPrefixList", {"prod"}))});
  ASSERT_EQ(policy.rules.size(), 2u);
  EXPECT_EQ(policy.rules[0].rulePriority, 3);
  std::vector<ImageFacts> images = {image("sha256:p", 3, {"prod"}), image("sha256:d", 2, {"dev"}), image("sha256:n", 1)};
  auto expired = evaluateLifecyclePolicy(policy, images, kNow);
  EXPECT_EQ(digests(expired), (Strings{"sha256:d"}));
}

// --- parsing ----------------------------------------------------------------

TEST(LifecycleParse, ReadsEveryField) {
  auto text = R"({"rules":[
    {"rulePriority":2,"description":"old untagged","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}},
    {"rulePriority":1,"selection":{"tagStatus":"tagged","tagPatternList":["v*","*-rc*"],"countType":"imageCountMoreThan","countNumber":30},"action":{"type":"expire"}},
    {"rulePriority":5,"selection":{"tagStatus":"tagged","tagPrefixList":["prod"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}
  ]})";
  auto p = parseLifecyclePolicy(text);
  ASSERT_TRUE(p.ok()) << p.error().message;
  ASSERT_EQ(p->rules.size(), 3u);
  const auto& r1 = p->rules[0];
  EXPECT_EQ(r1.rulePriority, 1);
  EXPECT_EQ(r1.tagStatus, TagStatus::kTagged);
  EXPECT_EQ(r1.tagPatternList, (Strings{"v*", "*-rc*"}));
  EXPECT_EQ(r1.countType, CountType::kImageCountMoreThan);
  EXPECT_EQ(r1.countNumber, 30);
  const auto& r2 = p->rules[1];
  EXPECT_EQ(r2.rulePriority, 2);
  EXPECT_EQ(r2.description, "old untagged");
  EXPECT_EQ(r2.tagStatus, TagStatus::kUntagged);
  EXPECT_EQ(r2.countType, CountType::kSinceImagePushed);
  EXPECT_EQ(r2.countUnit, "days");
  EXPECT_EQ(r2.countNumber, 14);
  EXPECT_EQ(p->rules[2].tagPrefixList, (Strings{"prod"}));
}

std::string failureOf(const std::string& text) {
  auto p = parseLifecyclePolicy(text);
  if (p.ok()) return "<accepted>";
  EXPECT_EQ(p.error().code, ErrorCode::kInvalidParameter);
  const std::string prefix =
      "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: ";
  const std::string& m = p.error().message;
  if (m.rfind(prefix, 0) != 0 || m.back() != '\'') return "<bad wording> " + m;
  return m.substr(prefix.size(), m.size() - prefix.size() - 1);
}
std::string failureOfRules(const std::vector<json>& rules) { return failureOf(json{{"rules", json(rules)}}.dump()); }

TEST(LifecycleParse, RejectsTextThatIsNotAPolicyObject) {
  EXPECT_EQ(failureOf("{not json"), "Could not map policyString into LifecyclePolicy.");
  EXPECT_EQ(failureOf("[1,2]"), "Could not map policyString into LifecyclePolicy.");
  EXPECT_EQ(failureOf(""), "Could not map policyString into LifecyclePolicy.");
  EXPECT_EQ(failureOf(R"({"no_rules":1})"), R"(object has missing required properties (["rules"]))");
  EXPECT_EQ(failureOf(R"({"rules":{}})"), R"(instance type (object) does not match any allowed primitive type (allowed: ["array"]))");
  EXPECT_EQ(failureOf(R"({"rules":[]})"), "array is too short: must have at least 1 elements but instance has 0 elements");
  EXPECT_EQ(failureOf(R"({"rules":["x"]})"), R"(instance type (string) does not match any allowed primitive type (allowed: ["object"]))");
}

TEST(LifecycleParse, RejectsUnknownAndMissingFields) {
  json good = rule(1, keepNewest("any", 1));
  EXPECT_EQ(failureOf(json{{"rules", json::array({good})}, {"version", 1}}.dump()),
            R"(object instance has properties which are not allowed by the schema: (["version"]))");
  json r = good;
  r["priority"] = 1;
  EXPECT_EQ(failureOfRules({r}), R"(object instance has properties which are not allowed by the schema: (["priority"]))");
  r = good;
  r.erase("selection");
  r.erase("action");
  EXPECT_EQ(failureOfRules({r}), R"(object has missing required properties (["action","selection"]))");
  r = good;
  r["selection"]["tagPrefix"] = json::array({"x"});
  EXPECT_EQ(failureOfRules({r}), R"(object instance has properties which are not allowed by the schema: (["tagPrefix"]))");
  r = good;
  r["selection"].erase("countNumber");
  EXPECT_EQ(failureOfRules({r}), R"(object has missing required properties (["countNumber"]))");
  r = good;
  r["action"] = {{"type", "delete"}};
  EXPECT_EQ(failureOfRules({r}), R"(instance value ("delete") not found in enum (possible values: ["expire"]))");
  r = good;
  r["action"]["when"] = "now";
  EXPECT_EQ(failureOfRules({r}), R"(object instance has properties which are not allowed by the schema: (["when"]))");
  r = good;
  r["selection"]["tagStatus"] = "TAGGED";
  EXPECT_EQ(failureOfRules({r}),
            R"(instance value ("TAGGED") not found in enum (possible values: ["tagged","untagged","any"]))");
  r = good;
  r["rulePriority"] = "1";
  EXPECT_EQ(failureOfRules({r}), R"(instance type (string) does not match any allowed primitive type (allowed: ["integer"]))");
  r = good;
  r["description"] = 7;
  EXPECT_EQ(failureOfRules({r}), R"(instance type (integer) does not match any allowed primitive type (allowed: ["string"]))");
}

TEST(LifecycleParse, RejectsNonPositiveNumbers) {
  EXPECT_EQ(failureOfRules({rule(1, keepNewest("any", 0))}),
            "numeric instance is lower than the required minimum (minimum: 1, found: 0)");
  EXPECT_EQ(failureOfRules({rule(1, olderThanDays("any", -3))}),
            "numeric instance is lower than the required minimum (minimum: 1, found: -3)");
  EXPECT_EQ(failureOfRules({rule(0, keepNewest("any", 1))}),
            "numeric instance is lower than the required minimum (minimum: 1, found: 0)");
  json r = rule(1, keepNewest("any", 1));
  r["selection"]["countNumber"] = 1.5;
  EXPECT_EQ(failureOfRules({r}), R"(instance type (number) does not match any allowed primitive type (allowed: ["integer"]))");
}

TEST(LifecycleParse, CountUnitOnlyAndAlwaysWithSinceImagePushed) {
  const std::string oneOf = "instance failed to match exactly one schema (matched 0 out of 2)";
  json s = keepNewest("any", 1);
  s["countUnit"] = "days";
  EXPECT_EQ(failureOfRules({rule(1, s)}), oneOf);
  s = olderThanDays("any", 1);
  s.erase("countUnit");
  EXPECT_EQ(failureOfRules({rule(1, s)}), oneOf);
  s = olderThanDays("any", 1);
  s["countUnit"] = "hours";
  EXPECT_EQ(failureOfRules({rule(1, s)}), oneOf);
  s = keepNewest("any", 1);
  s["countType"] = "sinceImagePulled";
  EXPECT_EQ(failureOfRules({rule(1, s)}), oneOf);
}

TEST(LifecycleParse, RejectsDuplicatePriorities) {
  EXPECT_EQ(failureOfRules({rule(3, keepNewest("untagged", 1)),
                            rule(3, withList(keepNewest("tagged", 1), "tagPrefixList", {"a"}))}),
            "Rule priorities must be unique. Duplicate rulePriority: 3.");
}

TEST(LifecycleParse, AnyRuleMustHaveTheHighestPriority) {
  EXPECT_EQ(failureOfRules({rule(1, keepNewest("any", 5)), rule(2, keepNewest("untagged", 1))}),
            "Rule for tagStatus=ANY must have the lowest priority.");
  // Document order does not matter, only rulePriority.
  EXPECT_EQ(failureOfRules({rule(2, keepNewest("untagged", 1)), rule(1, keepNewest("any", 5))}),
            "Rule for tagStatus=ANY must have the lowest priority.");
  EXPECT_EQ(failureOfRules({rule(7, keepNewest("any", 5)), rule(2, keepNewest("untagged", 1))}), "<accepted>");
}

TEST(LifecycleParse, AtMostOneUntaggedRule) {
  EXPECT_EQ(failureOfRules({rule(1, keepNewest("untagged", 5)), rule(2, olderThanDays("untagged", 1))}),
            "Only one rule can select Untagged images.");
}

TEST(LifecycleParse, TaggedRulesNeedExactlyOneKindOfList) {
  EXPECT_EQ(failureOfRules({rule(1, keepNewest("tagged", 1))}),
            "Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.");
  EXPECT_EQ(failureOfRules({rule(1, withList(keepNewest("tagged", 1), "tagPrefixList", {}))}),
            "Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.");
  json both = withList(withList(keepNewest("tagged", 1), "tagPrefixList", {"a"}), "tagPatternList", {"b*"});
  EXPECT_EQ(failureOfRules({rule(4, both)}), "tagPrefixList and tagPatternList cannot both be specified in a rule (rulePriority 4).");
  EXPECT_EQ(failureOfRules({rule(1, withList(keepNewest("tagged", 1), "tagPrefixList", {"a", "b"}))}), "<accepted>");
  json notStrings = keepNewest("tagged", 1);
  notStrings["tagPrefixList"] = json::array({1});
  EXPECT_EQ(failureOfRules({rule(1, notStrings)}),
            R"(instance type (integer) does not match any allowed primitive type (allowed: ["string"]))");
}

TEST(LifecycleParse, UntaggedAndAnyRulesTakeNoLists) {
  EXPECT_EQ(failureOfRules({rule(1, withList(keepNewest("untagged", 1), "tagPrefixList", {"a"}))}),
            "tagPrefixList and tagPatternList must be omitted when tagStatus=UNTAGGED.");
  // Even an empty list is refused (a common Terraform mistake).
  EXPECT_EQ(failureOfRules({rule(1, withList(keepNewest("untagged", 1), "tagPatternList", {}))}),
            "tagPrefixList and tagPatternList must be omitted when tagStatus=UNTAGGED.");
  EXPECT_EQ(failureOfRules({rule(1, withList(keepNewest("any", 1), "tagPatternList", {"*"}))}),
            "tagPrefixList and tagPatternList must be omitted when tagStatus=ANY.");
}

TEST(LifecycleParse, AtMostFourWildcardsPerPattern) {
  EXPECT_EQ(failureOfRules({rule(1, withList(keepNewest("tagged", 1), "tagPatternList", {"*test*1*2*3", "test*1*2*3*"}))}),
            "<accepted>");
  EXPECT_EQ(failureOfRules({rule(1, withList(keepNewest("tagged", 1), "tagPatternList", {"test*1*2*3*4*5*6"}))}),
            "Tag pattern 'test*1*2*3*4*5*6' has more than 4 wildcards (*).");
  EXPECT_EQ(failureOfRules({rule(1, withList(keepNewest("tagged", 1), "tagPatternList", {"*****"}))}),
            "Tag pattern '*****' has more than 4 wildcards (*).");
}

}  // namespace
}  // namespace berth::registry
