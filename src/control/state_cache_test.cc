#include "control/state_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "store/sqlite_store.h"

namespace berth::control {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::unique_ptr<store::Store> openMemoryStore() {
  auto s = store::openSqliteStore(":memory:");
  if (!s.ok()) throw std::runtime_error(s.error().message);
  return std::move(*s);
}

std::unique_ptr<StateCache> mustOpenCache(store::Store& s) {
  auto c = StateCache::open(s);
  if (!c.ok()) throw std::runtime_error(c.error().message);
  return std::move(*c);
}

store::TxnResult commit(store::Store& s, std::vector<store::Op> ops) {
  auto r = s.txn(store::TxnRequest{{}, std::move(ops)});
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.ok() && r->succeeded);
  return r.ok() ? *r : store::TxnResult{};
}

std::int64_t put(store::Store& s, const std::string& key, const json& doc) {
  return commit(s, {store::Op::put(key, doc.dump())}).revision;
}
std::int64_t del(store::Store& s, const std::string& key) { return commit(s, {store::Op::del(key)}).revision; }

std::vector<std::string> scanKeys(const StateCache& cache, const std::string& prefix, const std::string& after = "") {
  std::vector<std::string> out;
  cache.scan(prefix, after, [&](const std::string& key, const CachedObject&) {
    out.push_back(key);
    return true;
  });
  return out;
}

// The cache must show exactly what the store's range shows: same keys, same
// documents, same create/mod revisions.
void expectMatchesStore(store::Store& s, const StateCache& cache) {
  auto all = s.range("");
  ASSERT_TRUE(all.ok());
  std::vector<std::string> cacheKeys = scanKeys(cache, "");
  ASSERT_EQ(cacheKeys.size(), all->size());
  for (std::size_t i = 0; i < all->size(); ++i) {
    const auto& kv = (*all)[i];
    EXPECT_EQ(cacheKeys[i], kv.key);
    auto obj = cache.get(kv.key);
    ASSERT_TRUE(obj.has_value()) << kv.key;
    EXPECT_EQ(obj->doc, json::parse(kv.value)) << kv.key;
    EXPECT_EQ(obj->createRevision, kv.createRevision) << kv.key;
    EXPECT_EQ(obj->modRevision, kv.modRevision) << kv.key;
  }
}

