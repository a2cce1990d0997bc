#include "agent/awslogs_shipper.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "agent/k8s_file_log.h"

namespace berth::agent {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Records what reaches the "server"; can play unreachable for a while.
class FakeLogsClient final : public LogsClient {
 public:
  Result<json> call(std::string_view op, const json& body) override {
    std::lock_guard lock(mu_);
    calls.emplace_back(op);
    if (failuresLeft > 0) {
      --failuresLeft;
      return Error::make(ErrorCode::kUnavailable, "cannot connect to server: Connection refused");
    }
    std::string group = body.value("logGroupName", "");
    if (op == "CreateLogGroup") {
      if (groups.count(group)) return Error::make(ErrorCode::kClient, "exists", "ResourceAlreadyExistsException");
      groups[group];
      return json::object();
    }
    if (!groups.count(group)) return Error::make(ErrorCode::kClient, "no group", "ResourceNotFoundException");
    std::string stream = body.value("logStreamName", "");
    if (op == "CreateLogStream") {
      if (groups[group].count(stream)) return Error::make(ErrorCode::kClient, "exists", "ResourceAlreadyExistsException");
      groups[group][stream];
      return json::object();
    }
    if (op == "PutLogEvents") {
      if (!groups[group].count(stream)) return Error::make(ErrorCode::kClient, "no stream", "ResourceNotFoundException");
      const auto& events = body.at("logEvents");
      EXPECT_LE(events.size(), 10000u);
      std::size_t bytes = 0;
      std::int64_t prev = INT64_MIN;
      for (const auto& e : events) {
        bytes += e["message"].get<std::string>().size() + 26;
        EXPECT_GE(e["timestamp"].get<std::int64_t>(), prev);
        prev = e["timestamp"];
        groups[group][stream].push_back(e);
      }
      EXPECT_LE(bytes, 1048576u);
      batchSizes.push_back(events.size());
      cv_.notify_all();
      return json{{"nextSequenceToken", "1"}};
    }
    return Error::make(ErrorCode::kClient, "unexpected op", "InvalidParameterException");
  }

