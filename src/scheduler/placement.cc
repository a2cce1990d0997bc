// place(): fit → constraints → strategies, one task at a time.
//
// Cost model (10,000 instances, count 10): one pass per call over the
// candidates does everything that involves strings (status, memo lookups of
// static memberOf results and spread buckets, expressions that read agent
// state); after that a placement only touches integers. Within a call only
// the instance that just took a task changes, so feasibility is re-checked for
// that one instance, and the ranking scan reads a flat array of numbers. When
// the first strategy is spread(attribute:…) candidates are grouped by bucket
// and only the least-loaded buckets are scanned.
#include <algorithm>
#include <cstdint>
#include <limits>

#include "scheduler/feasibility.h"
#include "scheduler/instance_facts.h"
#include "scheduler/placement.h"
#include "scheduler/placement_memo.h"

namespace berth::scheduler {
namespace {

// A group id no instance carries: the request's group is new to the snapshot.
constexpr GroupId kUnknownGroup = std::numeric_limits<GroupId>::max();
constexpr std::string_view kAttributePrefix = "attribute:";

// A strategy reduced to "smaller key ranks first".
struct RankKey {
  enum class Kind : std::uint8_t { kBinpackCpu, kBinpackMemory, kSpreadInstance, kSpreadAttribute };
  Kind kind = Kind::kSpreadInstance;
  std::size_t slot = 0;  // kSpreadAttribute: index into PlacementCall::spreads_
};

// spread(attribute:<name>): each instance's bucket and each bucket's task count.
struct SpreadByAttribute {
  std::vector<BucketId> bucketOfInstance;  // per snapshot instance
  std::vector<std::int64_t> tasksInBucket;
};

struct PlacedPorts {
  std::uint32_t position;  // into candidates_
  std::vector<int> tcp, udp;
};

class PlacementCall {
 public:
  PlacementCall(const PlacementRequest& request, const ClusterSnapshot& snapshot, Random& random,
                PlacementMemo::State& memo)
      : request_(request), snapshot_(snapshot), random_(random), memo_(memo), candidates_(memo.scratchCandidates) {}

  PlacementResult run() {
    planConstraints();
    buildCandidates();
    planStrategies();  // after buildCandidates: bucket counts reuse the candidates' group counts
    if (groupedByFirstSpread_) groupByBucket();
    PlacementResult result;
    for (int i = 0; i < request_.count; ++i) {
      auto chosen = choose();
      if (!chosen) {
        for (const auto& c : candidates_)
          if (c.reason != RejectReason::kTookItsTask)
            result.rejections.push_back({c.instance, std::string(reasonName(c.reason))});
        break;
      }
      result.placed.push_back(candidates_[*chosen].instance);
      apply(*chosen);
    }
    return result;
  }

 private:
  // memberOf constraints by how often they must be evaluated.
  void planConstraints() {
    auto found = snapshot_.findGroup(request_.group);
    group_ = found ? *found : kUnknownGroup;
    for (const auto& constraint : request_.constraints) {
      if (constraint.type == Constraint::Type::kDistinctInstance) {
        distinctInstance_ = true;
        continue;
      }
      if (!constraint.expression) continue;
      const Expression& e = *constraint.expression;
      if (e.isStatic())
        staticExpressions_.push_back({&e, &memo_.predicate(e.text())});
      else if (e.readsTasks())
        taskExpressions_.push_back(&e);
      else
        callExpressions_.push_back(&e);
    }
    bool spreads = std::any_of(request_.strategies.begin(), request_.strategies.end(),
                               [](const Strategy& s) { return s.type == Strategy::Type::kSpread; });
    countsGroup_ = group_ != kUnknownGroup && (distinctInstance_ || spreads);
    if (!request_.requiredAttributes.empty()) {
      // One cached predicate for the whole set; "\n" cannot occur in an attribute name.
      std::string key = "required\n";
      for (const auto& name : request_.requiredAttributes) key += name + "\n";
      requiredAttributes_ = &memo_.predicate(key);
    }
  }

