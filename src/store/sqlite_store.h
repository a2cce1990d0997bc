#pragma once
// SqliteStore: the default durable Store (single server, `berth up`).
//
// One SQLite file in WAL mode with synchronous=FULL, so a txn() returns only
// after the COMMIT's fsync has returned. Writes go through one writer thread
// that commits everything queued in one SQLite transaction (group commit):
// N concurrent writers share one fsync, yet each txn keeps its own revision and
// atomicity. Reads use a separate connection, so they do not wait for fsyncs.
// Watch callbacks run on a dispatcher thread, never on the writer thread.
//
// Semantics beyond store.h (see docs/dev/store.md):
//  * Several ops on one key in one txn: the last one wins and the key gets one
//    event and one version bump for that revision. Delete-then-put recreates the
//    key (createRevision = the txn's revision, version = 1).
//  * TxnResult.written[i] is the key's state after the txn; if a later op of the
//    same txn deleted it, the state that put op wrote.
//  * Deleting a missing key is a no-op (no event, but the txn still succeeds and,
//    if it passes its compares, takes a revision).
//  * compact(rev) needs rev <= currentRevision() + 1; watch() from a revision
//    below the compacted one fails with kInvalidParameter.
//  * Callbacks must not call close() or compact() (they would wait on the
//    dispatcher that is running them). Destroying a Watch from inside its own
//    callback is allowed.
//  * Only one process may open a file at a time (an flock on "<path>-lock");
//    a second open fails with kUnavailable.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "store/store.h"

namespace berth::store {

struct SqliteStoreOptions {
  // false: every txn gets its own SQLite transaction and fsync (for comparison
  // in benchmarks; never faster).
  bool groupCommit = true;
  // Most txns committed by one SQLite transaction. Bounds commit latency for the
  // first txn of a large batch.
  std::size_t maxBatch = 1024;
  // How long a connection waits for a lock held by another connection (e.g. a
  // checkpoint or an external `sqlite3` reader) before failing with kIo.
  std::chrono::milliseconds busyTimeout{5000};
};

// Counters since open; read without stopping the writer.
struct SqliteStoreStats {
  std::uint64_t commits = 0;         // SQLite transactions committed (= fsyncs for files)
  std::uint64_t txns = 0;            // txn() requests answered by those commits
  std::uint64_t failedCompares = 0;  // of which succeeded=false
  std::uint64_t failedCommits = 0;   // batches rolled back with kIo
  std::uint64_t largestBatch = 0;
};

class SqliteStore : public Store {
 public:
  // path ":memory:" gives a private in-memory database (no durability, for tests).
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path, SqliteStoreOptions options = {});

  virtual SqliteStoreStats stats() const = 0;
};

Result<std::unique_ptr<Store>> openSqliteStore(const std::string& path, SqliteStoreOptions options = {});

}  // namespace berth::store