  std::vector<std::string> messages(const std::string& group, const std::string& stream) {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (auto& e : groups[group][stream]) out.push_back(e["message"]);
    return out;
  }
  bool waitForCount(const std::string& group, const std::string& stream, std::size_t n,
                    std::chrono::milliseconds bound = 10s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, bound, [&] { return groups[group][stream].size() >= n; });
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> calls;
  int failuresLeft = 0;
  std::map<std::string, std::map<std::string, std::vector<json>>> groups;
  std::vector<std::size_t> batchSizes;
};

std::string record(const std::string& text, bool partial = false, const char* stream = "stdout",
                   const char* time = "2026-11-22T03:00:00.123456789Z") {
  return std::string(time) + " " + stream + " " + (partial ? "P" : "F") + " " + text + "\n";
}

class AwsLogsShipperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("berth-awslogs-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    logPath_ = (dir_ / "ctr.log").string();
    target_.group = "/ecs/logs-test";
    target_.stream = "app/web/task1";
    target_.createGroup = true;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void append(const std::string& data) {
    std::ofstream f(logPath_, std::ios::app | std::ios::binary);
    f << data;
  }
  AwsLogsShipperOptions fast() {
    AwsLogsShipperOptions o;
    o.flushInterval = 20ms;
    o.pollInterval = 10ms;
    o.initialBackoff = 10ms;
    o.maxBackoff = 50ms;
    o.drainTimeout = 10s;
    return o;
  }

  SystemClock clock_;
  FakeLogsClient client_;
  std::filesystem::path dir_;
  std::string logPath_;
  AwsLogsTarget target_;
};

TEST_F(AwsLogsShipperTest, JoinsPartialLinesAndCreatesGroupAndStreamFirst) {
  append(record("hello"));
  append(record("part one, ", true) + record("part two, ", true, "stdout", "2026-11-22T03:00:01Z") +
         record("end", false, "stdout", "2026-11-22T03:00:02Z"));
  append(record("oops", false, "stderr", "2026-11-22T04:00:00.5+01:00"));
  append(record(""));  // an empty line is not an event
  AwsLogsShipper shipper(client_, clock_, fast());
  ASSERT_TRUE(shipper.attach("rt1", logPath_, target_).ok());
  ASSERT_TRUE(client_.waitForCount(target_.group, target_.stream, 3));
  shipper.detach("rt1");
  EXPECT_EQ(client_.messages(target_.group, target_.stream),
            (std::vector<std::string>{"hello", "part one, part two, end", "oops"}));
  std::lock_guard lock(client_.mu_);
  ASSERT_GE(client_.calls.size(), 3u);
  EXPECT_EQ(client_.calls[0], "CreateLogGroup");
  EXPECT_EQ(client_.calls[1], "CreateLogStream");
  EXPECT_EQ(client_.calls[2], "PutLogEvents");
  auto& evs = client_.groups[target_.group][target_.stream];
  EXPECT_EQ(evs[0]["timestamp"], 1795316400123);  // 2026-11-22T03:00:00.123Z
  EXPECT_EQ(evs[1]["timestamp"], 1795316400123);  // the partial group's first record
  EXPECT_EQ(evs[2]["timestamp"], 1795316400500);  // +01:00 offset applied
}

TEST_F(AwsLogsShipperTest, BigBacklogGoesInBatchesWithinLimits) {
  std::string data;
  for (int i = 0; i < 25000; ++i) data += record("line " + std::to_string(i) + std::string(80, 'x'));
  append(data);
  AwsLogsShipper shipper(client_, clock_, fast());
  ASSERT_TRUE(shipper.attach("rt1", logPath_, target_).ok());
  ASSERT_TRUE(client_.waitForCount(target_.group, target_.stream, 25000, 30s));
  shipper.detach("rt1");
  auto msgs = client_.messages(target_.group, target_.stream);
  ASSERT_EQ(msgs.size(), 25000u);
  EXPECT_EQ(msgs[0].rfind("line 0x", 0), 0u);
  EXPECT_EQ(msgs[24999].rfind("line 24999x", 0), 0u);
  std::lock_guard lock(client_.mu_);
  EXPECT_GE(client_.batchSizes.size(), 3u);  // 10,000 events per batch at most
}

TEST_F(AwsLogsShipperTest, ResumesAfterRestartWithoutLossOrDuplicates) {
  for (int i = 0; i < 100; ++i) append(record("a" + std::to_string(i)));
  {
    AwsLogsShipper shipper(client_, clock_, fast());
    ASSERT_TRUE(shipper.attach("rt1", logPath_, target_).ok());
    ASSERT_TRUE(client_.waitForCount(target_.group, target_.stream, 100));
    std::this_thread::sleep_for(50ms);
    // The agent goes away without detaching (crash-like stop: no drain).
  }
  for (int i = 0; i < 50; ++i) append(record("b" + std::to_string(i)));
  append(record("half ", true));  // a partial record at the end, completed after the restart
  {
    AwsLogsShipper shipper(client_, clock_, fast());
    ASSERT_TRUE(shipper.attach("rt1", logPath_, target_).ok());
    ASSERT_TRUE(client_.waitForCount(target_.group, target_.stream, 150));
  }
  append(record("done"));
  AwsLogsShipper shipper(client_, clock_, fast());
  ASSERT_TRUE(shipper.attach("rt1", logPath_, target_).ok());
  shipper.detach("rt1");
  auto msgs = client_.messages(target_.group, target_.stream);
  ASSERT_EQ(msgs.size(), 151u);
  EXPECT_EQ(msgs[0], "a0");
  EXPECT_EQ(msgs[99], "a99");
  EXPECT_EQ(msgs[100], "b0");
  EXPECT_EQ(msgs[149], "b49");
  EXPECT_EQ(msgs[150], "half done");
}

TEST_F(AwsLogsShipperTest, DetachDrainsToEndOfFile) {
  for (int i = 0; i < 500; ++i) append(record("l" + std::to_string(i)));
  append(record("unfinished", true));  // the container died mid-line
  AwsLogsShipper shipper(client_, clock_, fast());
  ASSERT_TRUE(shipper.attach("rt1", logPath_, target_).ok());
  shipper.detach("rt1");  // no wait in between: detach itself must ship everything
  auto msgs = client_.messages(target_.group, target_.stream);
  ASSERT_EQ(msgs.size(), 501u);
  EXPECT_EQ(msgs.back(), "unfinished");
}

TEST_F(AwsLogsShipperTest, RetriesWhileServerIsUnreachable) {
  client_.failuresLeft = 4;
  target_.createGroup = false;
  {
    std::lock_guard lock(client_.mu_);
    client_.groups[target_.group];  // exists already
  }
  append(record("first"));
  AwsLogsShipper shipper(client_, clock_, fast());
  ASSERT_TRUE(shipper.attach("rt1", logPath_, target_).ok());
  ASSERT_TRUE(client_.waitForCount(target_.group, target_.stream, 1));
  append(record("second"));
  shipper.detach("rt1");
  EXPECT_EQ(client_.messages(target_.group, target_.stream), (std::vector<std::string>{"first", "second"}));
  std::lock_guard lock(client_.mu_);
  EXPECT_EQ(std::count(client_.calls.begin(), client_.calls.end(), "CreateLogGroup"), 0);
}

TEST_F(AwsLogsShipperTest, DetachIsBoundedWhenServerNeverAnswers) {
  client_.failuresLeft = 1'000'000;
  append(record("lost for now"));
  auto o = fast();
  o.drainTimeout = 300ms;
  AwsLogsShipper shipper(client_, clock_, o);
  ASSERT_TRUE(shipper.attach("rt1", logPath_, target_).ok());
  auto start = std::chrono::steady_clock::now();
  shipper.detach("rt1");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  // Nothing was acknowledged, so nothing is marked shipped.
  EXPECT_FALSE(std::filesystem::exists(awslogsOffsetPath(logPath_)));
}

TEST(K8sFileLogTest, ParsesRecordsAndTimes) {
  auto r = parseK8sLogLine("2024-05-01T10:00:00.123456789Z stderr P some text here");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->timestampMs, 1714557600123);
  EXPECT_EQ(r->stream, "stderr");
  EXPECT_TRUE(r->partial);
  EXPECT_EQ(r->text, "some text here");
  auto empty = parseK8sLogLine("2024-05-01T10:00:00Z stdout F");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->text, "");
  EXPECT_FALSE(parseK8sLogLine("not a log line"));
  EXPECT_EQ(parseRfc3339Ms("2024-05-01T12:00:00.5+02:00"), 1714557600500);
  EXPECT_FALSE(parseRfc3339Ms("2024-13-01T00:00:00Z"));
  EXPECT_EQ(sanitizeUtf8("ok \xC3\xA9 \xFF!"), "ok \xC3\xA9 \xEF\xBF\xBD!");
  auto pieces = splitUtf8("ab\xC3\xA9", 3);
  EXPECT_EQ(pieces, (std::vector<std::string>{"ab", "\xC3\xA9"}));
}