  void planStrategies() {
    for (const auto& strategy : request_.strategies) {
      if (strategy.type == Strategy::Type::kRandom) {
        randomStrategy_ = true;  // ranks uniformly among the ties so far; later strategies have nothing left to break
        break;
      }
      if (keys_.size() == kMaxStrategies) break;  // callers validate; never overrun bestKeys_
      RankKey key;
      if (strategy.type == Strategy::Type::kBinpack) {
        key.kind = strategy.field == "cpu" ? RankKey::Kind::kBinpackCpu : RankKey::Kind::kBinpackMemory;
      } else if (strategy.field.rfind(kAttributePrefix, 0) == 0) {
        key.kind = RankKey::Kind::kSpreadAttribute;
        key.slot = spreads_.size();
        spreads_.push_back(countBuckets(strategy.field.substr(kAttributePrefix.size())));
      } else {
        key.kind = RankKey::Kind::kSpreadInstance;  // instanceId or host
      }
      keys_.push_back(key);
    }
    groupedByFirstSpread_ = !keys_.empty() && keys_[0].kind == RankKey::Kind::kSpreadAttribute;
  }

  // Buckets count the group's tasks on every instance of the snapshot, not
  // only on candidates: balance is about where the group runs.
  SpreadByAttribute countBuckets(const std::string& attributeName) {
    AttributeBuckets& buckets = memo_.attributeBuckets(attributeName);
    SpreadByAttribute spread;
    const auto& instances = snapshot_.instances;
    spread.bucketOfInstance.resize(instances.size());
    for (std::size_t i = 0; i < instances.size(); ++i)
      spread.bucketOfInstance[i] = buckets.bucketOf(i, instances[i], attributeName);
    spread.tasksInBucket.assign(buckets.bucketCount(), 0);
    if (group_ == kUnknownGroup) return spread;
    const bool candidatesAreAllInstances = request_.onlyInstances.empty();  // then position == instance index
    for (std::size_t i = 0; i < instances.size(); ++i) {
      std::int64_t tasks = candidatesAreAllInstances ? candidates_[i].groupTasks : instances[i].tasksInGroup(group_);
      spread.tasksInBucket[spread.bucketOfInstance[i]] += tasks;
    }
    return spread;
  }

  void buildCandidates() {
    std::vector<std::uint32_t>& order = memo_.scratchPositions;
    order.clear();
    const std::size_t n = snapshot_.instances.size();
    if (request_.onlyInstances.empty()) {
      candidates_.assign(n, Candidate{});  // scratch from an earlier call: start clean
      for (std::size_t i = 0; i < n; ++i) candidates_[i].instance = static_cast<std::uint32_t>(i);
    } else {
      // Snapshot order, each instance once; indexes outside the snapshot are skipped.
      for (std::size_t i : request_.onlyInstances)
        if (i < n) order.push_back(static_cast<std::uint32_t>(i));
      std::sort(order.begin(), order.end());
      order.erase(std::unique(order.begin(), order.end()), order.end());
      candidates_.assign(order.size(), Candidate{});
      for (std::size_t p = 0; p < order.size(); ++p) candidates_[p].instance = order[p];
    }
    eligible_.clear();
    for (std::size_t p = 0; p < candidates_.size(); ++p) {
      Candidate& c = candidates_[p];
      const Instance& instance = snapshot_.instances[c.instance];
      c.cpu = instance.remaining.cpu;
      c.memory = instance.remaining.memory;
      c.gpus = instance.remaining.gpus;
      // Reading groupCounts is a cache miss per instance: only when something counts the group.
      c.groupTasks = countsGroup_ ? instance.tasksInGroup(group_) : 0;
      c.reason = firstCheck(c, instance);
      if (c.reason == RejectReason::kNone) eligible_.push_back(static_cast<std::uint32_t>(p));
    }
  }

  RemainingNow remainingOf(const Candidate& c, const Instance& instance, const PlacedPorts* placed) const {
    RemainingNow r;
    r.cpu = c.cpu;
    r.memory = c.memory;
    r.gpus = c.gpus;
    r.ports = &instance.remaining.ports;
    r.portsUdp = &instance.remaining.portsUdp;
    if (placed) {
      r.placedPorts = &placed->tcp;
      r.placedPortsUdp = &placed->udp;
    }
    return r;
  }

  // The full check, once per candidate per call.
  RejectReason firstCheck(const Candidate& c, const Instance& instance) {
    if (auto why = availability(instance); why != RejectReason::kNone) return why;
    if (auto why = resourceFit(remainingOf(c, instance, nullptr), request_.demand); why != RejectReason::kNone)
      return why;
    std::uint64_t version = instance.attributesVersion;
    if (requiredAttributes_ &&
        !requiredAttributes_->get(c.instance, version, [&] { return hasAttributes(instance, request_.requiredAttributes); }))
      return RejectReason::kAttribute;
    if (distinctInstance_ && c.groupTasks > 0) return RejectReason::kAttribute;
    SnapshotInstanceFacts facts(instance, snapshot_, request_.group, c.placedHere);
    for (auto& entry : staticExpressions_) {
      // Not a structured binding: clang (the fuzz build) cannot capture those in lambdas.
      const auto* expression = entry.first;
      if (!entry.second->get(c.instance, version, [&] { return expression->matches(facts); })) return RejectReason::kAttribute;
    }
    for (const Expression* expression : callExpressions_)
      if (!expression->matches(facts)) return RejectReason::kAttribute;
    for (const Expression* expression : taskExpressions_)
      if (!expression->matches(facts)) return RejectReason::kAttribute;
    return RejectReason::kNone;
  }

