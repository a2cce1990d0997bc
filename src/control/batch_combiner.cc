#include "control/batch_combiner.h"

namespace berth::control {

BatchCombiner::Lane& BatchCombiner::lane(const std::string& key) {
  std::lock_guard lock(mu_);
  auto& l = lanes_[key];
  if (!l) l = std::make_unique<Lane>();
  return *l;
}

void BatchCombiner::submit(const std::string& key, BatchJob& job, const RunBatch& run) {
  Lane& l = lane(key);
  std::unique_lock lock(l.mu);
  l.queue.push_back(&job);
  while (!job.done) {
    if (l.busy) {
      l.cv.wait(lock);
      continue;
    }
    // Lead one batch: the oldest jobs first (ours is among them or ahead).
    l.busy = true;
    std::vector<BatchJob*> batch;
    while (!l.queue.empty() && batch.size() < maxBatch_) {
      batch.push_back(l.queue.front());
      l.queue.pop_front();
    }
    lock.unlock();
    run(batch);
    lock.lock();
    for (auto* j : batch) j->done = true;
    l.busy = false;
    l.cv.notify_all();
  }
}

}  // namespace berth::control
