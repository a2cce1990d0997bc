#pragma once
// Shared test fixture for the ECS control layer: a SQLite store (private
// in-memory by default, or a file), the StateCache following it, a FakeClock,
// a SeededRandom and an EcsContext for account 123456789012 in eu-west-3.
// Header-only: every *.cc in src/control goes into the library.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/random.h"
#include "control/ecs_context.h"
#include "control/placement_index.h"
#include "control/state_cache.h"
#include "store/sqlite_store.h"

namespace berth::control::test {

inline constexpr const char* kAccount = "123456789012";
inline constexpr const char* kRegion = "eu-west-3";

inline AccountInfo testAccount() { return AccountInfo{kAccount, kRegion, "aws"}; }

// RegisterContainerInstance totalResources as an agent sends them.
inline nlohmann::json instanceResources(int cpu, int memory, const std::vector<std::string>& tcpPorts) {
  return nlohmann::json::array({{{"name", "CPU"}, {"type", "INTEGER"}, {"integerValue", cpu}},
                                {{"name", "MEMORY"}, {"type", "INTEGER"}, {"integerValue", memory}},
                                {{"name", "PORTS"}, {"type", "STRINGSET"}, {"stringSetValue", tcpPorts}},
                                {{"name", "PORTS_UDP"}, {"type", "STRINGSET"}, {"stringSetValue", nlohmann::json::array()}}});
}

// A directory under the gtest temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::path(::testing::TempDir()) / "berth-control-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Store + cache + context. Declaration order is destruction order reversed:
// the context and cache (which holds a watch) go before the store.
class EcsEnv {
 public:
  explicit EcsEnv(const std::string& path = ":memory:", std::uint64_t seed = 42) : random(seed) {
    auto s = store::openSqliteStore(path);
    if (!s.ok()) throw std::runtime_error("open store " + path + ": " + s.error().message);
    store = std::move(*s);
    auto c = StateCache::open(*store);
    if (!c.ok()) throw std::runtime_error("open cache: " + c.error().message);
    cache = std::move(*c);
    placement = std::make_unique<PlacementIndex>(*cache);
    ctx = std::make_unique<EcsContext>(EcsContext{*store, *cache, clock, random, testAccount(), placement.get()});
  }
  ~EcsEnv() {
    ctx.reset();
    placement.reset();
    cache.reset();
    if (store) store->close();
  }

  // Writes a document straight into the store (as another component would)
  // and waits until the cache shows it.
  std::int64_t putDoc(const std::string& key, const nlohmann::json& doc) {
    auto r = store->txn(store::TxnRequest{{}, {store::Op::put(key, doc.dump())}});
    if (!r.ok() || !r->succeeded) {
      ADD_FAILURE() << "put " << key << " failed";
      return 0;
    }
    EXPECT_TRUE(cache->waitForRevision(r->revision));
    return r->revision;
  }
  std::int64_t deleteKey(const std::string& key) {
    auto r = store->txn(store::TxnRequest{{}, {store::Op::del(key)}});
    if (!r.ok() || !r->succeeded) {
      ADD_FAILURE() << "delete " << key << " failed";
      return 0;
    }
    EXPECT_TRUE(cache->waitForRevision(r->revision));
    return r->revision;
  }

  std::unique_ptr<store::Store> store;
  std::unique_ptr<StateCache> cache;
  std::unique_ptr<PlacementIndex> placement;
  FakeClock clock;
  SeededRandom random;
  std::unique_ptr<EcsContext> ctx;
};

// gtest fixture over a fresh in-memory EcsEnv.
class EcsFixture : public ::testing::Test {
 protected:
  EcsFixture() : env_(std::make_unique<EcsEnv>()) {}

  EcsContext& ctx() { return *env_->ctx; }
  store::Store& store() { return *env_->store; }
  StateCache& cache() { return *env_->cache; }
  FakeClock& clock() { return env_->clock; }

  std::unique_ptr<EcsEnv> env_;
};

// Unwraps an operation's result; a failure is reported with its code and
// message and yields a null document so the test goes on to fail visibly.
template <typename T>
T mustOk(Result<T> r, const std::string& what = "operation") {
  if (!r.ok()) {
    ADD_FAILURE() << what << " failed: " << errorCodeName(r.error().code) << ": " << r.error().message;
    return T{};
  }
  return std::move(r).value();
}

}  // namespace berth::control::test