  // After a task was placed on `c`: only what that task changed.
  RejectReason recheck(const Candidate& c, const PlacedPorts* placed) {
    const Instance& instance = snapshot_.instances[c.instance];
    if (auto why = resourceFit(remainingOf(c, instance, placed), request_.demand); why != RejectReason::kNone)
      return why;
    if (distinctInstance_ && c.groupTasks > 0) return RejectReason::kAttribute;
    if (!taskExpressions_.empty()) {
      SnapshotInstanceFacts facts(instance, snapshot_, request_.group, c.placedHere);
      for (const Expression* expression : taskExpressions_)
        if (!expression->matches(facts)) return RejectReason::kAttribute;
    }
    return RejectReason::kNone;
  }

  // Eligible candidates laid out bucket by bucket (counting sort, stable, so
  // snapshot order within a bucket).
  void groupByBucket() {
    const SpreadByAttribute& spread = spreads_[keys_[0].slot];
    std::size_t buckets = spread.tasksInBucket.size();
    bucketStart_.assign(buckets + 1, 0);
    for (std::uint32_t p : eligible_) ++bucketStart_[spread.bucketOfInstance[candidates_[p].instance] + 1];
    for (std::size_t b = 0; b < buckets; ++b) bucketStart_[b + 1] += bucketStart_[b];
    eligibleInBucket_.assign(buckets, 0);
    bucketMembers_.resize(eligible_.size());
    std::vector<std::size_t> next(bucketStart_.begin(), bucketStart_.end() - 1);
    for (std::uint32_t p : eligible_) {
      BucketId b = spread.bucketOfInstance[candidates_[p].instance];
      bucketMembers_[next[b]++] = p;
      ++eligibleInBucket_[b];
    }
  }

  std::int64_t keyOf(const RankKey& key, const Candidate& c) const {
    switch (key.kind) {
      case RankKey::Kind::kBinpackCpu: return c.cpu - request_.demand.cpu;
      case RankKey::Kind::kBinpackMemory: return c.memory - request_.demand.memory;
      case RankKey::Kind::kSpreadInstance: return c.groupTasks;
      case RankKey::Kind::kSpreadAttribute: {
        const SpreadByAttribute& spread = spreads_[key.slot];
        return spread.tasksInBucket[spread.bucketOfInstance[c.instance]];
      }
    }
    return 0;
  }

  // Scans `positions`, keeping the best candidate by the keys (lexicographic),
  // then the lowest instance index; with random, all candidates tied on the keys.
  // Keys before `from` are equal for everything scanned (the bucket's count).
  void scan(const std::uint32_t* begin, const std::uint32_t* end, std::size_t from) {
    std::int64_t keys[kMaxStrategies];
    const std::size_t k = keys_.size();
    for (const std::uint32_t* it = begin; it != end; ++it) {
      const Candidate& c = candidates_[*it];
      if (c.reason != RejectReason::kNone) continue;
      int order = best_ < 0 ? -1 : 0;
      for (std::size_t s = from; s < k; ++s) {
        keys[s] = keyOf(keys_[s], c);
        if (order == 0 && keys[s] != bestKeys_[s]) order = keys[s] < bestKeys_[s] ? -1 : 1;
        if (order > 0) break;
      }
      if (order > 0) continue;
      if (order == 0) {
        if (randomStrategy_) {
          ties_.push_back(*it);
        } else if (c.instance < candidates_[best_].instance) {
          best_ = static_cast<std::int64_t>(*it);
        }
        continue;
      }
      // Strictly better (or the first seen). keys[] is complete: we only break on worse.
      std::copy(keys + from, keys + k, bestKeys_ + from);
      best_ = static_cast<std::int64_t>(*it);
      if (randomStrategy_) {
        ties_.clear();
        ties_.push_back(*it);
      }
    }
  }

