#include "scheduler/query_language.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "scheduler/query_values.h"

namespace berth::scheduler {
namespace {

// A container instance as a test writes it down.
struct FakeInstance : InstanceFacts {
  std::string name;  // "A".."F": how the tables name it
  std::map<std::string, std::string, std::less<>> attributes;
  std::string ec2Id;
  bool connected = true;
  std::string version;
  double registered = 0;
  int running = 0;
  std::set<std::string, std::less<>> groups;

  const std::string* attribute(std::string_view n) const override {
    auto it = attributes.find(n);
    return it == attributes.end() ? nullptr : &it->second;
  }
  std::string_view ec2InstanceId() const override { return ec2Id; }
  bool agentConnected() const override { return connected; }
  std::string_view agentVersion() const override { return version; }
  double registeredAt() const override { return registered; }
  int runningTasksCount() const override { return running; }
  bool hasTaskInGroup(std::string_view g) const override { return groups.contains(g); }
};

FakeInstance instance(std::string name, std::string type, std::string az, std::string version, bool connected,
                      double registered, int running, std::set<std::string, std::less<>> groups,
                      std::map<std::string, std::string, std::less<>> custom) {
  FakeInstance i;
  i.name = name;
  i.ec2Id = "i-" + std::string(1, static_cast<char>(std::tolower(name[0])));
  i.attributes = std::move(custom);
  i.attributes["ecs.instance-type"] = type;
  i.attributes["ecs.availability-zone"] = az;
  if (!i.attributes.contains("ecs.os-type")) i.attributes["ecs.os-type"] = "linux";
  if (!i.attributes.contains("ecs.cpu-architecture")) i.attributes["ecs.cpu-architecture"] = "x86_64";
  i.version = std::move(version);
  i.connected = connected;
  i.registered = registered;
  i.running = running;
  i.groups = std::move(groups);
  return i;
}

// The six instances every table below runs against.
const std::vector<FakeInstance>& fleet() {
  static const std::vector<FakeInstance> instances = {
      // 2018-06-18T22:28:28Z
      instance("A", "t2.micro", "us-east-1a", "1.14.5", true, 1529360908, 0, {}, {{"stack", "prod"}, {"cores", "4"}}),
      // 2019-01-01T00:00:00Z
      instance("B", "t2.large", "us-east-1b", "v1.20.0", true, 1546300800, 2, {"service:production", "family:web"},
               {{"stack", "test"}, {"cores", "16"}}),
      // 2017-05-05T08:00:00Z; a value-less capability attribute reads as "".
      instance("C", "m5.xlarge", "us-east-1c", "1.9.0", false, 1493971200, 1, {"database"},
               {{"ecs.os-type", "windows"}, {"cores", "8"}, {"com.amazonaws.ecs.capability.logging-driver.awslogs", ""}}),
      // 2020-02-02T00:00:00Z
      instance("D", "m5.large", "us-east-1a", "1.14.4", true, 1580601600, 1, {"service:production"},
               {{"stack", "prod east"}}),
      // Same registration second as A; the version suffix is ignored.
      instance("E", "c5.large", "us-east-1b", "1.14.5-rc1", true, 1529360908, 3, {"database", "family:web"},
               {{"cores", "n/a"}}),
      // 2023-03-01T12:00:00Z
      instance("F", "t3.nano", "eu-west-3a", "1.70.2", true, 1677672000, 0, {}, {{"ecs.cpu-architecture", "arm64"}}),
  };
  return instances;
}

std::string selected(const Expression& e) {
  std::string out;
  for (const auto& i : fleet())
    if (e.matches(i)) out += i.name;
  return out;
}

struct Case {
  const char* expression;
  const char* selects;  // the instances ECS would keep, in fleet order
};

// The documented examples (reference/ecs-scheduling.md §5, ECS developer guide)
// and the edge cases around them.
const Case kCases[] = {
    // Documented examples.
    {"attribute:ecs.instance-type == t2.micro", "A"},
    {"attribute:ecs.instance-type =~ t2.*", "AB"},
    {"attribute:ecs.instance-type == t2.*", "AB"},
    {"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", "ABDE"},
    {"task:group == service:production", "BD"},
    {"not(task:group == database)", "ABDF"},
    {"agentVersion < 1.14.5", "CD"},
    {"runningTasksCount == 1", "CD"},
    {"ec2InstanceId in ['i-a', 'i-f']", "AF"},
    {"registeredAt < 2018-06-18", "C"},
    {"attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone == us-east-1a", "A"},
    {"attribute:ecs.instance-type =~ t2.* or attribute:ecs.instance-type =~ m5.*", "ABCD"},
    // Wildcards in ==, != and in.
    {"attribute:ecs.instance-type == *.large", "BDE"},
    {"attribute:ecs.instance-type == *2.*", "AB"},
    {"attribute:ecs.instance-type != t2.*", "CDEF"},
    {"attribute:ecs.availability-zone in [us-east-*]", "ABCDE"},
    {"attribute:ecs.availability-zone not_in ['us-east-1a', \"us-east-1b\"]", "CF"},
    {"attribute:ecs.availability-zone !in [us-east-1a,us-east-1b]", "CF"},
    // Regexes: the whole value must match (Pattern#matches).
    {"attribute:ecs.instance-type =~ t2", ""},
    {"attribute:ecs.instance-type =~ t2.(micro|nano)", "A"},
    {"attribute:ecs.instance-type =~ '^(t2|t3)\\.(micro|nano)$'", "AF"},
    {"attribute:ecs.instance-type !~ t2.*", "CDEF"},
    {"attribute:ecs.instance-type matches 'm5.*'", "CD"},
    {"attribute:ecs.instance-type not_matches .*large", "AF"},  // m5.xlarge ends in "large" too
    {"ec2InstanceId =~ i-[a-c]", "ABC"},
    {"attribute:ecs.instance-type =~ t2\\.micro", "A"},
    {"attribute:ecs.instance-type =~ .*\\..*o", "AF"},
    // Absent attributes: never equal, so != and !in hold.
    {"attribute:stack != prod", "BCDEF"},
    {"attribute:stack == 'prod east'", "D"},
    {"attribute:stack exists", "ABD"},
    {"attribute:stack !exists", "CEF"},
    {"attribute:stack not_exists", "CEF"},
    {"attribute:com.amazonaws.ecs.capability.logging-driver.awslogs exists", "C"},
    {"attribute:missing < 3", ""},
    // Ordered attribute compares: numeric when both sides are numbers, else string order.
    {"attribute:cores > 5", "BCE"},  // 16, 8, and "n/a" > "5" as strings
    {"attribute:cores < 10", "AC"},  // 4, 8 (as strings "16" < "4" would hold)
    {"attribute:cores >= 16", "BE"},
    {"attribute:ecs.availability-zone >= us-east-1b", "BCE"},
    // Versions, dates and counts.
    {"agentVersion >= 1.14.5", "ABEF"},
    {"agentVersion == 1.14.5", "AE"},
    {"agentVersion == v1.20.0", "B"},
    {"agentVersion > 1.9", "ABDEF"},
    {"agentVersion =~ 1\\.14\\..*", "ADE"},
    {"registeredAt >= 2018-06-18T22:28:28+00:00", "ABDEF"},
    {"registeredAt == 2018-06-18T22:28:28Z", "AE"},
    {"registeredAt > 2018-06-19T00:28:28+02:00", "BDF"},
    {"registeredAt <= 2018-06-18T22:28:28", "ACE"},
    {"runningTasksCount > 1", "BE"},
    {"runningTasksCount less_than_equal 1", "ACDF"},
    {"runningTasksCount != 0", "BCDE"},
    // agentConnected.
    {"agentConnected == false", "C"},
    {"agentConnected != true", "C"},
    {"agentConnected in [TRUE]", "ABDEF"},
    // Task groups.
    {"task:group in [database, family:web]", "BCE"},
    {"task:group != service:production", "ACEF"},
    {"!(task:group in [database, family:web])", "ADF"},
    {"not (task:group == database) and not(task:group == service:production)", "AF"},
    // Word operators, symbols, case of connectives, spacing.
    {"attribute:ecs.os-type equals linux and runningTasksCount less_than_equal 1", "ADF"},
    {"attribute:ecs.os-type==linux&&runningTasksCount>=2", "BE"},
    {"runningTasksCount greater_than 0 AND attribute:ecs.availability-zone == us-east-1a", "D"},
    {"  ((attribute:stack == prod))  ", "A"},
    {"attribute:ecs.cpu-architecture == arm64 and not(attribute:stack exists)", "F"},
    {"attribute:ecs.os-type != linux or not(agentConnected == true)", "C"},
    {"not(attribute:ecs.instance-type =~ t2.(micro|large))", "CDEF"},
    // Precedence: and binds tighter than or.
    {"runningTasksCount == 0 or attribute:ecs.availability-zone == us-east-1b and attribute:cores == 16", "ABF"},
    {"attribute:cores == 16 and attribute:ecs.availability-zone == us-east-1b or runningTasksCount == 0", "ABF"},
    {"(runningTasksCount == 0 or attribute:ecs.availability-zone == us-east-1b) and attribute:cores == 16", "B"},
    {"task:group == database && agentConnected == true || ec2InstanceId == i-f", "EF"},
    {"task:group == database && (agentConnected == true || ec2InstanceId == i-f)", "E"},
    {"ec2InstanceId == i-a or ec2InstanceId == i-b or ec2InstanceId == i-c and runningTasksCount == 5", "AB"},
};

TEST(QueryLanguageTest, SelectsTheInstancesEcsWould) {
  for (const auto& c : kCases) {
    auto e = Expression::parse(c.expression);
    ASSERT_TRUE(e.ok()) << c.expression << ": " << e.error().message;
    EXPECT_EQ(selected(*e), c.selects) << c.expression;
    EXPECT_EQ(e->text(), c.expression);
  }
}

struct BadCase {
  const char* expression;
  const char* mentions;  // a piece of the error message
};

const BadCase kBad[] = {
    {"", "empty"},
    {"   ", "empty"},
    {"attribute:stack", "needs an operator"},
    {"attribute:stack ==", "'==' needs a value"},
    {"attribute:stack == )", "'==' needs a value"},
    {"attribute: == a", "needs an attribute name"},
    {"foo == bar", "unknown subject 'foo'"},
    {"attribute:stack equal prod", "unknown operator 'equal'"},
    {"attribute:stack <> prod", "unknown operator '<>'"},
    {"task:group exists", "'exists' cannot be used with 'task:group'"},
    {"ec2InstanceId > i-a", "'>' cannot be used with 'ec2InstanceId'"},
    {"runningTasksCount in [1, 2]", "'in' cannot be used with 'runningTasksCount'"},
    {"task:group =~ data.*", "'=~' cannot be used with 'task:group'"},
    {"runningTasksCount == many", "needs a number, not 'many'"},
    {"registeredAt > yesterday", "'yesterday' is not a date"},
    {"registeredAt > 2018-13-01", "not a date"},
    {"registeredAt > 2018-06-18T25:00:00", "not a date"},
    {"agentVersion < latest", "'latest' is not a version"},
    {"agentConnected == maybe", "true or false, not 'maybe'"},
    {"(attribute:stack == prod", "unbalanced '('"},
    {"attribute:stack == prod)", "unbalanced ')'"},
    {"attribute:stack in [a, b", "unbalanced '['"},
    {"attribute:stack in []", "the list is empty"},
    {"attribute:stack in [a b]", "expected ',' or ']'"},
    {"attribute:stack == [a]", "only valid with 'in'"},
    {"attribute:stack == 'prod", "unterminated quoted value"},
    {"attribute:stack == prod and", "'and' needs an expression"},
    {"attribute:stack == prod or or attribute:cores == 1", "unknown subject 'or'"},
    {"attribute:stack == prod east", "found 'east'"},
    {"not attribute:stack == prod", "must be followed by a parenthesized expression"},
    {"!attribute:stack exists", "must be followed by a parenthesized expression"},
    {"attribute:ecs.instance-type =~ 't2['", "regular expression"},
    {"attribute:ecs.instance-type =~ t2.(micro", "unbalanced '(' in value"},
    {"task:group == service:*", "does not take wildcards"},
    {"()", "expected a subject"},
};

TEST(QueryLanguageTest, RejectsMalformedExpressionsWithAClearMessage) {
  for (const auto& b : kBad) {
    auto e = Expression::parse(b.expression);
    ASSERT_FALSE(e.ok()) << b.expression << " parsed";
    EXPECT_EQ(e.error().code, ErrorCode::kInvalidParameter) << b.expression;
    EXPECT_NE(e.error().message.find(b.mentions), std::string::npos)
        << b.expression << " -> " << e.error().message;
  }
}

TEST(QueryLanguageTest, ErrorsSayWhere) {
  auto e = Expression::parse("attribute:stack == prod and foo == 1");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message,
            "Invalid query expression: unknown subject 'foo' (valid: attribute:<name>, task:group, agentConnected, "
            "agentVersion, ec2InstanceId, registeredAt, runningTasksCount) at position 29.");
}

TEST(QueryLanguageTest, LengthLimitIs2000Characters) {
  std::string longest = "attribute:stack == " + std::string(kMaxExpressionLength - 19, 'x');
  ASSERT_EQ(longest.size(), kMaxExpressionLength);
  EXPECT_TRUE(Expression::parse(longest).ok());
  auto tooLong = Expression::parse(longest + "x");
  ASSERT_FALSE(tooLong.ok());
  EXPECT_NE(tooLong.error().message.find("maximum is 2000"), std::string::npos);
}

TEST(QueryLanguageTest, StaticAndTaskReadingFlags) {
  struct Flags {
    const char* expression;
    bool isStatic, readsTasks;
  };
  const Flags flags[] = {
      {"attribute:ecs.instance-type == t2.*", true, false},
      {"agentVersion > 1.2 and registeredAt > 2018-01-01 or ec2InstanceId == i-a", true, false},
      {"agentConnected == true", false, false},
      {"runningTasksCount > 1", false, true},
      {"attribute:stack exists and not(task:group == database)", false, true},
  };
  for (const auto& f : flags) {
    auto e = Expression::parse(f.expression);
    ASSERT_TRUE(e.ok()) << f.expression;
    EXPECT_EQ(e->isStatic(), f.isStatic) << f.expression;
    EXPECT_EQ(e->readsTasks(), f.readsTasks) << f.expression;
  }
}

TEST(QueryLanguageTest, CopiesShareTheParsedTree) {
  auto e = Expression::parse("task:group == database");
  ASSERT_TRUE(e.ok());
  Expression copy = *e;
  EXPECT_EQ(selected(copy), "CE");
}

TEST(StringPatternTest, WildcardsAndRegexFastPathAgreeWithStdRegex) {
  const char* values[] = {"", "t2", "t2.micro", "t2xmicro", "xt2.micro", "micro", "a.b.c", "*"};
  struct P {
    const char* wildcard;
    const char* regex;  // the same language as a regex
  };
  const P patterns[] = {{"t2.micro", "t2\\.micro"}, {"t2*", "t2.*"}, {"*micro", ".*micro"}, {"*", ".*"},
                        {"t2*o", "^t2.*o$"},      {"*.*", ".*\\..*"}, {"", ""},              {"a*b*c", "a.*b.*c"}};
  for (const auto& p : patterns) {
    auto glob = StringPattern::wildcard(p.wildcard);
    auto fast = StringPattern::regex(p.regex);
    ASSERT_TRUE(fast.ok()) << p.regex;
    const std::regex slow(p.regex);
    for (const char* v : values) {
      const bool expected = std::regex_match(v, slow);
      EXPECT_EQ(glob.matches(v), expected) << p.wildcard << " on '" << v << "'";
      EXPECT_EQ(fast->matches(v), expected) << p.regex << " on '" << v << "'";
    }
  }
  EXPECT_TRUE(StringPattern::wildcard("t2.micro").isLiteral());
  EXPECT_FALSE(StringPattern::wildcard("t2.*").isLiteral());
  EXPECT_TRUE(StringPattern::regex("t2\\.micro")->isLiteral());
}

TEST(QueryValuesTest, DatesInEveryDocumentedForm) {
  EXPECT_EQ(parseQueryDate("2018-06-18T22:28:28+00:00"), 1529360908.0);
  EXPECT_EQ(parseQueryDate("2018-06-18T22:28:28Z"), 1529360908.0);
  EXPECT_EQ(parseQueryDate("2018-06-18T22:28:28"), 1529360908.0);
  EXPECT_EQ(parseQueryDate("2018-06-19T00:28:28+02:00"), 1529360908.0);
  EXPECT_EQ(parseQueryDate("2018-06-18T20:28:28-0200"), 1529360908.0);
  EXPECT_EQ(parseQueryDate("2018-06-18"), 1529280000.0);
  EXPECT_EQ(parseQueryDate("2018-06-18T22:28:28.5Z"), 1529360908.5);
  EXPECT_FALSE(parseQueryDate("2018-6-18"));
  EXPECT_FALSE(parseQueryDate("2018-06-18T22:28"));
  EXPECT_FALSE(parseQueryDate("2018-06-18 22:28:28"));
  EXPECT_FALSE(parseQueryDate("2018-06-18T22:28:28+0"));
}

TEST(QueryValuesTest, AgentVersionsCompareNumerically) {
  auto v = [](const char* s) { return *AgentVersion::parse(s); };
  EXPECT_LT(v("1.9.0").compare(v("1.14.5")), 0);
  EXPECT_EQ(v("v1.14.5").compare(v("1.14.5-rc1")), 0);
  EXPECT_EQ(v("1.14").compare(v("1.14.0")), 0);
  EXPECT_GT(v("2").compare(v("1.99.99")), 0);
  EXPECT_FALSE(AgentVersion::parse("latest"));
  EXPECT_FALSE(AgentVersion::parse(""));
}

}  // namespace
}  // namespace berth::scheduler
