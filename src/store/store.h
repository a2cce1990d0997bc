#pragma once
// The durable record: a versioned key-value log with transactions and watches
// (etcd's model). Every committed transaction gets the next revision; each key
// remembers the revision that created it and the one that last changed it.
//
// Contract:
//  * txn() returns only after the transaction is durable (fsynced). Concurrent
//    callers may share one fsync (group commit) but each txn is atomic on its own.
//  * A txn whose compares all hold applies all its ops and gets a new revision;
//    otherwise it applies nothing and succeeded=false (not an error).
//  * Keys are UTF-8 strings ordered bytewise; values are opaque strings (JSON by
//    convention of the layers above).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace berth::store {

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t createRevision = 0;  // revision of the txn that created the key
  std::int64_t modRevision = 0;     // revision of the txn that last wrote the key
  std::int64_t version = 0;         // number of writes since creation (1 on create)
};

// A precondition on one key. modRevision == 0 means "the key must not exist".
struct Compare {
  std::string key;
  std::int64_t modRevision = 0;
};

struct Op {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  std::string key;
  std::string value;  // ignored for kDelete

  static Op put(std::string k, std::string v) { return Op{Type::kPut, std::move(k), std::move(v)}; }
  static Op del(std::string k) { return Op{Type::kDelete, std::move(k), {}}; }
};

struct TxnRequest {
  std::vector<Compare> compares;
  std::vector<Op> ops;
};

struct TxnResult {
  bool succeeded = false;
  std::int64_t revision = 0;  // the new revision if succeeded, else the current one
  // For each kPut op in order: the key's state after the txn (so callers can
  // update caches without re-reading). Empty if !succeeded.
  std::vector<KeyValue> written;
  // For a failed compare: the key whose revision did not match.
  std::string failedKey;
};

struct Event {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for kDelete: key and modRevision (= the deleting revision) only
};

// Called with the events of one committed revision, in revision order.
using WatchCallback = std::function<void(const std::vector<Event>&)>;

class Watch {
 public:
  virtual ~Watch() = default;  // destroying the handle cancels the watch
};

class Store {
 public:
  virtual ~Store() = default;

  virtual Result<TxnResult> txn(const TxnRequest& request) = 0;

  virtual Result<std::optional<KeyValue>> get(const std::string& key) = 0;

  // All live keys starting with prefix, ordered by key. Empty prefix = everything.
  virtual Result<std::vector<KeyValue>> range(const std::string& prefix) = 0;

  // Revision of the last committed transaction (0 for an empty store).
  virtual std::int64_t currentRevision() = 0;

  // Events for keys with this prefix from revision fromRevision (inclusive) on:
  // first the history still in the log, then live events as they commit.
  // Fails with kInvalidParameter if fromRevision is older than the compacted
  // history. Callbacks run on a store-owned thread; they must not call txn().
  virtual Result<std::unique_ptr<Watch>> watch(const std::string& prefix, std::int64_t fromRevision,
                                               WatchCallback callback) = 0;

  // Drop history older than revision (live keys are kept).
  virtual Status compact(std::int64_t revision) = 0;

  // Flush and close. After close() every call fails with kUnavailable.
  virtual void close() = 0;
};

}  // namespace berth::store
