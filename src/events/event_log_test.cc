#include "events/event_log.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <random>
#include <thread>

namespace berth::events {
namespace {

using namespace std::chrono_literals;

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("berth-events-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    reopen();
  }
  void TearDown() override {
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  void reopen(EventLogOptions options = {}) {
    log_.reset();
    auto l = EventLog::open((dir_ / "events.db").string(), clock_, options);
    ASSERT_TRUE(l.ok()) << l.error().message;
    log_ = std::move(*l);
  }
  std::int64_t publish(const std::string& type, const std::string& cluster, const std::string& body) {
    return log_->publish(NewEvent{type, cluster, body});
  }
  // Waits until everything published so far is committed.
  void settle(std::int64_t seq) { ASSERT_TRUE(log_->waitForEvents(seq - 1, 5s)); }
  std::vector<std::string> bodies(std::int64_t after, std::size_t limit = 100, EventFilter f = {}) {
    auto page = log_->read(after, limit, f);
    EXPECT_TRUE(page.ok());
    std::vector<std::string> out;
    if (page.ok())
      for (auto& e : page->events) out.push_back(e.json);
    return out;
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  std::unique_ptr<EventLog> log_;
};

TEST_F(EventLogTest, SequenceNumbersIncreaseAndReadPagesInOrder) {
  EXPECT_EQ(publish("A", "c1", "{\"n\":1}"), 1);
  EXPECT_EQ(publish("B", "c1", "{\"n\":2}"), 2);
  auto last = publish("A", "c2", "{\"n\":3}");
  EXPECT_EQ(last, 3);
  settle(last);
  EXPECT_EQ(log_->committedSequence(), 3);
  EXPECT_EQ(bodies(0), (std::vector<std::string>{"{\"n\":1}", "{\"n\":2}", "{\"n\":3}"}));
  auto page = log_->read(0, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events.size(), 2u);
  EXPECT_EQ(page->events[0].sequence, 1);
  EXPECT_EQ(page->events[1].detailType, "B");
  EXPECT_EQ(page->nextAfter, 2);
  EXPECT_EQ(bodies(page->nextAfter), (std::vector<std::string>{"{\"n\":3}"}));
  auto end = log_->read(3, 10);
  ASSERT_TRUE(end.ok());
  EXPECT_TRUE(end->events.empty());
  EXPECT_EQ(end->nextAfter, 3);
}

TEST_F(EventLogTest, FiltersByDetailTypeAndClusterAndSkipsWhatTheyExclude) {
  publish("A", "c1", "a1");
  publish("B", "c1", "b1");
  publish("A", "c2", "a2");
  auto last = publish("B", "c2", "b2");
  settle(last);
  EXPECT_EQ(bodies(0, 100, {"A", ""}), (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(bodies(0, 100, {"", "c2"}), (std::vector<std::string>{"a2", "b2"}));
  EXPECT_EQ(bodies(0, 100, {"B", "c1"}), (std::vector<std::string>{"b1"}));
  // A filtered page that is not full continues after everything it examined.
  auto page = log_->read(0, 100, {"B", "c1"});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->nextAfter, 4);
}

TEST_F(EventLogTest, RestartContinuesTheSequenceAndKeepsEvents) {
  publish("A", "c", "one");
  auto last = publish("A", "c", "two");
  settle(last);
  reopen();
  EXPECT_EQ(log_->committedSequence(), 2);
  EXPECT_EQ(bodies(0), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(publish("A", "c", "three"), 3);
}

TEST_F(EventLogTest, CloseCommitsQueuedEvents) {
  for (int i = 0; i < 500; ++i) publish("A", "c", std::to_string(i));
  log_->close();
  reopen();
  EXPECT_EQ(log_->committedSequence(), 500);
  EXPECT_EQ(bodies(0, 1000).size(), 500u);
}

TEST_F(EventLogTest, CountBoundKeepsTheNewestEvents) {
  reopen({.maxEvents = 3});
  std::int64_t last = 0;
  for (int i = 1; i <= 5; ++i) last = publish("A", "c", std::to_string(i));
  settle(last);
  EXPECT_EQ(bodies(0), (std::vector<std::string>{"3", "4", "5"}));
  auto oldest = log_->oldestSequence();
  ASSERT_TRUE(oldest.ok());
  EXPECT_EQ(*oldest, 3);
}

TEST_F(EventLogTest, AgeBoundExpiresOldEventsAndNumberingSurvivesAnEmptyWindow) {
  reopen({.retention = std::chrono::hours(24)});
  publish("A", "c", "old");
  clock_.advance(23h);
  auto last = publish("A", "c", "newer");
  settle(last);
  auto deleted = log_->enforceWindow();
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 0);
  clock_.advance(2h);  // "old" is 25 h old, "newer" 2 h
  deleted = log_->enforceWindow();
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 1);
  EXPECT_EQ(bodies(0), (std::vector<std::string>{"newer"}));
  clock_.advance(23h);
  ASSERT_TRUE(log_->enforceWindow().ok());
  EXPECT_TRUE(bodies(0).empty());
  reopen();
  EXPECT_EQ(publish("A", "c", "after"), 3);
}

TEST_F(EventLogTest, FollowerWakesOnPublish) {
  auto waiter = std::async(std::launch::async, [&] { return log_->waitForEvents(0, 10s); });
  EXPECT_EQ(waiter.wait_for(100ms), std::future_status::timeout);  // nothing yet
  auto start = std::chrono::steady_clock::now();
  publish("A", "c", "x");
  EXPECT_TRUE(waiter.get());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_FALSE(log_->waitForEvents(1, 50ms));  // nothing after 1: times out
}

TEST_F(EventLogTest, FollowerWakesOnCloseAndOnCancel) {
  std::atomic<bool> cancel{false};
  auto cancelled = std::async(std::launch::async, [&] { return log_->waitForEvents(0, 30s, &cancel); });
  auto closing = std::async(std::launch::async, [&] { return log_->waitForEvents(0, 30s); });
  std::this_thread::sleep_for(50ms);
  cancel = true;
  log_->wakeWaiters();
  ASSERT_EQ(cancelled.wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(cancelled.get());
  EXPECT_EQ(closing.wait_for(50ms), std::future_status::timeout);
  log_->close();
  ASSERT_EQ(closing.wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(closing.get());
  EXPECT_EQ(log_->publish(NewEvent{"A", "c", "late"}), 0);  // closed: dropped
}

TEST_F(EventLogTest, RejectsEmptyBounds) {
  auto l = EventLog::open((dir_ / "other.db").string(), clock_, {.maxEvents = 0});
  EXPECT_FALSE(l.ok());
}

}  // namespace
}  // namespace berth::events
