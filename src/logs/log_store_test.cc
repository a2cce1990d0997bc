#include "logs/log_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "logs/event_cursor.h"

namespace berth::logs {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class LogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("berth-logs-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void reopen() {
    store_.reset();
    auto s = LogStore::open((dir_ / "logs.db").string(), clock_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }
  std::int64_t nowMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now().time_since_epoch()).count();
  }
  void makeStream(const std::string& g, const std::string& s) {
    (void)store_->createLogGroup({{"logGroupName", g}});
    ASSERT_TRUE(store_->createLogStream({{"logGroupName", g}, {"logStreamName", s}}).ok());
  }
  json put(const std::string& g, const std::string& s, const std::vector<std::pair<std::int64_t, std::string>>& evs) {
    json events = json::array();
    for (auto& [t, m] : evs) events.push_back({{"timestamp", t}, {"message", m}});
    auto r = store_->putLogEvents({{"logGroupName", g}, {"logStreamName", s}, {"logEvents", events}});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : json();
  }
  static std::vector<std::string> messages(const json& out) {
    std::vector<std::string> v;
    for (auto& e : out["events"]) v.push_back(e["message"]);
    return v;
  }

  FakeClock clock_;
  std::filesystem::path dir_;
  std::unique_ptr<LogStore> store_;
};