TEST(StateCacheTest, LoadsExistingKeysAtOpen) {
  auto s = openMemoryStore();
  std::int64_t created = put(*s, "k/a", {{"v", 1}});
  std::int64_t updated = put(*s, "k/a", {{"v", 2}});
  put(*s, "k/b", {{"v", 3}});
  put(*s, "k/gone", {{"v", 4}});
  std::int64_t last = del(*s, "k/gone");

  auto cache = mustOpenCache(*s);
  EXPECT_EQ(cache->revision(), last);
  auto a = cache->get("k/a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->doc, (json{{"v", 2}}));
  EXPECT_EQ(a->createRevision, created);
  EXPECT_EQ(a->modRevision, updated);
  ASSERT_TRUE(cache->get("k/b").has_value());
  EXPECT_EQ(cache->get("k/b")->doc["v"], 3);
  EXPECT_FALSE(cache->get("k/gone").has_value());
  EXPECT_FALSE(cache->get("k/missing").has_value());
  EXPECT_EQ(cache->countPrefix(""), 2u);
}

TEST(StateCacheTest, EmptyStoreOpensAtRevisionZero) {
  auto s = openMemoryStore();
  auto cache = mustOpenCache(*s);
  EXPECT_EQ(cache->revision(), 0);
  EXPECT_EQ(cache->countPrefix(""), 0u);
  EXPECT_TRUE(cache->waitForRevision(0, 0ms));
}

TEST(StateCacheTest, FollowsLaterTransactionsIncludingDeletes) {
  auto s = openMemoryStore();
  put(*s, "x/old", {{"n", 0}});
  auto cache = mustOpenCache(*s);

  std::int64_t r1 = put(*s, "x/new", {{"n", 1}});
  ASSERT_TRUE(cache->waitForRevision(r1));
  ASSERT_TRUE(cache->get("x/new").has_value());
  EXPECT_EQ(cache->get("x/new")->doc["n"], 1);
  EXPECT_EQ(cache->get("x/new")->modRevision, r1);
  EXPECT_EQ(cache->modRevision("x/new"), r1);
  EXPECT_EQ(cache->modRevision("x/absent"), 0);
  EXPECT_EQ(cache->get("x/new")->createRevision, r1);

  std::int64_t r2 = put(*s, "x/new", {{"n", 2}});
  ASSERT_TRUE(cache->waitForRevision(r2));
  EXPECT_EQ(cache->get("x/new")->doc["n"], 2);
  EXPECT_EQ(cache->get("x/new")->modRevision, r2);
  EXPECT_EQ(cache->get("x/new")->createRevision, r1);

  std::int64_t r3 = del(*s, "x/old");
  ASSERT_TRUE(cache->waitForRevision(r3));
  EXPECT_FALSE(cache->get("x/old").has_value());
  EXPECT_EQ(cache->revision(), r3);

  // One txn with several ops: all visible at once at the same revision.
  auto multi = commit(*s, {store::Op::put("x/m1", "1"), store::Op::put("x/m2", "[2]"), store::Op::del("x/new")});
  ASSERT_TRUE(cache->waitForRevision(multi.revision));
  EXPECT_EQ(cache->get("x/m1")->doc, json(1));
  EXPECT_EQ(cache->get("x/m2")->doc, json::array({2}));
  EXPECT_EQ(cache->get("x/m1")->modRevision, multi.revision);
  EXPECT_FALSE(cache->get("x/new").has_value());

  // Deleted then recreated: a new createRevision.
  std::int64_t r5 = put(*s, "x/new", {{"n", 5}});
  ASSERT_TRUE(cache->waitForRevision(r5));
  EXPECT_EQ(cache->get("x/new")->createRevision, r5);
  expectMatchesStore(*s, *cache);
}

TEST(StateCacheTest, WaitForRevision) {
  auto s = openMemoryStore();
  auto cache = mustOpenCache(*s);
  std::int64_t r1 = put(*s, "w/a", json::object());
  EXPECT_TRUE(cache->waitForRevision(r1));
  EXPECT_GE(cache->revision(), r1);

  // A revision nobody wrote yet times out (and says so).
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(cache->waitForRevision(r1 + 1, 50ms));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 40ms);

  // A waiter blocked on a future revision wakes when it is applied.
  std::atomic<bool> woke{false};
  std::thread waiter([&] { woke = cache->waitForRevision(r1 + 1, 5s); });
  std::this_thread::sleep_for(20ms);
  std::int64_t r2 = put(*s, "w/b", json::object());
  waiter.join();
  EXPECT_EQ(r2, r1 + 1);
  EXPECT_TRUE(woke.load());
  EXPECT_TRUE(cache->get("w/b").has_value());
}

TEST(StateCacheTest, ScanOrderPrefixBoundsAndAfter) {
  auto s = openMemoryStore();
  // Inserted out of order; includes keys that share the prefix's characters
  // without being under it ("a0", "a"), and bytewise-ordered numbers.
  for (const char* k : {"b/1", "a/2", "a0", "a/10", "a", "a/1", "a/", "c"}) put(*s, k, {{"k", k}});
  auto cache = mustOpenCache(*s);

  EXPECT_EQ(scanKeys(*cache, ""), (std::vector<std::string>{"a", "a/", "a/1", "a/10", "a/2", "a0", "b/1", "c"}));
  EXPECT_EQ(scanKeys(*cache, "a/"), (std::vector<std::string>{"a/", "a/1", "a/10", "a/2"}));
  EXPECT_EQ(scanKeys(*cache, "b/"), (std::vector<std::string>{"b/1"}));
  EXPECT_EQ(scanKeys(*cache, "zz"), (std::vector<std::string>{}));
  // `after` is exclusive, need not exist, and never leaves the prefix.
  EXPECT_EQ(scanKeys(*cache, "a/", "a/1"), (std::vector<std::string>{"a/10", "a/2"}));
  EXPECT_EQ(scanKeys(*cache, "a/", "a/100"), (std::vector<std::string>{"a/2"}));
  EXPECT_EQ(scanKeys(*cache, "a/", "a/2"), (std::vector<std::string>{}));
  EXPECT_EQ(scanKeys(*cache, "", "a0"), (std::vector<std::string>{"b/1", "c"}));

  // The visitor stops the scan by returning false; the object is the parsed doc.
  std::vector<std::string> seen;
  cache->scan("a/", "", [&](const std::string& key, const CachedObject& o) {
    seen.push_back(key);
    EXPECT_EQ(o.doc["k"], key);
    return seen.size() < 2;
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"a/", "a/1"}));
}

