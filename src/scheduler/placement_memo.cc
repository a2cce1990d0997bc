#include "scheduler/placement_memo.h"

namespace berth::scheduler {

PlacementMemo::PlacementMemo() : state_(std::make_unique<State>()) {}
PlacementMemo::~PlacementMemo() = default;
PlacementMemo::PlacementMemo(PlacementMemo&&) noexcept = default;
PlacementMemo& PlacementMemo::operator=(PlacementMemo&&) noexcept = default;

CachedPredicate& PlacementMemo::State::predicate(const std::string& key) {
  auto it = predicates.find(key);
  if (it != predicates.end()) return it->second;
  if (predicates.size() >= kMaxEntries) predicates.clear();
  return predicates[key];
}

AttributeBuckets& PlacementMemo::State::attributeBuckets(const std::string& name) {
  auto it = buckets.find(name);
  if (it != buckets.end()) return it->second;
  if (buckets.size() >= kMaxEntries) buckets.clear();
  return buckets[name];
}

BucketId AttributeBuckets::intern(const std::string* value) {
  if (value == nullptr) return kMissingBucket;
  auto [it, inserted] = valueIds.try_emplace(*value, static_cast<BucketId>(valueIds.size() + 1));
  return it->second;
}

}  // namespace berth::scheduler
