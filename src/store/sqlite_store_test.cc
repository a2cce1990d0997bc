#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

namespace berth::store {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::path(::testing::TempDir()) / "berth-store-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::unique_ptr<SqliteStore> mustOpen(const std::string& path, SqliteStoreOptions options = {}) {
  auto r = SqliteStore::open(path, options);
  if (!r.ok()) {
    ADD_FAILURE() << "open " << path << ": " << r.error().message;
    return nullptr;
  }
  return std::move(r).value();
}

TxnResult mustTxn(Store& s, TxnRequest req) {
  auto r = s.txn(req);
  if (!r.ok()) {
    ADD_FAILURE() << "txn: " << r.error().message;
    return {};
  }
  return std::move(r).value();
}

TxnResult put(Store& s, const std::string& k, const std::string& v) { return mustTxn(s, {{}, {Op::put(k, v)}}); }
TxnResult del(Store& s, const std::string& k) { return mustTxn(s, {{}, {Op::del(k)}}); }

std::optional<KeyValue> mustGet(Store& s, const std::string& k) {
  auto r = s.get(k);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : std::nullopt;
}

std::vector<std::string> keysOf(const std::vector<KeyValue>& kvs) {
  std::vector<std::string> out;
  for (const auto& kv : kvs) out.push_back(kv.key);
  return out;
}

// Collects watch callbacks (one entry per callback = one revision).
class Collector {
 public:
  WatchCallback callback() {
    return [this](const std::vector<Event>& events) {
      std::lock_guard<std::mutex> lock(mu_);
      batches_.push_back(events);
      cv_.notify_all();
    };
  }
  // Waits until at least n callbacks arrived; returns a copy.
  std::vector<std::vector<Event>> waitFor(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return batches_.size() >= n; });
    return batches_;
  }
  std::size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::vector<Event>> batches_;
};

std::string describe(const std::vector<Event>& events) {
  std::string out;
  for (const auto& e : events) {
    out += (e.type == Event::Type::kPut ? "put " : "del ") + e.kv.key + "@" + std::to_string(e.kv.modRevision);
    if (e.type == Event::Type::kPut) out += "=" + e.kv.value;
    out += ";";
  }
  return out;
}

TEST(SqliteStore, PutGetRangeDelete) {
  auto s = mustOpen(":memory:");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->currentRevision(), 0);
  EXPECT_FALSE(mustGet(*s, "a").has_value());

  put(*s, "b/2", "two");
  put(*s, "b/1", "one");
  put(*s, "a", "x");
  put(*s, "c", "y");
  auto b = mustGet(*s, "b/1");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->value, "one");

  auto r = s->range("b/");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(keysOf(*r), (std::vector<std::string>{"b/1", "b/2"}));
  auto all = s->range("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(keysOf(*all), (std::vector<std::string>{"a", "b/1", "b/2", "c"}));

  auto d = del(*s, "b/1");
  EXPECT_TRUE(d.succeeded);
  EXPECT_EQ(d.revision, 5);
  EXPECT_FALSE(mustGet(*s, "b/1").has_value());
  r = s->range("b/");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(keysOf(*r), (std::vector<std::string>{"b/2"}));
}

TEST(SqliteStore, RangeIsBytewisePrefix) {
  auto s = mustOpen(":memory:");
  ASSERT_TRUE(s);
  for (std::string k : {"a", "a/", "a/b", "a/\xff", "a0", "ab", "b", "\xff", "\xff\xff", "\xff\x01", ""}) put(*s, k, "v");
  auto r = s->range("a/");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(keysOf(*r), (std::vector<std::string>{"a/", "a/b", "a/\xff"}));
  r = s->range("\xff");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(keysOf(*r), (std::vector<std::string>{"\xff", "\xff\x01", "\xff\xff"}));
  r = s->range("\xff\xff");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(keysOf(*r), (std::vector<std::string>{"\xff\xff"}));
  r = s->range("");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 11u);
  EXPECT_EQ(r->front().key, "");
}

TEST(SqliteStore, EmptyAndBinaryValuesRoundTrip) {
  auto s = mustOpen(":memory:");
  ASSERT_TRUE(s);
  put(*s, "empty", "");
  std::string binary("a\0b\xff", 4);
  put(*s, "bin", binary);
  auto e = mustGet(*s, "empty");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->value, "");
  auto b = mustGet(*s, "bin");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->value, binary);
}

