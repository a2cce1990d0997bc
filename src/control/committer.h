#pragma once
// Optimistic writes: build a transaction from what the cache shows, commit it
// with compare-on-revision, and rebuild and retry if another writer got there
// first. On success the cache has applied the write before this returns.
#include <functional>

#include "control/ecs_context.h"

namespace berth::control {

// `build` is called once per attempt; it returns the transaction or an error
// that ends the operation (validation errors, not found, ...). A transaction
// with no ops is not sent to the store and counts as success.
Result<store::TxnResult> commitWithRetry(EcsContext& ctx, const std::function<Result<store::TxnRequest>()>& build,
                                         int maxAttempts = 32);

// The compare that pins `key` to the revision the cache shows (0 if absent).
store::Compare pinned(const StateCache& cache, const std::string& key);

}  // namespace berth::control
