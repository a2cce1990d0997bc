#include "control/committer.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/log.h"

namespace berth::control {

store::Compare pinned(const StateCache& cache, const std::string& key) {
  auto obj = cache.get(key);
  return store::Compare{key, obj ? obj->modRevision : 0};
}

Result<store::TxnResult> commitWithRetry(EcsContext& ctx, const std::function<Result<store::TxnRequest>()>& build,
                                         int maxAttempts) {
  std::string lastKey;
  for (int attempt = 0; attempt < maxAttempts; ++attempt) {
    auto txn = build();
    if (!txn.ok()) return txn.takeError();
    // Nothing to write (e.g. an idempotent create that found its object): the
    // cache already shows the state the caller read.
    if (txn->ops.empty()) return store::TxnResult{true, ctx.cache.revision(), {}, {}};
    auto result = ctx.store.txn(*txn);
    if (!result.ok()) return result.takeError();
    if (result->succeeded) {
      if (!ctx.cache.waitForRevision(result->revision))
        log::warn("state cache lagging behind the store", {{"revision", result->revision}});
      return result;
    }
    // Someone else wrote a key we read: wait until the cache shows their write, then rebuild.
    lastKey = result->failedKey;
    ctx.cache.waitForRevision(result->revision, std::chrono::milliseconds(500));
    // Bug fix (controltests): back off with full jitter before rebuilding.
    // Without it, writers contending for one key retry in lockstep, only one
    // wins each round, and a writer can lose every round: with 8 writers about
    // 1 request in 70 failed with kConflict after 32 attempts. Doubling from
    // 1 ms to a 32 ms cap spreads the retries so few of them collide.
    if (attempt + 1 < maxAttempts) {
      const std::uint64_t capMicros = std::uint64_t{1000} << std::min(attempt, 5);
      std::this_thread::sleep_for(std::chrono::microseconds(ctx.random.next() % capMicros));
    }
  }
  return Error::make(ErrorCode::kConflict, "too many concurrent updates; retry the request", lastKey);
}

}  // namespace berth::control