TEST(SqliteStore, RevisionAndVersionSemantics) {
  auto s = mustOpen(":memory:");
  ASSERT_TRUE(s);
  auto r1 = put(*s, "k", "1");
  ASSERT_TRUE(r1.succeeded);
  EXPECT_EQ(r1.revision, 1);
  ASSERT_EQ(r1.written.size(), 1u);
  EXPECT_EQ(r1.written[0].createRevision, 1);
  EXPECT_EQ(r1.written[0].modRevision, 1);
  EXPECT_EQ(r1.written[0].version, 1);

  put(*s, "other", "x");  // rev 2
  auto r3 = put(*s, "k", "2");
  EXPECT_EQ(r3.revision, 3);
  auto k = mustGet(*s, "k");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->value, "2");
  EXPECT_EQ(k->createRevision, 1);
  EXPECT_EQ(k->modRevision, 3);
  EXPECT_EQ(k->version, 2);

  del(*s, "k");  // rev 4
  auto r5 = put(*s, "k", "3");
  EXPECT_EQ(r5.revision, 5);
  k = mustGet(*s, "k");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->createRevision, 5);  // recreated: a new life
  EXPECT_EQ(k->version, 1);
  EXPECT_EQ(s->currentRevision(), 5);
}

TEST(SqliteStore, CompareOnRevision) {
  auto s = mustOpen(":memory:");
  ASSERT_TRUE(s);
  // modRevision 0: create only if absent.
  auto created = mustTxn(*s, {{{"k", 0}}, {Op::put("k", "v1")}});
  ASSERT_TRUE(created.succeeded);
  auto again = mustTxn(*s, {{{"k", 0}}, {Op::put("k", "v2")}});
  EXPECT_FALSE(again.succeeded);
  EXPECT_EQ(again.failedKey, "k");
  EXPECT_EQ(again.revision, 1);
  EXPECT_TRUE(again.written.empty());

  auto stale = mustTxn(*s, {{{"k", 7}}, {Op::put("k", "v2")}});
  EXPECT_FALSE(stale.succeeded);
  EXPECT_EQ(mustGet(*s, "k")->value, "v1");

  auto fresh = mustTxn(*s, {{{"k", 1}}, {Op::put("k", "v2")}});
  ASSERT_TRUE(fresh.succeeded);
  EXPECT_EQ(fresh.revision, 2);  // failed txns did not consume revisions
  EXPECT_EQ(mustGet(*s, "k")->value, "v2");
}

TEST(SqliteStore, FailedCompareAppliesNothing) {
  auto s = mustOpen(":memory:");
  ASSERT_TRUE(s);
  put(*s, "a", "1");  // rev 1
  put(*s, "b", "1");  // rev 2
  // First compare holds, second does not: none of the three ops may apply.
  auto r = mustTxn(*s, {{{"a", 1}, {"b", 1}}, {Op::put("a", "2"), Op::del("b"), Op::put("c", "new")}});
  EXPECT_FALSE(r.succeeded);
  EXPECT_EQ(r.failedKey, "b");
  EXPECT_EQ(mustGet(*s, "a")->value, "1");
  EXPECT_TRUE(mustGet(*s, "b").has_value());
  EXPECT_FALSE(mustGet(*s, "c").has_value());
  EXPECT_EQ(s->currentRevision(), 2);

  auto ok = mustTxn(*s, {{{"a", 1}, {"b", 2}}, {Op::put("a", "2"), Op::del("b"), Op::put("c", "new")}});
  ASSERT_TRUE(ok.succeeded);
  EXPECT_EQ(ok.revision, 3);
  EXPECT_EQ(mustGet(*s, "a")->modRevision, 3);
  EXPECT_FALSE(mustGet(*s, "b").has_value());
  EXPECT_EQ(mustGet(*s, "c")->modRevision, 3);
  ASSERT_EQ(ok.written.size(), 2u);
  EXPECT_EQ(ok.written[0].key, "a");
  EXPECT_EQ(ok.written[0].version, 2);
  EXPECT_EQ(ok.written[1].key, "c");
}