TEST(StateCacheTest, CountPrefix) {
  auto s = openMemoryStore();
  for (int i = 0; i < 7; ++i) put(*s, "p/one/" + std::to_string(i), json::object());
  for (int i = 0; i < 3; ++i) put(*s, "p/two/" + std::to_string(i), json::object());
  put(*s, "p/onex", json::object());
  auto cache = mustOpenCache(*s);
  EXPECT_EQ(cache->countPrefix("p/one/"), 7u);
  EXPECT_EQ(cache->countPrefix("p/two/"), 3u);
  EXPECT_EQ(cache->countPrefix("p/one"), 8u);
  EXPECT_EQ(cache->countPrefix("p/"), 11u);
  EXPECT_EQ(cache->countPrefix("q/"), 0u);
  std::int64_t r = del(*s, "p/one/3");
  ASSERT_TRUE(cache->waitForRevision(r));
  EXPECT_EQ(cache->countPrefix("p/one/"), 6u);
}

TEST(StateCacheTest, IgnoresValuesThatAreNotJson) {
  auto s = openMemoryStore();
  put(*s, "j/good", {{"ok", true}});
  commit(*s, {store::Op::put("j/bad", "{not json")});
  auto cache = mustOpenCache(*s);
  EXPECT_TRUE(cache->get("j/good").has_value());
  EXPECT_FALSE(cache->get("j/bad").has_value());
  auto r = commit(*s, {store::Op::put("j/bad2", "nope")}).revision;
  // The revision is still applied so writers waiting on it are not stuck.
  EXPECT_TRUE(cache->waitForRevision(r, 2s));
  EXPECT_FALSE(cache->get("j/bad2").has_value());
}

// Random puts/deletes over a small key space, some multi-op, then a cache
// opened on that history must equal the store's range. A second cache is
// opened while a writer is still committing, the racy case open() handles by
// replaying from the revision it read.
TEST(StateCacheTest, CacheOnStoreWithHistoryMatchesRange) {
  auto s = openMemoryStore();
  std::mt19937_64 rng(7);
  auto randomOps = [&](int n) {
    for (int i = 0; i < n; ++i) {
      std::vector<store::Op> ops;
      int count = 1 + static_cast<int>(rng() % 3);
      for (int j = 0; j < count; ++j) {
        std::string key = "h/" + std::to_string(rng() % 40);
        if (rng() % 4 == 0) ops.push_back(store::Op::del(key));
        else ops.push_back(store::Op::put(key, json{{"i", i}, {"j", j}}.dump()));
      }
      auto r = s->txn(store::TxnRequest{{}, std::move(ops)});
      ASSERT_TRUE(r.ok() && r->succeeded);
    }
  };
  randomOps(300);
  {
    auto cache = mustOpenCache(*s);
    expectMatchesStore(*s, *cache);
  }

  std::thread writer([&] { randomOps(1000); });
  std::this_thread::sleep_for(1ms);
  auto racing = mustOpenCache(*s);
  writer.join();
  ASSERT_TRUE(racing->waitForRevision(s->currentRevision()));
  expectMatchesStore(*s, *racing);
  racing.reset();
  s->close();
}

}  // namespace
}  // namespace berth::control

namespace berth::control {
namespace {

// Observers see existing keys replayed as new, then every later change with
// the before/after objects, and both are visible once waitForRevision returns.
TEST(StateCacheObserverTest, ReplaysExistingThenReportsChangesInOrder) {
  auto s = store::openSqliteStore(":memory:");
  ASSERT_TRUE(s.ok());
  auto& st = **s;
  ASSERT_TRUE(st.txn(store::TxnRequest{{}, {store::Op::put("k/a", R"({"n":1})")}}).ok());
  auto cache = StateCache::open(st);
  ASSERT_TRUE(cache.ok());
  std::vector<std::string> seen;  // "key:before->after" with n values, "-" for none
  (*cache)->addObserver([&](const std::string& key, const CachedObject* before, const CachedObject* after) {
    auto n = [](const CachedObject* o) { return o ? std::to_string(o->doc.value("n", 0)) : std::string("-"); };
    seen.push_back(key + ":" + n(before) + "->" + n(after));
  });
  ASSERT_EQ(seen, std::vector<std::string>{"k/a:-->1"});
  auto r1 = st.txn(store::TxnRequest{{}, {store::Op::put("k/a", R"({"n":2})"), store::Op::put("k/b", R"({"n":3})")}});
  auto r2 = st.txn(store::TxnRequest{{}, {store::Op::del("k/a")}});
  ASSERT_TRUE(r1.ok() && r2.ok());
  ASSERT_TRUE((*cache)->waitForRevision(r2->revision));
  EXPECT_EQ(seen, (std::vector<std::string>{"k/a:-->1", "k/a:1->2", "k/b:-->3", "k/a:2->-"}));
}

}  // namespace
}  // namespace berth::control