TEST(AwslogsTargetTest, StreamNameGroupAndOptions) {
  TaskPlan task;
  task.taskId = "0123abcd";
  ContainerPlan c;
  c.name = "web";
  c.definition = {{"name", "web"},
                  {"logConfiguration",
                   {{"logDriver", "awslogs"},
                    {"options",
                     {{"awslogs-group", "/ecs/app"},
                      {"awslogs-region", "eu-west-3"},
                      {"awslogs-stream-prefix", "svc"},
                      {"awslogs-create-group", "true"}}}}}};
  auto t = awslogsTargetFor(c, task, "rt-123");
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t->has_value());
  EXPECT_EQ((*t)->group, "/ecs/app");
  EXPECT_EQ((*t)->stream, "svc/web/0123abcd");
  EXPECT_EQ((*t)->region, "eu-west-3");
  EXPECT_TRUE((*t)->createGroup);
  EXPECT_TRUE((*t)->nonBlocking);

  c.definition["logConfiguration"]["options"].erase("awslogs-stream-prefix");
  c.definition["logConfiguration"]["options"]["mode"] = "blocking";
  c.definition["logConfiguration"]["options"]["awslogs-create-group"] = "false";
  t = awslogsTargetFor(c, task, "rt-123");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->stream, "rt-123");
  EXPECT_FALSE((*t)->createGroup);
  EXPECT_FALSE((*t)->nonBlocking);

  c.definition["logConfiguration"]["options"].erase("awslogs-group");
  auto bad = awslogsTargetFor(c, task, "rt-123");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidParameter);

  c.definition["logConfiguration"] = {{"logDriver", "json-file"}};
  t = awslogsTargetFor(c, task, "rt-123");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->has_value());
}

}  // namespace
}  // namespace berth::agent