TEST(SqliteStore, SameKeyTwiceLastWins) {
  auto s = mustOpen(":memory:");
  ASSERT_TRUE(s);
  put(*s, "k", "old");  // rev 1, version 1
  auto r = mustTxn(*s, {{}, {Op::put("k", "a"), Op::put("k", "b")}});
  ASSERT_TRUE(r.succeeded);
  auto k = mustGet(*s, "k");
  EXPECT_EQ(k->value, "b");
  EXPECT_EQ(k->version, 2);  // one bump per txn
  ASSERT_EQ(r.written.size(), 2u);
  EXPECT_EQ(r.written[0].value, "b");  // the state after the txn

  auto gone = mustTxn(*s, {{}, {Op::put("k", "c"), Op::del("k")}});
  ASSERT_TRUE(gone.succeeded);
  EXPECT_FALSE(mustGet(*s, "k").has_value());
  EXPECT_EQ(gone.revision, 3);

  auto back = mustTxn(*s, {{}, {Op::del("k"), Op::put("k", "again")}});
  EXPECT_EQ(back.written.at(0).createRevision, 4);
  EXPECT_EQ(back.written.at(0).version, 1);
}

TEST(SqliteStore, NoOpTxnTakesNoRevision) {
  auto s = mustOpen(":memory:");
  ASSERT_TRUE(s);
  put(*s, "k", "v");
  auto missing = del(*s, "nope");
  EXPECT_TRUE(missing.succeeded);
  EXPECT_EQ(missing.revision, 1);
  auto empty = mustTxn(*s, {{{"k", 1}}, {}});  // a pure check
  EXPECT_TRUE(empty.succeeded);
  EXPECT_EQ(s->currentRevision(), 1);
  EXPECT_EQ(put(*s, "k2", "v").revision, 2);
}

TEST(SqliteStore, ReopenKeepsStateRevisionAndCompaction) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    auto s = mustOpen(path);
    ASSERT_TRUE(s);
    for (int i = 0; i < 10; ++i) put(*s, "k/" + std::to_string(i), "v" + std::to_string(i));
    del(*s, "k/3");
    ASSERT_TRUE(s->compact(5).ok());
    s->close();
  }
  auto s = mustOpen(path);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->currentRevision(), 11);
  auto r = s->range("k/");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 9u);
  EXPECT_EQ(mustGet(*s, "k/9")->modRevision, 10);
  EXPECT_EQ(put(*s, "k/10", "v").revision, 12);
  Collector c;
  auto old = s->watch("", 4, c.callback());
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().code, ErrorCode::kInvalidParameter);
  auto w = s->watch("", 5, c.callback());
  ASSERT_TRUE(w.ok());
  auto got = c.waitFor(8);  // revisions 5..12
  ASSERT_EQ(got.size(), 8u);
  EXPECT_EQ(got.front().at(0).kv.modRevision, 5);
}

