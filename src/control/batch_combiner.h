#pragma once
// Flat combining for writes that must be serialized per key (a cluster's
// placements): callers submit a job and block; whichever caller finds the
// lane idle runs a batch of everything queued (up to maxBatch) for all of
// them, then wakes them. Serialized work thus costs one commit (one fsync) per
// batch instead of one per caller, and no thread is dedicated to the lane.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace berth::control {

struct BatchJob {
  virtual ~BatchJob() = default;
  bool done = false;  // set by the combiner under the lane's lock
};

class BatchCombiner {
 public:
  using RunBatch = std::function<void(std::vector<BatchJob*>& jobs)>;
  explicit BatchCombiner(std::size_t maxBatch = 64) : maxBatch_(maxBatch) {}

  // Blocks until `job` has been run (by this thread or another) as part of a
  // batch on `key`'s lane. Batches on one lane never overlap; `run` must not
  // throw and must not submit to the same lane.
  void submit(const std::string& key, BatchJob& job, const RunBatch& run);

 private:
  struct Lane {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<BatchJob*> queue;
    bool busy = false;
  };
  Lane& lane(const std::string& key);

  const std::size_t maxBatch_;
  std::mutex mu_;  // guards lanes_ (lanes are never removed)
  std::unordered_map<std::string, std::unique_ptr<Lane>> lanes_;
};

}  // namespace berth::control
