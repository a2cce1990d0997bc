#pragma once
// The server's in-memory copy of the store: every key parsed once into JSON,
// ordered by key so prefix scans are index scans. It is fed only by the store's
// watch, in revision order, so it never applies writes out of order; writers
// call waitForRevision() after a commit to read their own writes.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "store/store.h"

namespace berth::control {

struct CachedObject {
  nlohmann::json doc;
  std::int64_t createRevision = 0;
  std::int64_t modRevision = 0;
};

class StateCache {
 public:
  // Loads every key, then follows the store's watch. The store must outlive the cache.
  static Result<std::unique_ptr<StateCache>> open(store::Store& store);
  ~StateCache();

  std::optional<CachedObject> get(const std::string& key) const;
  // The key's modRevision (0 when absent), without copying its document.
  std::int64_t modRevision(const std::string& key) const;
  // Visits keys with this prefix in key order, starting after `after` if non-empty.
  // The visitor returns false to stop. Runs under a shared lock: keep it short.
  void scan(const std::string& prefix, const std::string& after,
            const std::function<bool(const std::string& key, const CachedObject&)>& visit) const;
  std::size_t countPrefix(const std::string& prefix) const;

  std::int64_t revision() const;
  // Blocks until the cache has applied revision `rev` (or the timeout passes).
  bool waitForRevision(std::int64_t rev, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

  // Observers keep derived indexes (placement snapshot, tasks per instance) in
  // step with the cache. Each applied change is reported in revision order:
  // the key, the object before (nullptr: new key) and after (nullptr: deleted).
  // They run under the cache's write lock, before revision() moves past the
  // change (so a writer that waitForRevision()s sees its write in every index):
  // they must be quick and must not call back into the cache. addObserver first
  // replays every existing key as new (before = nullptr), under the same lock.
  using Observer = std::function<void(const std::string& key, const CachedObject* before, const CachedObject* after)>;
  // Returns an id for removeObserver(); an observer must be removed before
  // whatever it captures goes away (the watch thread may call it until then).
  std::uint64_t addObserver(Observer observer);
  void removeObserver(std::uint64_t id);

 private:
  StateCache() = default;
  void apply(const std::vector<store::Event>& events);
  void put(const store::KeyValue& kv);  // holds mu_ (unique)
  void notify(const std::string& key, const CachedObject* before, const CachedObject* after);  // holds mu_

  mutable std::shared_mutex mu_;
  std::map<std::string, CachedObject, std::less<>> objects_;
  std::int64_t revision_ = 0;
  mutable std::mutex waitMu_;
  mutable std::condition_variable applied_;
  std::vector<std::pair<std::uint64_t, Observer>> observers_;  // guarded by mu_
  std::uint64_t nextObserverId_ = 1;
  std::unique_ptr<store::Watch> watch_;
};

}  // namespace berth::control