TEST(SqliteStore, WatchReplaysHistoryThenLive) {
  auto s = mustOpen(":memory:");
  ASSERT_TRUE(s);
  put(*s, "a", "1");                                          // 1
  mustTxn(*s, {{}, {Op::put("a", "2"), Op::put("b", "1")}});  // 2
  del(*s, "a");                                               // 3
  Collector c;
  auto w = s->watch("", 2, c.callback());
  ASSERT_TRUE(w.ok());
  put(*s, "c", "1");  // 4
  auto got = c.waitFor(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(describe(got[0]), "put a@2=2;put b@2=1;");
  EXPECT_EQ(got[0][0].kv.createRevision, 1);
  EXPECT_EQ(got[0][0].kv.version, 2);
  EXPECT_EQ(describe(got[1]), "del a@3;");
  EXPECT_EQ(describe(got[2]), "put c@4=1;");
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(c.size(), 3u);  // no duplicates
}

TEST(SqliteStore, WatchFromNowSkipsHistory) {
  auto s = mustOpen(":memory:");
  ASSERT_TRUE(s);
  put(*s, "a", "1");
  Collector now, future;
  auto w1 = s->watch("", 0, now.callback());
  auto w2 = s->watch("", 100, future.callback());
  ASSERT_TRUE(w1.ok() && w2.ok());
  put(*s, "a", "2");
  EXPECT_EQ(describe(now.waitFor(1).at(0)), "put a@2=2;");
  EXPECT_EQ(describe(future.waitFor(1).at(0)), "put a@2=2;");
}

TEST(SqliteStore, WatchFiltersByPrefix) {
  auto s = mustOpen(":memory:");
  ASSERT_TRUE(s);
  put(*s, "tasks/1", "x");                                                // 1
  put(*s, "services/1", "y");                                             // 2
  Collector c;
  auto w = s->watch("tasks/", 1, c.callback());
  ASSERT_TRUE(w.ok());
  mustTxn(*s, {{}, {Op::put("services/2", "z"), Op::put("tasks/2", "t")}});  // 3
  put(*s, "services/3", "z");                                                 // 4
  put(*s, "tasks/3", "t");                                                    // 5
  auto got = c.waitFor(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(describe(got[0]), "put tasks/1@1=x;");
  EXPECT_EQ(describe(got[1]), "put tasks/2@3=t;");
  EXPECT_EQ(describe(got[2]), "put tasks/3@5=t;");
}

TEST(SqliteStore, CancelledWatchGetsNothingMore) {
  auto s = mustOpen(":memory:");
  ASSERT_TRUE(s);
  Collector c;
  auto w = s->watch("", 0, c.callback());
  ASSERT_TRUE(w.ok());
  put(*s, "a", "1");
  ASSERT_EQ(c.waitFor(1).size(), 1u);
  w->reset();
  put(*s, "a", "2");
  Collector probe;  // a later watcher proves the dispatcher got past revision 2
  auto w2 = s->watch("", 2, probe.callback());
  ASSERT_EQ(probe.waitFor(1).size(), 1u);
  EXPECT_EQ(c.size(), 1u);
}

TEST(SqliteStore, CancelWaitsForRunningCallback) {
  auto s = mustOpen(":memory:");
  ASSERT_TRUE(s);
  std::atomic<bool> entered{false}, finished{false};
  auto w = s->watch("", 0, [&](const std::vector<Event>&) {
    entered = true;
    std::this_thread::sleep_for(100ms);
    finished = true;
  });
  ASSERT_TRUE(w.ok());
  put(*s, "a", "1");
  while (!entered) std::this_thread::sleep_for(1ms);
  w->reset();  // must not return while the callback still runs
  EXPECT_TRUE(finished.load());
}

TEST(SqliteStore, WatchMayCancelItselfFromItsCallback) {
  auto s = mustOpen(":memory:");
  ASSERT_TRUE(s);
  std::unique_ptr<Watch> handle;
  std::atomic<int> calls{0};
  auto w = s->watch("", 0, [&](const std::vector<Event>&) {
    ++calls;
    handle.reset();
  });
  ASSERT_TRUE(w.ok());
  handle = std::move(*w);
  mustTxn(*s, {{}, {Op::put("a", "1")}});
  put(*s, "a", "2");
  Collector probe;
  auto w2 = s->watch("", 2, probe.callback());
  ASSERT_EQ(probe.waitFor(1).size(), 1u);
  EXPECT_EQ(calls.load(), 1);
}

TEST(SqliteStore, CompactionRejectsOldWatches) {
  auto s = mustOpen(":memory:");
  ASSERT_TRUE(s);
  for (int i = 0; i < 5; ++i) put(*s, "k", std::to_string(i));  // 1..5
  auto future = s->compact(7);
  ASSERT_FALSE(future.ok());
  EXPECT_EQ(future.error().code, ErrorCode::kInvalidParameter);
  ASSERT_TRUE(s->compact(4).ok());
  ASSERT_TRUE(s->compact(2).ok());  // already compacted further: no-op
  Collector c;
  auto old = s->watch("", 3, c.callback());
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().code, ErrorCode::kInvalidParameter);
  auto w = s->watch("", 4, c.callback());
  ASSERT_TRUE(w.ok());
  auto got = c.waitFor(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(describe(got[0]), "put k@4=3;");
  EXPECT_EQ(describe(got[1]), "put k@5=4;");
  EXPECT_EQ(mustGet(*s, "k")->value, "4");  // live keys survive compaction
}

TEST(SqliteStore, CloseRejectsLaterCalls) {
  auto s = mustOpen(":memory:");
  ASSERT_TRUE(s);
  put(*s, "a", "1");
  s->close();
  s->close();  // idempotent
  auto t = s->txn({{}, {Op::put("a", "2")}});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, ErrorCode::kUnavailable);
  auto g = s->get("a");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(s->range("").ok(), false);
  EXPECT_EQ(s->watch("", 0, [](const std::vector<Event>&) {}).ok(), false);
  EXPECT_EQ(s->compact(1).ok(), false);
  EXPECT_EQ(s->currentRevision(), 1);
}

TEST(SqliteStore, OpenFailsCleanlyOnBadFiles) {
  TempDir dir;
  const std::string garbage = dir.file("garbage.db");
  {
    std::ofstream f(garbage, std::ios::binary);
    for (int i = 0; i < 1000; ++i) f << "this is not an sqlite database ";
  }
  auto r = SqliteStore::open(garbage);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_NE(r.error().message.find("sqlite:"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().context, garbage);

  auto missingDir = SqliteStore::open(dir.file("no/such/dir/x.db"));
  ASSERT_FALSE(missingDir.ok());
  EXPECT_EQ(missingDir.error().code, ErrorCode::kIo);
}

TEST(SqliteStore, SecondOpenOfSameFileIsRefused) {
  TempDir dir;
  auto first = mustOpen(dir.file("s.db"));
  ASSERT_TRUE(first);
  auto second = SqliteStore::open(dir.file("s.db"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
  first->close();
  EXPECT_TRUE(SqliteStore::open(dir.file("s.db")).ok());
}

// 16 threads x 200 increments of shared counters with compare-and-retry: the
// totals are exact only if compares are evaluated against the state left by the
// earlier txns of the same batch, and commits < txns shows batching happened.
TEST(SqliteStore, ConcurrentCompareAndRetryCountersAreExact) {
  TempDir dir;
  auto s = mustOpen(dir.file("counters.db"));
  ASSERT_TRUE(s);
  constexpr int kThreads = 16, kPerThread = 200, kCounters = 4;
  Collector c;
  auto w = s->watch("", 1, c.callback());
  ASSERT_TRUE(w.ok());
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = "counter/" + std::to_string((t + i) % kCounters);
        for (;;) {
          auto cur = s->get(key);
          if (!cur.ok()) { ++errors; return; }
          std::int64_t value = *cur ? std::stoll((*cur)->value) : 0;
          std::int64_t mod = *cur ? (*cur)->modRevision : 0;
          auto r = s->txn({{{key, mod}}, {Op::put(key, std::to_string(value + 1))}});
          if (!r.ok()) { ++errors; return; }
          if (r->succeeded) break;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  std::int64_t total = 0;
  for (int k = 0; k < kCounters; ++k) {
    auto v = mustGet(*s, "counter/" + std::to_string(k));
    ASSERT_TRUE(v);
    EXPECT_EQ(std::stoll(v->value), kThreads * kPerThread / kCounters);
    total += std::stoll(v->value);
  }
  EXPECT_EQ(total, kThreads * kPerThread);
  EXPECT_EQ(s->currentRevision(), kThreads * kPerThread);  // dense: one per success

  auto st = s->stats();
  EXPECT_EQ(st.txns - st.failedCompares, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_LT(st.commits, st.txns) << "group commit never batched";
  EXPECT_GT(st.largestBatch, 1u);

  // The watcher saw every revision once, in order.
  auto got = c.waitFor(kThreads * kPerThread, 20s);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].size(), 1u);
    ASSERT_EQ(got[i][0].kv.modRevision, static_cast<std::int64_t>(i + 1));
  }
}

TEST(SqliteStore, WithoutGroupCommitEveryTxnIsItsOwnCommit) {
  TempDir dir;
  auto s = mustOpen(dir.file("single.db"), SqliteStoreOptions{.groupCommit = false});
  ASSERT_TRUE(s);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) put(*s, "k/" + std::to_string(t) + "/" + std::to_string(i), "v");
    });
  }
  for (auto& th : threads) th.join();
  auto st = s->stats();
  EXPECT_EQ(st.txns, 40u);
  EXPECT_EQ(st.commits, 40u);
  EXPECT_EQ(s->currentRevision(), 40);
}

