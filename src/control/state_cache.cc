#include "control/state_cache.h"

#include "common/log.h"

namespace berth::control {

Result<std::unique_ptr<StateCache>> StateCache::open(store::Store& store) {
  std::unique_ptr<StateCache> cache(new StateCache());
  // Read the revision before the range: anything the range shows beyond it is
  // replayed by the watch too, and put() ignores writes older than what it has.
  std::int64_t rev = store.currentRevision();
  auto all = store.range("");
  if (!all.ok()) return all.takeError();
  for (const auto& kv : *all) cache->put(kv);
  cache->revision_ = rev;
  auto* raw = cache.get();
  auto watch = store.watch("", rev + 1, [raw](const std::vector<store::Event>& events) { raw->apply(events); });
  if (!watch.ok()) return watch.takeError();
  cache->watch_ = std::move(*watch);
  return cache;
}

StateCache::~StateCache() { watch_.reset(); }

void StateCache::put(const store::KeyValue& kv) {
  auto it = objects_.find(kv.key);
  if (it != objects_.end() && it->second.modRevision >= kv.modRevision) return;
  auto doc = nlohmann::json::parse(kv.value, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    // Only Berth writes the store, always valid JSON: a bad value means corruption.
    log::error("store value is not JSON; ignoring key", {{"key", kv.key}, {"modRevision", kv.modRevision}});
    return;
  }
  CachedObject now{std::move(doc), kv.createRevision, kv.modRevision};
  if (it == objects_.end()) {
    auto inserted = objects_.emplace(kv.key, std::move(now)).first;
    notify(kv.key, nullptr, &inserted->second);
    return;
  }
  CachedObject before = std::move(it->second);
  it->second = std::move(now);
  notify(kv.key, &before, &it->second);
}

void StateCache::notify(const std::string& key, const CachedObject* before, const CachedObject* after) {
  for (const auto& [id, o] : observers_) o(key, before, after);
}

std::uint64_t StateCache::addObserver(Observer observer) {
  std::unique_lock lock(mu_);
  for (const auto& [key, object] : objects_) observer(key, nullptr, &object);
  const std::uint64_t id = nextObserverId_++;
  observers_.emplace_back(id, std::move(observer));
  return id;
}

void StateCache::removeObserver(std::uint64_t id) {
  std::unique_lock lock(mu_);
  std::erase_if(observers_, [id](const auto& o) { return o.first == id; });
}

void StateCache::apply(const std::vector<store::Event>& events) {
  std::int64_t rev = 0;
  {
    std::unique_lock lock(mu_);
    for (const auto& e : events) {
      if (e.type == store::Event::Type::kPut) {
        put(e.kv);
      } else {
        auto it = objects_.find(e.kv.key);
        if (it != objects_.end() && it->second.modRevision < e.kv.modRevision) {
          CachedObject before = std::move(it->second);
          objects_.erase(it);
          notify(e.kv.key, &before, nullptr);
        }
      }
      rev = std::max(rev, e.kv.modRevision);
    }
    if (rev > revision_) revision_ = rev;
  }
  std::lock_guard wl(waitMu_);
  applied_.notify_all();
}

std::optional<CachedObject> StateCache::get(const std::string& key) const {
  std::shared_lock lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

std::int64_t StateCache::modRevision(const std::string& key) const {
  std::shared_lock lock(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? 0 : it->second.modRevision;
}

void StateCache::scan(const std::string& prefix, const std::string& after,
                      const std::function<bool(const std::string&, const CachedObject&)>& visit) const {
  std::shared_lock lock(mu_);
  auto it = after.empty() ? objects_.lower_bound(prefix) : objects_.upper_bound(after);
  for (; it != objects_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    if (!visit(it->first, it->second)) break;
  }
}

std::size_t StateCache::countPrefix(const std::string& prefix) const {
  std::size_t n = 0;
  scan(prefix, "", [&](const std::string&, const CachedObject&) { ++n; return true; });
  return n;
}

std::int64_t StateCache::revision() const {
  std::shared_lock lock(mu_);
  return revision_;
}

bool StateCache::waitForRevision(std::int64_t rev, std::chrono::milliseconds timeout) const {
  std::unique_lock wl(waitMu_);
  return applied_.wait_for(wl, timeout, [&] { return revision() >= rev; });
}

}  // namespace berth::control