TEST_F(LogStoreTest, GroupsAndStreamsLifecycle) {
  ASSERT_TRUE(store_->createLogGroup({{"logGroupName", "/ecs/app"}}).ok());
  auto dup = store_->createLogGroup({{"logGroupName", "/ecs/app"}});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(dup.error().message, "The specified log group already exists");
  auto bad = store_->createLogGroup({{"logGroupName", "bad name!"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidParameter);

  auto missing = store_->createLogStream({{"logGroupName", "/nope"}, {"logStreamName", "s"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kResourceNotFound);
  EXPECT_EQ(missing.error().message, "The specified log group does not exist.");

  ASSERT_TRUE(store_->createLogStream({{"logGroupName", "/ecs/app"}, {"logStreamName", "web/app/1"}}).ok());
  auto dupStream = store_->createLogStream({{"logGroupName", "/ecs/app"}, {"logStreamName", "web/app/1"}});
  ASSERT_FALSE(dupStream.ok());
  EXPECT_EQ(dupStream.error().code, ErrorCode::kAlreadyExists);
  EXPECT_FALSE(store_->createLogStream({{"logGroupName", "/ecs/app"}, {"logStreamName", "a:b"}}).ok());

  auto groups = store_->describeLogGroups({{"logGroupNamePrefix", "/ecs"}});
  ASSERT_TRUE(groups.ok());
  ASSERT_EQ((*groups)["logGroups"].size(), 1u);
  EXPECT_EQ((*groups)["logGroups"][0]["arn"], "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/app:*");
  EXPECT_EQ((*store_->describeLogGroups({{"logGroupNamePrefix", "/other"}}))["logGroups"].size(), 0u);

  put("/ecs/app", "web/app/1", {{nowMs(), "hello"}});
  auto del = store_->deleteLogStream({{"logGroupName", "/ecs/app"}, {"logStreamName", "web/app/1"}});
  ASSERT_TRUE(del.ok());
  auto gone = store_->getLogEvents({{"logGroupName", "/ecs/app"}, {"logStreamName", "web/app/1"}});
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().message, "The specified log stream does not exist.");

  ASSERT_TRUE(store_->deleteLogGroup({{"logGroupName", "/ecs/app"}}).ok());
  EXPECT_EQ(store_->deleteLogGroup({{"logGroupName", "/ecs/app"}}).error().code, ErrorCode::kResourceNotFound);
}

TEST_F(LogStoreTest, DescribeStreamsOrdersAndPaginates) {
  makeStream("g", "b");
  makeStream("g", "a");
  makeStream("g", "c");
  put("g", "a", {{nowMs() - 3000, "x"}});
  put("g", "b", {{nowMs() - 1000, "x"}});
  put("g", "c", {{nowMs() - 2000, "x"}});
  auto byName = store_->describeLogStreams({{"logGroupName", "g"}, {"limit", 2}});
  ASSERT_TRUE(byName.ok());
  ASSERT_EQ((*byName)["logStreams"].size(), 2u);
  EXPECT_EQ((*byName)["logStreams"][0]["logStreamName"], "a");
  EXPECT_EQ((*byName)["logStreams"][1]["logStreamName"], "b");
  auto page2 = store_->describeLogStreams({{"logGroupName", "g"}, {"limit", 2}, {"nextToken", (*byName)["nextToken"]}});
  ASSERT_TRUE(page2.ok());
  ASSERT_EQ((*page2)["logStreams"].size(), 1u);
  EXPECT_EQ((*page2)["logStreams"][0]["logStreamName"], "c");
  EXPECT_FALSE(page2->contains("nextToken"));

  auto byTime =
      store_->describeLogStreams({{"logGroupName", "g"}, {"orderBy", "LastEventTime"}, {"descending", true}});
  ASSERT_TRUE(byTime.ok());
  std::vector<std::string> order;
  for (auto& s : (*byTime)["logStreams"]) order.push_back(s["logStreamName"]);
  EXPECT_EQ(order, (std::vector<std::string>{"b", "c", "a"}));
  EXPECT_EQ((*byTime)["logStreams"][0]["lastEventTimestamp"], nowMs() - 1000);

  auto conflict = store_->describeLogStreams(
      {{"logGroupName", "g"}, {"orderBy", "LastEventTime"}, {"logStreamNamePrefix", "a"}});
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().code, ErrorCode::kInvalidParameter);
}

TEST_F(LogStoreTest, PutLogEventsEnforcesBatchRules) {
  makeStream("g", "s");
  const auto t = nowMs();
  auto unordered = store_->putLogEvents(
      {{"logGroupName", "g"}, {"logStreamName", "s"},
       {"logEvents", {{{"timestamp", t}, {"message", "b"}}, {{"timestamp", t - 1}, {"message", "a"}}}}});
  ASSERT_FALSE(unordered.ok());
  EXPECT_EQ(unordered.error().message,
            "Log events in a single PutLogEvents request must be in chronological order.");

  auto span = store_->putLogEvents(
      {{"logGroupName", "g"}, {"logStreamName", "s"},
       {"logEvents", {{{"timestamp", t - 25 * 3600 * 1000LL}, {"message", "a"}}, {{"timestamp", t}, {"message", "b"}}}}});
  ASSERT_FALSE(span.ok());
  EXPECT_EQ(span.error().code, ErrorCode::kInvalidParameter);

  json big = json::array();
  for (int i = 0; i < 5; ++i) big.push_back({{"timestamp", t}, {"message", std::string(250'000, 'x')}});
  auto tooBig = store_->putLogEvents({{"logGroupName", "g"}, {"logStreamName", "s"}, {"logEvents", big}});
  ASSERT_FALSE(tooBig.ok());
  EXPECT_NE(tooBig.error().message.find("exceeds limit of 1048576"), std::string::npos);

  // Too old (> 14 days) and too new (> 2 h ahead) are reported, the rest stored.
  auto old = put("g", "s", {{t - 15LL * 86400 * 1000, "old"}, {t - 15LL * 86400 * 1000 + 1, "old2"}});
  ASSERT_TRUE(old.contains("rejectedLogEventsInfo"));
  EXPECT_EQ(old["rejectedLogEventsInfo"]["tooOldLogEventEndIndex"], 2);
  auto out = put("g", "s", {{t - 1000, "ok1"}, {t, "ok2"}, {t + 3LL * 3600 * 1000, "new"}});
  ASSERT_TRUE(out.contains("rejectedLogEventsInfo"));
  EXPECT_FALSE(out["rejectedLogEventsInfo"].contains("tooOldLogEventEndIndex"));
  EXPECT_EQ(out["rejectedLogEventsInfo"]["tooNewLogEventStartIndex"], 2);
  EXPECT_TRUE(out["nextSequenceToken"].is_string());
  auto all = store_->getLogEvents({{"logGroupName", "g"}, {"logStreamName", "s"}, {"startFromHead", true}});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(messages(*all), (std::vector<std::string>{"ok1", "ok2"}));
  // Sequence tokens are accepted and ignored, whatever their value.
  auto withToken = store_->putLogEvents({{"logGroupName", "g"}, {"logStreamName", "s"}, {"sequenceToken", "bogus"},
                                         {"logEvents", {{{"timestamp", t}, {"message", "z"}}}}});
  EXPECT_TRUE(withToken.ok());
}

TEST_F(LogStoreTest, GetLogEventsPagesForwardAndBackwardWithStableEndTokens) {
  makeStream("g", "s");
  const auto t = nowMs() - 100000;
  std::vector<std::pair<std::int64_t, std::string>> evs;
  for (int i = 0; i < 25; ++i) evs.emplace_back(t + i, "m" + std::to_string(i));
  put("g", "s", evs);

  // Newest page by default.
  auto tail = store_->getLogEvents({{"logGroupName", "g"}, {"logStreamName", "s"}, {"limit", 10}});
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(messages(*tail).front(), "m15");
  EXPECT_EQ(messages(*tail).back(), "m24");

  // Forward from the head: 10, 10, 5, then empty with the same token back.
  std::vector<std::string> seen;
  json req = {{"logGroupName", "g"}, {"logStreamName", "s"}, {"limit", 10}, {"startFromHead", true}};
  std::string token;
  for (int page = 0; page < 10; ++page) {
    if (!token.empty()) req["nextToken"] = token;
    auto r = store_->getLogEvents(req);
    ASSERT_TRUE(r.ok());
    for (auto& m : messages(*r)) seen.push_back(m);
    std::string next = (*r)["nextForwardToken"];
    EXPECT_EQ(next.rfind("f/", 0), 0u);
    if (next == token) break;
    token = next;
  }
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_EQ(seen.front(), "m0");
  EXPECT_EQ(seen.back(), "m24");

  // Backward from the newest page.
  std::string back = (*tail)["nextBackwardToken"];
  auto prev = store_->getLogEvents({{"logGroupName", "g"}, {"logStreamName", "s"}, {"limit", 10}, {"nextToken", back}});
  ASSERT_TRUE(prev.ok());
  EXPECT_EQ(messages(*prev).front(), "m5");
  EXPECT_EQ(messages(*prev).back(), "m14");

  // New events show up after the forward token at the end.
  put("g", "s", {{t + 50, "late"}});
  auto more = store_->getLogEvents({{"logGroupName", "g"}, {"logStreamName", "s"}, {"nextToken", token}});
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(messages(*more), (std::vector<std::string>{"late"}));

  // Time window: [startTime, endTime).
  auto window = store_->getLogEvents(
      {{"logGroupName", "g"}, {"logStreamName", "s"}, {"startTime", t + 3}, {"endTime", t + 6}, {"startFromHead", true}});
  ASSERT_TRUE(window.ok());
  EXPECT_EQ(messages(*window), (std::vector<std::string>{"m3", "m4", "m5"}));

  auto badToken = store_->getLogEvents({{"logGroupName", "g"}, {"logStreamName", "s"}, {"nextToken", "garbage"}});
  ASSERT_FALSE(badToken.ok());
  EXPECT_EQ(badToken.error().code, ErrorCode::kInvalidParameter);
}

TEST_F(LogStoreTest, OutOfOrderBatchesAreReadInTimestampOrder) {
  makeStream("g", "s");
  const auto t = nowMs() - 10000;
  put("g", "s", {{t + 10, "c"}});
  put("g", "s", {{t, "a"}, {t + 5, "b"}});
  auto r = store_->getLogEvents({{"logGroupName", "g"}, {"logStreamName", "s"}, {"startFromHead", true}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(messages(*r), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(LogStoreTest, FilterInterleavesStreamsAndMatchesTerms) {
  makeStream("g", "one");
  makeStream("g", "two");
  makeStream("g", "other");
  const auto t = nowMs() - 10000;
  put("g", "one", {{t, "ERROR disk full"}, {t + 2, "INFO ok"}, {t + 4, "WARN slow"}});
  put("g", "two", {{t + 1, "ERROR timeout"}, {t + 3, "INFO fine"}});
  put("g", "other", {{t + 5, "ERROR elsewhere"}});

  auto all = store_->filterLogEvents({{"logGroupName", "g"}, {"logStreamNames", {"one", "two"}}});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(messages(*all),
            (std::vector<std::string>{"ERROR disk full", "ERROR timeout", "INFO ok", "INFO fine", "WARN slow"}));
  EXPECT_EQ((*all)["events"][1]["logStreamName"], "two");
  EXPECT_FALSE((*all)["events"][0]["eventId"].get<std::string>().empty());
  EXPECT_FALSE(all->contains("nextToken"));
  EXPECT_EQ((*all)["searchedLogStreams"].size(), 2u);

  auto errors = store_->filterLogEvents({{"logGroupName", "g"}, {"filterPattern", "ERROR"}});
  EXPECT_EQ(messages(*errors), (std::vector<std::string>{"ERROR disk full", "ERROR timeout", "ERROR elsewhere"}));
  auto phrase = store_->filterLogEvents({{"logGroupName", "g"}, {"filterPattern", "\"disk full\""}});
  EXPECT_EQ(messages(*phrase), (std::vector<std::string>{"ERROR disk full"}));
  auto anyOf = store_->filterLogEvents({{"logGroupName", "g"}, {"filterPattern", "?WARN ?timeout"}});
  EXPECT_EQ(messages(*anyOf), (std::vector<std::string>{"ERROR timeout", "WARN slow"}));
  auto both = store_->filterLogEvents({{"logGroupName", "g"}, {"filterPattern", "ERROR -timeout"}, {"logStreamNamePrefix", "o"}});
  EXPECT_EQ(messages(*both), (std::vector<std::string>{"ERROR disk full", "ERROR elsewhere"}));
  auto json = store_->filterLogEvents({{"logGroupName", "g"}, {"filterPattern", "{ $.level = \"x\" }"}});
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.error().code, ErrorCode::kInvalidParameter);

  // Pagination with limit and a time window (endTime inclusive).
  std::vector<std::string> paged;
  nlohmann::json req = {{"logGroupName", "g"}, {"limit", 2}, {"startTime", t + 1}, {"endTime", t + 4}};
  for (int i = 0; i < 10; ++i) {
    auto r = store_->filterLogEvents(req);
    ASSERT_TRUE(r.ok());
    for (auto& m : messages(*r)) paged.push_back(m);
    if (!r->contains("nextToken")) break;
    req["nextToken"] = (*r)["nextToken"];
  }
  EXPECT_EQ(paged, (std::vector<std::string>{"ERROR timeout", "INFO ok", "INFO fine", "WARN slow"}));
}

TEST_F(LogStoreTest, RetentionDeletesExpiredEvents) {
  makeStream("g", "s");
  makeStream("keep", "s");
  const auto t = nowMs();
  put("g", "s", {{t - 3LL * 86400 * 1000, "three days"}});
  put("g", "s", {{t - 1000, "fresh"}});
  put("keep", "s", {{t - 3LL * 86400 * 1000, "kept"}});
  EXPECT_FALSE(store_->putRetentionPolicy({{"logGroupName", "g"}, {"retentionInDays", 2}}).ok());
  ASSERT_TRUE(store_->putRetentionPolicy({{"logGroupName", "g"}, {"retentionInDays", 1}}).ok());
  auto groups = store_->describeLogGroups({{"logGroupNamePrefix", "g"}});
  EXPECT_EQ((*groups)["logGroups"][0]["retentionInDays"], 1);

  auto removed = store_->enforceRetention(clock_.now());
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1);
  auto r = store_->getLogEvents({{"logGroupName", "g"}, {"logStreamName", "s"}, {"startFromHead", true}});
  EXPECT_EQ(messages(*r), (std::vector<std::string>{"fresh"}));
  auto k = store_->getLogEvents({{"logGroupName", "keep"}, {"logStreamName", "s"}});
  EXPECT_EQ(messages(*k), (std::vector<std::string>{"kept"}));

  // Events older than the retention are reported as expired on put.
  auto out = put("g", "s", {{t - 2LL * 86400 * 1000, "expired"}, {t - 2LL * 86400 * 1000 + 5, "expired too"}});
  EXPECT_EQ(out["rejectedLogEventsInfo"]["expiredLogEventEndIndex"], 2);

  ASSERT_TRUE(store_->deleteRetentionPolicy({{"logGroupName", "g"}}).ok());
  groups = store_->describeLogGroups({{"logGroupNamePrefix", "g"}});
  EXPECT_FALSE((*groups)["logGroups"][0].contains("retentionInDays"));
}

TEST_F(LogStoreTest, AcknowledgedEventsSurviveReopen) {
  makeStream("g", "s");
  const auto t = nowMs();
  json events = json::array();
  for (int i = 0; i < 10000; ++i) events.push_back({{"timestamp", t}, {"message", "line " + std::to_string(i)}});
  ASSERT_TRUE(store_->putLogEvents({{"logGroupName", "g"}, {"logStreamName", "s"}, {"logEvents", events}}).ok());
  reopen();
  std::size_t count = 0;
  json req = {{"logGroupName", "g"}, {"logStreamName", "s"}, {"startFromHead", true}};
  std::string last;
  for (int i = 0; i < 10; ++i) {
    auto r = store_->getLogEvents(req);
    ASSERT_TRUE(r.ok());
    count += (*r)["events"].size();
    std::string next = (*r)["nextForwardToken"];
    if (next == last) break;
    last = next;
    req["nextToken"] = next;
  }
  EXPECT_EQ(count, 10000u);
  auto g = store_->describeLogGroups(json::object());
  EXPECT_GT((*g)["logGroups"][0]["storedBytes"].get<std::int64_t>(), 10000 * 5);
}

TEST(EventCursorTest, TokensRoundTrip) {
  EventCursor c{1'700'000'000'123, 42};
  auto f = formatCursorToken('f', c);
  EXPECT_EQ(f.rfind("f/", 0), 0u);
  auto back = parseCursorToken(f, 'f');
  ASSERT_TRUE(back);
  EXPECT_EQ(back->timestamp, c.timestamp);
  EXPECT_EQ(back->id, c.id);
  EXPECT_FALSE(parseCursorToken(f, 'b'));
  EXPECT_FALSE(parseCursorToken("f/12", 'f'));
}

}  // namespace
}  // namespace berth::logs