// A watcher registered while writes are streaming must see a gapless,
// duplicate-free sequence (the replay/live hand-over race).
TEST(SqliteStore, WatchAddedDuringWritesHasNoGapsOrDuplicates) {
  auto s = mustOpen(":memory:");
  ASSERT_TRUE(s);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    int i = 0;
    while (!stop) {
      put(*s, "k/" + std::to_string(i % 50), std::to_string(i));
      ++i;
    }
  });
  std::vector<std::unique_ptr<Collector>> collectors;
  std::vector<std::unique_ptr<Watch>> watches;
  std::vector<std::int64_t> from;
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(2ms);
    collectors.push_back(std::make_unique<Collector>());
    std::int64_t f = std::max<std::int64_t>(1, s->currentRevision() - 5);
    from.push_back(f);
    auto w = s->watch("k/", f, collectors.back()->callback());
    ASSERT_TRUE(w.ok());
    watches.push_back(std::move(*w));
  }
  stop = true;
  writer.join();
  const std::int64_t last = s->currentRevision();
  for (std::size_t i = 0; i < collectors.size(); ++i) {
    auto got = collectors[i]->waitFor(static_cast<std::size_t>(last - from[i] + 1));
    ASSERT_EQ(got.size(), static_cast<std::size_t>(last - from[i] + 1)) << "watcher " << i;
    for (std::size_t j = 0; j < got.size(); ++j) {
      ASSERT_EQ(got[j].at(0).kv.modRevision, from[i] + static_cast<std::int64_t>(j)) << "watcher " << i;
    }
  }
}

