#include "control/committer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "control/testing/ecs_fixture.h"

namespace berth::control {
namespace {

using nlohmann::json;
using test::EcsFixture;

class CommitterTest : public EcsFixture {};

TEST_F(CommitterTest, PinnedUsesCacheRevisionOrZero) {
  EXPECT_EQ(pinned(cache(), "c/absent").modRevision, 0);
  EXPECT_EQ(pinned(cache(), "c/absent").key, "c/absent");
  std::int64_t r = env_->putDoc("c/present", {{"n", 1}});
  EXPECT_EQ(pinned(cache(), "c/present").modRevision, r);
}

TEST_F(CommitterTest, CommitsAndCacheShowsWriteOnReturn) {
  int calls = 0;
  auto r = commitWithRetry(ctx(), [&]() -> Result<store::TxnRequest> {
    ++calls;
    return store::TxnRequest{{pinned(cache(), "c/k")}, {store::Op::put("c/k", R"({"v":1})")}};
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->succeeded);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(r->revision, store().currentRevision());
  // Read-your-writes: no wait needed.
  auto obj = cache().get("c/k");
  ASSERT_TRUE(obj.has_value());
  EXPECT_EQ(obj->doc["v"], 1);
  EXPECT_EQ(obj->modRevision, r->revision);
}

TEST_F(CommitterTest, RetriesAfterConcurrentWriterAndSucceeds) {
  env_->putDoc("c/counter", {{"n", 0}});
  int calls = 0;
  auto r = commitWithRetry(ctx(), [&]() -> Result<store::TxnRequest> {
    ++calls;
    auto obj = cache().get("c/counter");
    EXPECT_TRUE(obj.has_value());
    json doc = obj->doc;
    auto pin = pinned(cache(), "c/counter");
    if (calls == 1) {
      // Another writer changes the key after we read it: our compare must fail.
      auto other = store().txn(store::TxnRequest{{}, {store::Op::put("c/counter", R"({"n":100})")}});
      EXPECT_TRUE(other.ok() && other->succeeded);
    }
    doc["n"] = doc["n"].get<int>() + 1;
    return store::TxnRequest{{pin}, {store::Op::put("c/counter", doc.dump())}};
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(calls, 2);
  // The second attempt read the concurrent write: no lost update.
  EXPECT_EQ(cache().get("c/counter")->doc["n"], 101);
}

TEST_F(CommitterTest, GivesUpWithConflictAfterMaxAttempts) {
  env_->putDoc("c/hot", {{"n", 0}});
  int calls = 0;
  auto r = commitWithRetry(
      ctx(),
      [&]() -> Result<store::TxnRequest> {
        ++calls;
        auto pin = pinned(cache(), "c/hot");
        // Someone always writes between our read and our commit.
        auto other = store().txn(store::TxnRequest{{}, {store::Op::put("c/hot", json{{"n", calls}}.dump())}});
        EXPECT_TRUE(other.ok() && other->succeeded);
        return store::TxnRequest{{pin}, {store::Op::put("c/hot", R"({"mine":true})")}};
      },
      /*maxAttempts=*/3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  EXPECT_EQ(r.error().context, "c/hot");
  EXPECT_EQ(calls, 3);
  auto stored = store().get("c/hot");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ(json::parse((*stored)->value), (json{{"n", 3}}));
}

TEST_F(CommitterTest, BuildErrorEndsTheOperation) {
  int calls = 0;
  std::int64_t before = store().currentRevision();
  auto r = commitWithRetry(ctx(), [&]() -> Result<store::TxnRequest> {
    ++calls;
    return Error::make(ErrorCode::kClusterNotFound, "Cluster not found.");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kClusterNotFound);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(store().currentRevision(), before);
}

TEST_F(CommitterTest, EmptyTransactionDoesNotReachTheStore) {
  std::int64_t rev = env_->putDoc("c/x", {{"n", 1}});
  int calls = 0;
  // Even a compare that would fail is not checked: nothing is sent.
  auto r = commitWithRetry(ctx(), [&]() -> Result<store::TxnRequest> {
    ++calls;
    return store::TxnRequest{{{"c/x", rev + 1000}}, {}};
  });
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->succeeded);
  EXPECT_EQ(r->revision, rev);
  EXPECT_TRUE(r->written.empty());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(store().currentRevision(), rev);
}

TEST_F(CommitterTest, ConcurrentIncrementsAreNotLost) {
  constexpr int kThreads = 8, kIncrements = 50;
  env_->putDoc("c/shared", {{"n", 0}});
  std::atomic<int> failures{0}, attempts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        auto r = commitWithRetry(ctx(), [&]() -> Result<store::TxnRequest> {
          ++attempts;
          auto obj = cache().get("c/shared");
          if (!obj) return Error::make(ErrorCode::kInternal, "counter vanished");
          json doc = obj->doc;
          doc["n"] = doc["n"].get<int>() + 1;
          return store::TxnRequest{{{"c/shared", obj->modRevision}}, {store::Op::put("c/shared", doc.dump())}};
        });
        if (!r.ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(cache().get("c/shared")->doc["n"], kThreads * kIncrements);
  auto stored = store().get("c/shared");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ(json::parse((*stored)->value)["n"], kThreads * kIncrements);
  EXPECT_GE(attempts.load(), kThreads * kIncrements);
}

}  // namespace
}  // namespace berth::control
