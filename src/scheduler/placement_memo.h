#pragma once
// PlacementMemo's state: what place() may carry from one call to the next on
// an evolving snapshot.
//
//   - static per-instance predicates (memberOf expressions whose isStatic(),
//     required attributes), keyed by text, then instance index, valid while
//     the instance's attributesVersion is unchanged;
//   - the bucket of each instance for spread(attribute:<name>), as a small
//     integer per interned attribute value;
//   - scratch buffers, so a call on 10,000 instances allocates nothing.
//
// attributesVersion 0 means "unversioned": never cached, always recomputed
// (a snapshot built without versions stays correct, just slower). An owner
// that replaces the instance at an index must give it a version the old one
// never had (e.g. from one snapshot-wide counter).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "scheduler/feasibility.h"
#include "scheduler/placement.h"

namespace berth::scheduler {

// A bucket id for spread(attribute:<name>); kMissingBucket: the instance lacks the attribute.
using BucketId = std::uint32_t;
inline constexpr BucketId kMissingBucket = 0;

struct CachedPredicate {
  std::vector<std::uint64_t> version;  // per instance index; 0 = not cached
  std::vector<std::uint8_t> value;

  // The cached value for instance `index`, computing (and caching) it when stale.
  template <typename Compute>
  bool get(std::size_t index, std::uint64_t attributesVersion, Compute&& compute) {
    if (attributesVersion == 0) return compute();
    if (index >= version.size()) {
      version.resize(index + 1, 0);
      value.resize(index + 1, 0);
    }
    if (version[index] != attributesVersion) {
      value[index] = compute() ? 1 : 0;
      version[index] = attributesVersion;
    }
    return value[index] != 0;
  }
};

struct AttributeBuckets {
  std::unordered_map<std::string, BucketId> valueIds;  // value → id (from 1)
  std::vector<std::uint64_t> version;                  // per instance index
  std::vector<BucketId> bucket;

  // Inline: runs for every instance on every call.
  BucketId bucketOf(std::size_t index, const Instance& instance, const std::string& attributeName) {
    if (instance.attributesVersion == 0) return intern(instance.attribute(attributeName));
    if (index >= version.size()) {
      version.resize(index + 1, 0);
      bucket.resize(index + 1, kMissingBucket);
    }
    if (version[index] != instance.attributesVersion) {
      bucket[index] = intern(instance.attribute(attributeName));
      version[index] = instance.attributesVersion;
    }
    return bucket[index];
  }
  std::size_t bucketCount() const { return valueIds.size() + 1; }

 private:
  BucketId intern(const std::string* value);
};

// One candidate instance and what this call has placed on it so far.
struct Candidate {
  std::uint32_t instance = 0;
  RejectReason reason = RejectReason::kNone;  // the first reason it cannot take the next task
  std::int32_t groupTasks = 0;  // tasks of request.group, including placedHere
  std::int32_t placedHere = 0;
  std::int64_t cpu = 0;  // remaining, after this call's placements
  std::int64_t memory = 0;
  std::int64_t gpus = 0;
};

struct PlacementMemo::State {
  std::unordered_map<std::string, CachedPredicate> predicates;
  std::unordered_map<std::string, AttributeBuckets> buckets;

  // Bounds memory when callers send ever-new expressions or attribute names:
  // past this many entries the caches start over.
  static constexpr std::size_t kMaxEntries = 256;
  CachedPredicate& predicate(const std::string& key);
  AttributeBuckets& attributeBuckets(const std::string& name);

  // Scratch (contents meaningless between calls).
  std::vector<std::uint32_t> scratchPositions;
  std::vector<Candidate> scratchCandidates;
};

}  // namespace berth::scheduler