  std::optional<std::uint32_t> choose() {
    best_ = -1;
    ties_.clear();
    if (keys_.empty() && !randomStrategy_) {  // first fit in snapshot order
      for (std::uint32_t p : eligible_)
        if (candidates_[p].reason == RejectReason::kNone) return p;
      return std::nullopt;
    }
    bool severalRuns = false;
    if (groupedByFirstSpread_) {
      const SpreadByAttribute& spread = spreads_[keys_[0].slot];
      std::int64_t least = std::numeric_limits<std::int64_t>::max();
      for (std::size_t b = 0; b < eligibleInBucket_.size(); ++b)
        if (eligibleInBucket_[b] > 0) least = std::min(least, spread.tasksInBucket[b]);
      int runs = 0;
      for (std::size_t b = 0; b < eligibleInBucket_.size(); ++b) {
        if (eligibleInBucket_[b] == 0 || spread.tasksInBucket[b] != least) continue;
        scan(bucketMembers_.data() + bucketStart_[b], bucketMembers_.data() + bucketStart_[b + 1], 1);
        ++runs;
      }
      severalRuns = runs > 1;
    } else {
      scan(eligible_.data(), eligible_.data() + eligible_.size(), 0);
    }
    if (best_ < 0) return std::nullopt;
    if (!randomStrategy_) return static_cast<std::uint32_t>(best_);
    // Ties from several buckets: snapshot order, so the pick depends only on the seed.
    if (severalRuns)
      std::sort(ties_.begin(), ties_.end(),
                [&](std::uint32_t a, std::uint32_t b) { return candidates_[a].instance < candidates_[b].instance; });
    return ties_[random_.next() % ties_.size()];
  }

  void apply(std::uint32_t position) {
    Candidate& c = candidates_[position];
    const Resources& demand = request_.demand;
    c.cpu -= demand.cpu;
    c.memory -= demand.memory;
    c.gpus -= demand.gpus;
    ++c.groupTasks;
    ++c.placedHere;
    PlacedPorts* placed = nullptr;
    if (!demand.ports.empty() || !demand.portsUdp.empty()) {
      auto it = std::find_if(placedPorts_.begin(), placedPorts_.end(),
                             [&](const PlacedPorts& p) { return p.position == position; });
      if (it == placedPorts_.end()) it = placedPorts_.insert(placedPorts_.end(), PlacedPorts{position, {}, {}});
      it->tcp.insert(it->tcp.end(), demand.ports.begin(), demand.ports.end());
      it->udp.insert(it->udp.end(), demand.portsUdp.begin(), demand.portsUdp.end());
      placed = &*it;
    }
    for (auto& spread : spreads_) ++spread.tasksInBucket[spread.bucketOfInstance[c.instance]];
    // StartTask (onlyInstances): one task per named instance.
    c.reason = request_.onlyInstances.empty() ? recheck(c, placed) : RejectReason::kTookItsTask;
    if (c.reason != RejectReason::kNone && groupedByFirstSpread_)
      --eligibleInBucket_[spreads_[keys_[0].slot].bucketOfInstance[c.instance]];
  }

  const PlacementRequest& request_;
  const ClusterSnapshot& snapshot_;
  Random& random_;
  PlacementMemo::State& memo_;

  GroupId group_ = kUnknownGroup;
  bool distinctInstance_ = false;
  bool countsGroup_ = false;  // distinctInstance or a spread strategy reads the group's task counts
  std::vector<std::pair<const Expression*, CachedPredicate*>> staticExpressions_;
  std::vector<const Expression*> callExpressions_;  // read agent state: once per call
  std::vector<const Expression*> taskExpressions_;  // read tasks: again after each placement here
  CachedPredicate* requiredAttributes_ = nullptr;

  std::vector<RankKey> keys_;
  bool randomStrategy_ = false;
  std::vector<SpreadByAttribute> spreads_;
  bool groupedByFirstSpread_ = false;

  std::vector<Candidate>& candidates_;  // the memo's scratch: no 400 KB allocation per call
  std::vector<std::uint32_t> eligible_;  // positions feasible at the start of the call
  std::vector<std::size_t> bucketStart_;
  std::vector<std::uint32_t> bucketMembers_;
  std::vector<std::int64_t> eligibleInBucket_;
  std::vector<PlacedPorts> placedPorts_;

  std::int64_t best_ = -1;
  std::int64_t bestKeys_[kMaxStrategies] = {};
  std::vector<std::uint32_t> ties_;
};

}  // namespace

PlacementResult place(const PlacementRequest& request, const ClusterSnapshot& snapshot, Random& random,
                      PlacementMemo* memo) {
  PlacementMemo local;
  PlacementMemo::State& state = memo ? memo->state() : local.state();
  return PlacementCall(request, snapshot, random, state).run();
}

}  // namespace berth::scheduler