// A SQL failure inside a batch (here: a trigger planted by another connection
// that aborts inserts of one key) fails every txn of that batch with kIo and
// leaves none of them visible; txns in other batches are unaffected, revisions
// stay dense and the store keeps working.
TEST(SqliteStore, FailedBatchFailsAllItsTxnsAndShowsNothing) {
  TempDir dir;
  const std::string path = dir.file("poison.db");
  auto s = mustOpen(path);
  ASSERT_TRUE(s);
  put(*s, "before", "x");  // rev 1
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw,
                           "CREATE TRIGGER poison BEFORE INSERT ON kv WHEN NEW.key = CAST('poison' AS BLOB)"
                           " BEGIN SELECT RAISE(ABORT, 'poisoned key'); END;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(raw);
    sqlite3_close(raw);
  }
  Collector c;
  auto w = s->watch("", 0, c.callback());
  ASSERT_TRUE(w.ok());

  constexpr int kThreads = 8, kPerThread = 25;
  std::mutex mu;
  std::vector<std::string> succeeded, failed;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = "k/" + std::to_string(t) + "/" + std::to_string(i);
        TxnRequest req{{}, {Op::put(key, "v")}};
        const bool poisoned = i % 10 == 3;
        if (poisoned) req.ops.push_back(Op::put("poison", "boom"));
        auto r = s->txn(req);
        std::lock_guard<std::mutex> lock(mu);
        if (r.ok()) {
          EXPECT_FALSE(poisoned);
          succeeded.push_back(key);
        } else {
          EXPECT_EQ(r.error().code, ErrorCode::kIo);
          EXPECT_NE(r.error().message.find("poisoned key"), std::string::npos) << r.error().message;
          failed.push_back(key);
        }
      }
    });
  }
  for (auto& th : threads) th.join();

  EXPECT_GE(failed.size(), static_cast<std::size_t>(kThreads * 3));  // at least the poisoned ones
  for (const auto& k : succeeded) EXPECT_TRUE(mustGet(*s, k).has_value()) << k;
  for (const auto& k : failed) EXPECT_FALSE(mustGet(*s, k).has_value()) << k;
  EXPECT_FALSE(mustGet(*s, "poison").has_value());
  EXPECT_EQ(s->currentRevision(), static_cast<std::int64_t>(1 + succeeded.size()));
  EXPECT_GT(s->stats().failedCommits, 0u);
  auto after = put(*s, "after", "y");
  EXPECT_EQ(after.revision, static_cast<std::int64_t>(2 + succeeded.size()));

  // Watchers saw exactly the committed revisions, densely.
  auto got = c.waitFor(succeeded.size() + 1);
  ASSERT_EQ(got.size(), succeeded.size() + 1);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].at(0).kv.modRevision, static_cast<std::int64_t>(i + 2));

  // And the state survives a reopen exactly.
  s->close();
  auto again = mustOpen(path);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->currentRevision(), after.revision);
  auto all = again->range("k/");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), succeeded.size());
}

TEST(SqliteStore, CloseCommitsQueuedTxns) {
  TempDir dir;
  const std::string path = dir.file("drain.db");
  {
    auto s = mustOpen(path);
    ASSERT_TRUE(s);
    std::vector<std::thread> threads;
    std::atomic<int> acked{0};
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 20; ++i) {
          auto r = s->txn({{}, {Op::put("k/" + std::to_string(t * 100 + i), "v")}});
          if (!r.ok()) {
            EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
            return;
          }
          ++acked;
        }
      });
    }
    std::this_thread::sleep_for(5ms);
    s->close();
    for (auto& th : threads) th.join();
    auto reopened = mustOpen(path);
    ASSERT_TRUE(reopened);
    EXPECT_EQ(reopened->currentRevision(), acked.load());
  }
}

}  // namespace
}  // namespace berth::store
