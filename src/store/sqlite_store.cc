#include "store/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "common/log.h"

namespace berth::store {
namespace {

// PRAGMA user_version of the layout created below. Bump it and add a migration
// step in migrate() when the layout changes; never edit a released step.
constexpr int kSchemaVersion = 1;

// Log rows read per statement while replaying history to a new watcher; the read
// lock is released between pages so get()/range() are not starved.
constexpr int kReplayPageRows = 512;

// Stored in log.type; persisted, never renumber.
constexpr std::int64_t kLogPut = 0;
constexpr std::int64_t kLogDelete = 1;

constexpr const char* kMemoryPath = ":memory:";

Error unavailable() { return Error::make(ErrorCode::kUnavailable, "store is closed"); }

// The smallest key greater than every key starting with prefix (bytewise), or
// nullopt when there is none (prefix is all 0xff bytes). Lets range() be an
// index range scan: key >= prefix AND key < successor.
std::optional<std::string> prefixSuccessor(std::string prefix) {
  while (!prefix.empty()) {
    auto last = static_cast<unsigned char>(prefix.back());
    if (last != 0xff) {
      prefix.back() = static_cast<char>(last + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::nullopt;
}

// One SQLite connection and the statements prepared on it. Not thread-safe: the
// owner serialises access (writer thread, or readMu_).
class Conn {
 public:
  explicit Conn(std::string path) : path_(std::move(path)) {}
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() { (void)close(false); }

  Error error(std::string_view what) const { return errorFor(what, db_ ? sqlite3_errmsg(db_) : "out of memory"); }
  Error errorFor(std::string_view what, std::string_view message) const {
    return Error::make(ErrorCode::kIo, "sqlite: " + std::string(what) + " failed: " + std::string(message), path_);
  }

  Status open(int flags, std::chrono::milliseconds busyTimeout) {
    int rc = sqlite3_open_v2(path_.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      Error e = db_ ? error("open") : errorFor("open", sqlite3_errstr(rc));
      (void)close(false);
      return e;
    }
    if (sqlite3_extended_result_codes(db_, 1) != SQLITE_OK) return error("enable extended result codes");
    if (sqlite3_busy_timeout(db_, static_cast<int>(busyTimeout.count())) != SQLITE_OK) return error("set busy_timeout");
    return okStatus();
  }

  Status exec(const char* sql, std::string_view what) {
    char* msg = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
      Error e = errorFor(what, msg ? msg : sqlite3_errmsg(db_));
      sqlite3_free(msg);
      return e;
    }
    return okStatus();
  }

  // The statement stays owned by this connection (finalised by close()).
  Result<sqlite3_stmt*> prepare(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
      return error(std::string("prepare '") + sql + "'");
    }
    stmts_.push_back(stmt);
    return stmt;
  }

  bool inTransaction() const { return db_ && sqlite3_get_autocommit(db_) == 0; }

  Status close(bool checkpoint) {
    if (!db_) return okStatus();
    for (sqlite3_stmt* s : stmts_) sqlite3_finalize(s);
    stmts_.clear();
    Status result = okStatus();
    // TRUNCATE leaves an empty -wal behind, so the next open does not replay it.
    if (checkpoint) result = exec("PRAGMA wal_checkpoint(TRUNCATE)", "checkpoint");
    if (sqlite3_close(db_) != SQLITE_OK && result.ok()) result = error("close");
    db_ = nullptr;
    return result;
  }

  sqlite3* db() const { return db_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
  std::vector<sqlite3_stmt*> stmts_;
};

// Binds, steps and reads one use of a prepared statement; resets it on scope
// exit so a read statement never keeps a WAL snapshot open.
class Query {
 public:
  Query(Conn& conn, sqlite3_stmt* stmt) : conn_(conn), stmt_(stmt) {}
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  ~Query() {
    sqlite3_reset(stmt_);  // returns the last step's error again; already reported
    sqlite3_clear_bindings(stmt_);
  }

  Query& blob(int index, std::string_view v) {
    // A null pointer would bind SQL NULL, so an empty value gets a real pointer.
    const char* data = v.empty() ? "" : v.data();
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_blob(stmt_, index, data, static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Query& text(int index, std::string_view v) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_text(stmt_, index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Query& i64(int index, std::int64_t v) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_, index, v);
    return *this;
  }

  // true: a row is available; false: done.
  Result<bool> step(std::string_view what) {
    if (rc_ != SQLITE_OK) return conn_.error(std::string(what) + " (bind)");
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return conn_.error(what);
  }
  Status run(std::string_view what) {
    auto r = step(what);
    if (!r.ok()) return r.takeError();
    return okStatus();
  }

  std::string blobAt(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
  }
  std::int64_t intAt(int col) const { return sqlite3_column_int64(stmt_, col); }

 private:
  Conn& conn_;
  sqlite3_stmt* stmt_;
  int rc_ = SQLITE_OK;
};

// Statements used by the writer thread (on the write connection).
struct WriteStatements {
  sqlite3_stmt* getKv = nullptr;
  sqlite3_stmt* putKv = nullptr;
  sqlite3_stmt* deleteKv = nullptr;
  sqlite3_stmt* appendLog = nullptr;
  sqlite3_stmt* setMeta = nullptr;
  sqlite3_stmt* compactLog = nullptr;
};

// Statements used under readMu_ (on the read connection).
struct ReadStatements {
  sqlite3_stmt* getKv = nullptr;
  sqlite3_stmt* rangeBounded = nullptr;    // key >= prefix AND key < successor
  sqlite3_stmt* rangeFrom = nullptr;       // key >= prefix (no successor exists)
  sqlite3_stmt* replayBounded = nullptr;
  sqlite3_stmt* replayFrom = nullptr;
};

constexpr const char* kSelectKv = "SELECT key, value, create_rev, mod_rev, version FROM kv";
constexpr const char* kSelectLog =
    "SELECT revision, seq, key, type, value, create_rev, version FROM log"
    " WHERE (revision, seq) > (?1, ?2) AND revision <= ?3 AND key >= ?4";

KeyValue kvFromRow(const Query& q) {
  return KeyValue{q.blobAt(0), q.blobAt(1), q.intAt(2), q.intAt(3), q.intAt(4)};
}

struct WatcherState {
  std::string prefix;
  WatchCallback callback;
  std::thread::id dispatcherThread;
  std::atomic<bool> cancelled{false};
  std::mutex callbackMu;              // held while the callback runs
  std::int64_t nextRevision = 0;      // dispatcher thread only
};

class WatchHandle final : public Watch {
 public:
  explicit WatchHandle(std::shared_ptr<WatcherState> state) : state_(std::move(state)) {}
  ~WatchHandle() override {
    state_->cancelled.store(true);
    // Wait out a callback already running so that, once we return, nothing the
    // callback captured is touched again. From inside the callback itself we
    // cannot wait (it is us); the flag stops every later delivery.
    if (std::this_thread::get_id() != state_->dispatcherThread) {
      std::lock_guard<std::mutex> wait(state_->callbackMu);
    }
  }

 private:
  std::shared_ptr<WatcherState> state_;
};

class SqliteStoreImpl final : public SqliteStore {
 public:
  SqliteStoreImpl(std::string path, SqliteStoreOptions options)
      : path_(std::move(path)), options_(options), writeConn_(path_), readConnStorage_(path_) {
    if (options_.maxBatch == 0) options_.maxBatch = 1;
  }
  ~SqliteStoreImpl() override { close(); }

  Status init();

  Result<TxnResult> txn(const TxnRequest& request) override;
  Result<std::optional<KeyValue>> get(const std::string& key) override;
  Result<std::vector<KeyValue>> range(const std::string& prefix) override;
  std::int64_t currentRevision() override { return committedRevision_.load(); }
  Result<std::unique_ptr<Watch>> watch(const std::string& prefix, std::int64_t fromRevision,
                                       WatchCallback callback) override;
  Status compact(std::int64_t revision) override;
  void close() override;
  SqliteStoreStats stats() const override;

 private:
  struct WriteItem {
    enum class Kind { kTxn, kCompact };
    Kind kind = Kind::kTxn;
    TxnRequest request;
    std::int64_t compactRevision = 0;
    std::promise<Result<TxnResult>> done;
  };
  using WriteItemPtr = std::unique_ptr<WriteItem>;

  struct DispatchItem {
    enum class Kind { kRevision, kAddWatcher, kCompact };
    Kind kind = Kind::kRevision;
    std::int64_t revision = 0;  // kRevision: the revision; kAddWatcher: replay from here
    std::vector<Event> events;
    std::shared_ptr<WatcherState> watcher;
    WriteItemPtr compact;
  };

  bool isMemory() const { return path_ == kMemoryPath; }
  Status lockFile();
  Status migrate();
  Status loadMeta();
  Status prepareStatements();

  // Returns the item back if the writer no longer accepts work.
  WriteItemPtr enqueueWrite(WriteItemPtr item);
  void writerLoop();
  void runBatch(std::vector<WriteItemPtr>& batch);
  Result<std::optional<KeyValue>> readKvForWrite(const std::string& key);
  Result<TxnResult> applyTxn(const TxnRequest& request, std::int64_t& revision,
                             std::vector<std::pair<std::int64_t, std::vector<Event>>>& groups);
  Status applyCompact(std::int64_t revision);
  Status setMeta(const char* name, std::int64_t value);

  void dispatcherLoop();
  void dispatchRevision(std::int64_t revision, const std::vector<Event>& events);
  void addWatcher(const std::shared_ptr<WatcherState>& watcher, std::int64_t fromRevision);
  Status replay(WatcherState& watcher, std::int64_t fromRevision, std::int64_t toRevision);
  static void deliver(WatcherState& watcher, const std::vector<Event>& events);

  const std::string path_;
  SqliteStoreOptions options_;
  int lockFd_ = -1;

  // Writer thread: owns writeConn_ (and, for :memory:, shares it under readMu_).
  Conn writeConn_;
  WriteStatements ws_;
  std::thread writer_;
  std::mutex writeMu_;
  std::condition_variable writeCv_;
  std::deque<WriteItemPtr> writeQueue_;  // guarded by writeMu_
  bool writerStopping_ = false;          // guarded by writeMu_

  // Readers. A private :memory: database exists only on its one connection, so
  // then readConn_ == &writeConn_ and the writer holds readMu_ for each batch.
  std::mutex readMu_;
  Conn readConnStorage_;
  Conn* readConn_ = nullptr;  // guarded by readMu_; null once closed
  ReadStatements rs_;

  // Dispatcher thread: runs watch callbacks in revision order.
  std::thread dispatcher_;
  std::thread::id dispatcherId_;
  std::mutex dispatchMu_;
  std::condition_variable dispatchCv_;
  std::deque<DispatchItem> dispatchQueue_;  // guarded by dispatchMu_
  bool dispatcherStopping_ = false;         // guarded by dispatchMu_
  // Oldest revision watch() accepts. Raised by compact() under dispatchMu_ in the
  // same step that queues the deletion behind every already accepted watcher, so
  // a watcher never finds its history gone when it replays.
  std::int64_t compactedRevision_ = 0;      // guarded by dispatchMu_
  std::vector<std::shared_ptr<WatcherState>> watchers_;  // dispatcher thread only
  std::int64_t lastDispatched_ = 0;                      // dispatcher thread only

  std::atomic<std::int64_t> committedRevision_{0};
  std::atomic<bool> closed_{false};
  bool started_ = false;  // init() completed
  std::mutex closeMu_;

  std::atomic<std::uint64_t> commits_{0}, txns_{0}, failedCompares_{0}, failedCommits_{0}, largestBatch_{0};
};

Status SqliteStoreImpl::lockFile() {
  // SQLite's own locks let a second process open the file and write; the
  // in-memory revision counter of the first would then be wrong. One owner only.
  std::string lockPath = path_ + "-lock";
  lockFd_ = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lockFd_ < 0) {
    return Error::make(ErrorCode::kIo, "store: cannot open lock file: " + std::string(std::strerror(errno)), lockPath);
  }
  if (::flock(lockFd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(lockFd_);
    lockFd_ = -1;
    if (err == EWOULDBLOCK) {
      return Error::make(ErrorCode::kUnavailable, "store: file is in use by another process (or store)", path_);
    }
    return Error::make(ErrorCode::kIo, "store: cannot lock: " + std::string(std::strerror(err)), lockPath);
  }
  return okStatus();
}

Status SqliteStoreImpl::init() {
  if (!isMemory()) BERTH_TRY(lockFile());
  BERTH_TRY(writeConn_.open(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, options_.busyTimeout));
  if (!isMemory()) {
    // The first statement to read the file: a corrupt or foreign file fails here.
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(writeConn_.db(), "PRAGMA journal_mode=WAL", -1, &stmt, nullptr) != SQLITE_OK) {
      return writeConn_.error("set journal_mode=WAL");
    }
    int rc = sqlite3_step(stmt);
    std::string mode = rc == SQLITE_ROW ? reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)) : "";
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW) return writeConn_.error("set journal_mode=WAL");
    if (mode != "wal") return writeConn_.errorFor("set journal_mode=WAL", "journal mode is " + mode);
  }
  // FULL: in WAL mode every COMMIT fsyncs the WAL before returning; that is
  // what makes an acknowledged txn durable.
  BERTH_TRY(writeConn_.exec("PRAGMA synchronous=FULL", "set synchronous=FULL"));
  BERTH_TRY(migrate());
  BERTH_TRY(loadMeta());

  if (isMemory()) {
    readConn_ = &writeConn_;
  } else {
    BERTH_TRY(readConnStorage_.open(SQLITE_OPEN_READWRITE, options_.busyTimeout));
    BERTH_TRY(readConnStorage_.exec("PRAGMA query_only=1", "set query_only"));
    readConn_ = &readConnStorage_;
  }
  BERTH_TRY(prepareStatements());

  lastDispatched_ = committedRevision_.load();
  writer_ = std::thread([this] { writerLoop(); });
  dispatcher_ = std::thread([this] { dispatcherLoop(); });
  dispatcherId_ = dispatcher_.get_id();
  started_ = true;
  log::debug("store opened", {{"path", path_}, {"revision", committedRevision_.load()}});
  return okStatus();
}

Status SqliteStoreImpl::migrate() {
  BERTH_TRY(writeConn_.exec("BEGIN IMMEDIATE", "begin schema transaction"));
  auto body = [&]() -> Status {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(writeConn_.db(), "PRAGMA user_version", -1, &stmt, nullptr) != SQLITE_OK) {
      return writeConn_.error("read user_version");
    }
    int rc = sqlite3_step(stmt);
    int version = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : -1;
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW) return writeConn_.error("read user_version");
    if (version > kSchemaVersion) {
      return Error::make(ErrorCode::kIo,
                         "store: schema version " + std::to_string(version) + " is newer than this binary supports (" +
                             std::to_string(kSchemaVersion) + "); upgrade berth",
                         path_);
    }
    if (version < 1) {
      // kv: current state. log: one row per key changed by a revision, for
      // watch-from-revision (create_rev/version let replay rebuild the KeyValue).
      // meta: 'revision' (last committed) and 'compacted' (log rows below it are gone).
      BERTH_TRY(writeConn_.exec(
          "CREATE TABLE kv (key BLOB PRIMARY KEY, value BLOB NOT NULL, create_rev INTEGER NOT NULL,"
          " mod_rev INTEGER NOT NULL, version INTEGER NOT NULL);"
          "CREATE TABLE log (revision INTEGER NOT NULL, seq INTEGER NOT NULL, key BLOB NOT NULL,"
          " type INTEGER NOT NULL, value BLOB, create_rev INTEGER NOT NULL, version INTEGER NOT NULL,"
          " PRIMARY KEY (revision, seq));"
          "CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
          "INSERT INTO meta (name, value) VALUES ('revision', 0), ('compacted', 0);"
          "PRAGMA user_version = 1;",
          "create schema v1"));
    }
    return okStatus();
  }();
  if (!body.ok()) {
    (void)writeConn_.exec("ROLLBACK", "rollback schema transaction");
    return body;
  }
  return writeConn_.exec("COMMIT", "commit schema transaction");
}

Status SqliteStoreImpl::loadMeta() {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(writeConn_.db(), "SELECT name, value FROM meta", -1, &stmt, nullptr) != SQLITE_OK) {
    return writeConn_.error("read meta");
  }
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::string_view name(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    std::int64_t value = sqlite3_column_int64(stmt, 1);
    if (name == "revision") committedRevision_ = value;
    if (name == "compacted") compactedRevision_ = value;
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return writeConn_.error("read meta");
  return okStatus();
}

Status SqliteStoreImpl::prepareStatements() {
  auto prep = [](Conn& c, sqlite3_stmt*& out, const std::string& sql) -> Status {
    auto r = c.prepare(sql.c_str());
    if (!r.ok()) return r.takeError();
    out = *r;
    return okStatus();
  };
  const std::string kv = kSelectKv;
  const std::string log = kSelectLog;
  BERTH_TRY(prep(writeConn_, ws_.getKv, kv + " WHERE key = ?1"));
  BERTH_TRY(prep(writeConn_, ws_.putKv,
                 "INSERT INTO kv (key, value, create_rev, mod_rev, version) VALUES (?1, ?2, ?3, ?4, ?5)"
                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value, create_rev = excluded.create_rev,"
                 " mod_rev = excluded.mod_rev, version = excluded.version"));
  BERTH_TRY(prep(writeConn_, ws_.deleteKv, "DELETE FROM kv WHERE key = ?1"));
  BERTH_TRY(prep(writeConn_, ws_.appendLog,
                 "INSERT INTO log (revision, seq, key, type, value, create_rev, version)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  BERTH_TRY(prep(writeConn_, ws_.setMeta, "UPDATE meta SET value = ?2 WHERE name = ?1"));
  BERTH_TRY(prep(writeConn_, ws_.compactLog, "DELETE FROM log WHERE revision < ?1"));
  Conn& r = *readConn_;
  BERTH_TRY(prep(r, rs_.getKv, kv + " WHERE key = ?1"));
  BERTH_TRY(prep(r, rs_.rangeBounded, kv + " WHERE key >= ?1 AND key < ?2 ORDER BY key"));
  BERTH_TRY(prep(r, rs_.rangeFrom, kv + " WHERE key >= ?1 ORDER BY key"));
  BERTH_TRY(prep(r, rs_.replayBounded, log + " AND key < ?5 ORDER BY revision, seq LIMIT ?6"));
  BERTH_TRY(prep(r, rs_.replayFrom, log + " ORDER BY revision, seq LIMIT ?6"));
  return okStatus();
}

// ---- writes ---------------------------------------------------------------

Result<TxnResult> SqliteStoreImpl::txn(const TxnRequest& request) {
  if (closed_.load()) return unavailable();
  auto item = std::make_unique<WriteItem>();
  item->request = request;
  auto future = item->done.get_future();
  if (enqueueWrite(std::move(item))) return unavailable();
  return future.get();
}

SqliteStoreImpl::WriteItemPtr SqliteStoreImpl::enqueueWrite(WriteItemPtr item) {
  {
    std::lock_guard<std::mutex> lock(writeMu_);
    if (writerStopping_) return item;
    writeQueue_.push_back(std::move(item));
  }
  writeCv_.notify_one();
  return nullptr;
}

void SqliteStoreImpl::writerLoop() {
  const std::size_t maxBatch = options_.groupCommit ? options_.maxBatch : 1;
  std::vector<WriteItemPtr> batch;
  for (;;) {
    batch.clear();
    {
      std::unique_lock<std::mutex> lock(writeMu_);
      writeCv_.wait(lock, [&] { return writerStopping_ || !writeQueue_.empty(); });
      if (writeQueue_.empty()) return;  // stopping, and everything queued is committed
      // Take whatever arrived while the previous batch was fsyncing: that is the
      // whole of group commit, no timers needed.
      while (!writeQueue_.empty() && batch.size() < maxBatch) {
        batch.push_back(std::move(writeQueue_.front()));
        writeQueue_.pop_front();
      }
    }
    runBatch(batch);
  }
}

void SqliteStoreImpl::runBatch(std::vector<WriteItemPtr>& batch) {
  std::unique_lock<std::mutex> sharedConn;
  if (readConn_ == &writeConn_) sharedConn = std::unique_lock<std::mutex>(readMu_);

  const std::int64_t startRevision = committedRevision_.load();
  std::int64_t revision = startRevision;
  std::vector<Result<TxnResult>> results;
  results.reserve(batch.size());
  std::vector<std::pair<std::int64_t, std::vector<Event>>> groups;

  Status status = [&]() -> Status {
    BERTH_TRY(writeConn_.exec("BEGIN IMMEDIATE", "begin"));
    for (auto& item : batch) {
      if (item->kind == WriteItem::Kind::kCompact) {
        BERTH_TRY(applyCompact(item->compactRevision));
        results.emplace_back(TxnResult{true, revision, {}, {}});
        continue;
      }
      auto r = applyTxn(item->request, revision, groups);
      if (!r.ok()) return r.takeError();
      results.push_back(std::move(r));
    }
    if (revision != startRevision) BERTH_TRY(setMeta("revision", revision));
    return writeConn_.exec("COMMIT", "commit");
  }();

  if (!status.ok()) {
    // Nothing of the batch may become visible. A failed COMMIT can leave the
    // transaction open (e.g. SQLITE_BUSY) or already rolled back (I/O errors).
    if (writeConn_.inTransaction()) {
      Status rb = writeConn_.exec("ROLLBACK", "rollback");
      if (!rb.ok()) log::error("store rollback failed", {{"path", path_}, {"error", rb.error().message}});
    }
    sharedConn = {};
    failedCommits_.fetch_add(1);
    log::error("store commit failed", {{"path", path_}, {"error", status.error().message},
                                       {"txns", batch.size()}});
    for (auto& item : batch) item->done.set_value(status.error());
    return;
  }

  committedRevision_.store(revision);
  sharedConn = {};
  std::uint64_t txnCount = 0, failed = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch[i]->kind != WriteItem::Kind::kTxn) continue;
    ++txnCount;
    if (!results[i]->succeeded) ++failed;
  }
  commits_.fetch_add(1);
  txns_.fetch_add(txnCount);
  failedCompares_.fetch_add(failed);
  if (batch.size() > largestBatch_.load()) largestBatch_.store(batch.size());

  if (!groups.empty()) {
    {
      std::lock_guard<std::mutex> lock(dispatchMu_);
      for (auto& [rev, events] : groups) {
        DispatchItem d;
        d.kind = DispatchItem::Kind::kRevision;
        d.revision = rev;
        d.events = std::move(events);
        dispatchQueue_.push_back(std::move(d));
      }
    }
    dispatchCv_.notify_one();
  }
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->done.set_value(std::move(results[i]));
}

Result<std::optional<KeyValue>> SqliteStoreImpl::readKvForWrite(const std::string& key) {
  Query q(writeConn_, ws_.getKv);
  q.blob(1, key);
  auto row = q.step("read key");
  if (!row.ok()) return row.takeError();
  if (!*row) return std::optional<KeyValue>();
  return std::optional<KeyValue>(kvFromRow(q));
}

// Applies one txn inside the batch's SQLite transaction. Reads see the earlier
// txns of the same batch (same connection), so each txn is evaluated against
// the state its predecessors left. `revision` is advanced iff the txn changes
// something; `groups` receives its events.
Result<TxnResult> SqliteStoreImpl::applyTxn(const TxnRequest& request, std::int64_t& revision,
                                            std::vector<std::pair<std::int64_t, std::vector<Event>>>& groups) {
  TxnResult result;
  result.revision = revision;
  // Rows read for the compares, reused by the ops (compare-then-put on the same
  // key is the common shape, so this saves a lookup per txn).
  std::unordered_map<std::string, std::optional<KeyValue>> readCache;
  for (const Compare& c : request.compares) {
    auto current = readKvForWrite(c.key);
    if (!current.ok()) return current.takeError();
    std::int64_t mod = current->has_value() ? (*current)->modRevision : 0;
    if (mod != c.modRevision) {
      result.failedKey = c.key;
      return result;
    }
    readCache.insert_or_assign(c.key, std::move(*current));
  }

  // Fold the ops per key (last one wins) before touching the tables, so a key
  // changed twice gets one row, one event and one version bump.
  const std::int64_t next = revision + 1;
  struct Touched {
    std::optional<KeyValue> before;
    std::optional<KeyValue> after;
  };
  std::unordered_map<std::string, Touched> touched;
  std::vector<std::string> order;  // first-touch order = event order
  std::vector<KeyValue> written;   // per put op: the state that op wrote
  for (const Op& op : request.ops) {
    auto it = touched.find(op.key);
    if (it == touched.end()) {
      std::optional<KeyValue> before;
      if (auto cached = readCache.find(op.key); cached != readCache.end()) {
        before = std::move(cached->second);
      } else {
        auto read = readKvForWrite(op.key);
        if (!read.ok()) return read.takeError();
        before = std::move(*read);
      }
      it = touched.emplace(op.key, Touched{before, before}).first;
      order.push_back(op.key);
    }
    std::optional<KeyValue>& after = it->second.after;
    if (op.type == Op::Type::kDelete) {
      after.reset();
      continue;
    }
    if (!after) {
      after = KeyValue{op.key, {}, next, next, 1};  // (re)created by this txn
    } else if (after->modRevision != next) {
      after->version += 1;  // first write of this txn to an existing key
    }
    after->value = op.value;
    after->modRevision = next;
    written.push_back(*after);
  }

  std::vector<Event> events;
  std::int64_t seq = 0;
  for (const std::string& key : order) {
    const Touched& t = touched.at(key);
    if (t.after) {
      Query put(writeConn_, ws_.putKv);
      put.blob(1, key).blob(2, t.after->value).i64(3, t.after->createRevision).i64(4, next).i64(5, t.after->version);
      BERTH_TRY(put.run("write key"));
      Query log(writeConn_, ws_.appendLog);
      log.i64(1, next).i64(2, seq++).blob(3, key).i64(4, kLogPut).blob(5, t.after->value);
      log.i64(6, t.after->createRevision).i64(7, t.after->version);
      BERTH_TRY(log.run("append log"));
      events.push_back(Event{Event::Type::kPut, *t.after});
    } else if (t.before) {
      Query del(writeConn_, ws_.deleteKv);
      del.blob(1, key);
      BERTH_TRY(del.run("delete key"));
      Query log(writeConn_, ws_.appendLog);
      log.i64(1, next).i64(2, seq++).blob(3, key).i64(4, kLogDelete).blob(5, "").i64(6, 0).i64(7, 0);
      BERTH_TRY(log.run("append log"));
      events.push_back(Event{Event::Type::kDelete, KeyValue{key, {}, 0, next, 0}});
    }
  }

  result.succeeded = true;
  for (KeyValue& kv : written) {
    const Touched& t = touched.at(kv.key);
    if (t.after) kv = *t.after;
  }
  result.written = std::move(written);
  if (events.empty()) return result;  // changed nothing: no revision, like etcd
  revision = next;
  result.revision = next;
  groups.emplace_back(next, std::move(events));
  return result;
}

Status SqliteStoreImpl::applyCompact(std::int64_t revision) {
  Query del(writeConn_, ws_.compactLog);
  del.i64(1, revision);
  BERTH_TRY(del.run("compact log"));
  return setMeta("compacted", revision);
}

Status SqliteStoreImpl::setMeta(const char* name, std::int64_t value) {
  Query q(writeConn_, ws_.setMeta);
  q.text(1, name).i64(2, value);
  BERTH_TRY(q.run("update meta"));
  if (sqlite3_changes(writeConn_.db()) != 1) {
    return writeConn_.errorFor("update meta", std::string("meta row '") + name + "' is missing");
  }
  return okStatus();
}

Status SqliteStoreImpl::compact(std::int64_t revision) {
  if (closed_.load()) return unavailable();
  auto item = std::make_unique<WriteItem>();
  item->kind = WriteItem::Kind::kCompact;
  item->compactRevision = revision;
  auto future = item->done.get_future();
  {
    std::lock_guard<std::mutex> lock(dispatchMu_);
    if (dispatcherStopping_) return unavailable();
    std::int64_t current = committedRevision_.load();
    if (revision > current + 1) {
      return Error::make(ErrorCode::kInvalidParameter,
                         "cannot compact to revision " + std::to_string(revision) + ": current revision is " +
                             std::to_string(current));
    }
    if (revision <= compactedRevision_) return okStatus();
    compactedRevision_ = revision;
    // Through the dispatcher: watchers accepted before this point replay their
    // history first, then the dispatcher hands the deletion to the writer.
    DispatchItem d;
    d.kind = DispatchItem::Kind::kCompact;
    d.compact = std::move(item);
    dispatchQueue_.push_back(std::move(d));
  }
  dispatchCv_.notify_one();
  auto r = future.get();
  if (!r.ok()) return r.takeError();
  return okStatus();
}

// ---- reads ----------------------------------------------------------------

Result<std::optional<KeyValue>> SqliteStoreImpl::get(const std::string& key) {
  std::lock_guard<std::mutex> lock(readMu_);
  if (!readConn_) return unavailable();
  Query q(*readConn_, rs_.getKv);
  q.blob(1, key);
  auto row = q.step("get");
  if (!row.ok()) return row.takeError();
  if (!*row) return std::optional<KeyValue>();
  return std::optional<KeyValue>(kvFromRow(q));
}

Result<std::vector<KeyValue>> SqliteStoreImpl::range(const std::string& prefix) {
  auto end = prefixSuccessor(prefix);
  std::lock_guard<std::mutex> lock(readMu_);
  if (!readConn_) return unavailable();
  Query q(*readConn_, end ? rs_.rangeBounded : rs_.rangeFrom);
  q.blob(1, prefix);
  if (end) q.blob(2, *end);
  std::vector<KeyValue> out;
  for (;;) {
    auto row = q.step("range");
    if (!row.ok()) return row.takeError();
    if (!*row) break;
    out.push_back(kvFromRow(q));
  }
  return out;
}

// ---- watches --------------------------------------------------------------

Result<std::unique_ptr<Watch>> SqliteStoreImpl::watch(const std::string& prefix, std::int64_t fromRevision,
                                                      WatchCallback callback) {
  if (closed_.load()) return unavailable();
  if (fromRevision < 0) {
    return Error::make(ErrorCode::kInvalidParameter, "watch: fromRevision must be >= 0", std::to_string(fromRevision));
  }
  if (!callback) return Error::make(ErrorCode::kInvalidParameter, "watch: callback is empty", prefix);
  auto state = std::make_shared<WatcherState>();
  state->prefix = prefix;
  state->callback = std::move(callback);
  state->dispatcherThread = dispatcherId_;
  {
    std::lock_guard<std::mutex> lock(dispatchMu_);
    if (dispatcherStopping_) return unavailable();
    std::int64_t current = committedRevision_.load();
    std::int64_t from = (fromRevision == 0 || fromRevision > current) ? current + 1 : fromRevision;
    if (from < compactedRevision_) {
      return Error::make(ErrorCode::kInvalidParameter,
                         "watch: revision " + std::to_string(from) + " has been compacted; oldest available is " +
                             std::to_string(compactedRevision_),
                         prefix);
    }
    DispatchItem d;
    d.kind = DispatchItem::Kind::kAddWatcher;
    d.revision = from;
    d.watcher = state;
    dispatchQueue_.push_back(std::move(d));
  }
  dispatchCv_.notify_one();
  return std::unique_ptr<Watch>(std::make_unique<WatchHandle>(std::move(state)));
}

void SqliteStoreImpl::dispatcherLoop() {
  std::deque<DispatchItem> items;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(dispatchMu_);
      dispatchCv_.wait(lock, [&] { return dispatcherStopping_ || !dispatchQueue_.empty(); });
      if (dispatchQueue_.empty()) break;
      items.swap(dispatchQueue_);
    }
    for (DispatchItem& item : items) {
      switch (item.kind) {
        case DispatchItem::Kind::kRevision:
          dispatchRevision(item.revision, item.events);
          break;
        case DispatchItem::Kind::kAddWatcher:
          addWatcher(item.watcher, item.revision);
          break;
        case DispatchItem::Kind::kCompact:
          if (auto rejected = enqueueWrite(std::move(item.compact))) rejected->done.set_value(unavailable());
          break;
      }
    }
    items.clear();
  }
  watchers_.clear();  // drop the callbacks (and what they captured) on close
}

void SqliteStoreImpl::dispatchRevision(std::int64_t revision, const std::vector<Event>& events) {
  lastDispatched_ = revision;
  std::erase_if(watchers_, [](const auto& w) { return w->cancelled.load(); });
  std::vector<Event> filtered;
  for (const auto& w : watchers_) {
    if (revision < w->nextRevision) continue;  // its replay already covered this one
    w->nextRevision = revision + 1;
    if (w->prefix.empty()) {
      deliver(*w, events);
      continue;
    }
    filtered.clear();
    for (const Event& e : events) {
      if (e.kv.key.starts_with(w->prefix)) filtered.push_back(e);
    }
    if (!filtered.empty()) deliver(*w, filtered);
  }
}

// Runs on the dispatcher between two live revisions: every revision up to
// lastDispatched_ is committed and in the log, every later one is still queued
// behind us. So replaying [from, lastDispatched_] and then going live at
// lastDispatched_ + 1 has neither a gap nor a duplicate.
void SqliteStoreImpl::addWatcher(const std::shared_ptr<WatcherState>& watcher, std::int64_t fromRevision) {
  if (watcher->cancelled.load()) return;
  if (fromRevision <= lastDispatched_) {
    Status s = replay(*watcher, fromRevision, lastDispatched_);
    if (!s.ok()) {
      // Going live after a partial replay would be a silent gap; stop instead.
      log::error("store watch replay failed; watch stopped",
                 {{"path", path_}, {"prefix", watcher->prefix}, {"error", s.error().message}});
      watcher->cancelled.store(true);
      return;
    }
  }
  watcher->nextRevision = std::max(fromRevision, lastDispatched_ + 1);
  watchers_.push_back(watcher);
}

Status SqliteStoreImpl::replay(WatcherState& watcher, std::int64_t fromRevision, std::int64_t toRevision) {
  auto end = prefixSuccessor(watcher.prefix);
  std::int64_t cursorRev = fromRevision, cursorSeq = -1;
  std::int64_t groupRev = 0;
  std::vector<Event> group;
  for (;;) {
    std::vector<std::pair<std::int64_t, Event>> page;
    {
      std::lock_guard<std::mutex> lock(readMu_);
      if (!readConn_) return unavailable();
      Query q(*readConn_, end ? rs_.replayBounded : rs_.replayFrom);
      q.i64(1, cursorRev).i64(2, cursorSeq).i64(3, toRevision).blob(4, watcher.prefix).i64(6, kReplayPageRows);
      if (end) q.blob(5, *end);
      for (;;) {
        auto row = q.step("replay log");
        if (!row.ok()) return row.takeError();
        if (!*row) break;
        cursorRev = q.intAt(0);
        cursorSeq = q.intAt(1);
        Event e;
        e.type = q.intAt(3) == kLogDelete ? Event::Type::kDelete : Event::Type::kPut;
        e.kv.key = q.blobAt(2);
        e.kv.modRevision = cursorRev;
        if (e.type == Event::Type::kPut) {
          e.kv.value = q.blobAt(4);
          e.kv.createRevision = q.intAt(5);
          e.kv.version = q.intAt(6);
        }
        page.emplace_back(cursorRev, std::move(e));
      }
    }
    // Callbacks run without readMu_ held: they may call get()/range().
    for (auto& [rev, event] : page) {
      if (rev != groupRev && !group.empty()) {
        deliver(watcher, group);
        group.clear();
      }
      groupRev = rev;
      group.push_back(std::move(event));
    }
    if (page.size() < static_cast<std::size_t>(kReplayPageRows) || watcher.cancelled.load()) break;
  }
  if (!group.empty()) deliver(watcher, group);
  return okStatus();
}

void SqliteStoreImpl::deliver(WatcherState& watcher, const std::vector<Event>& events) {
  std::lock_guard<std::mutex> lock(watcher.callbackMu);
  if (watcher.cancelled.load()) return;
  watcher.callback(events);
}

// ---- lifecycle --------------------------------------------------------------

void SqliteStoreImpl::close() {
  std::lock_guard<std::mutex> closeLock(closeMu_);
  if (closed_.exchange(true)) return;
  // Order matters: the writer drains its queue (queued txns still commit and
  // queue their events), then the dispatcher delivers those and fails any
  // compaction the writer can no longer take, then the files close.
  if (writer_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(writeMu_);
      writerStopping_ = true;
    }
    writeCv_.notify_all();
    writer_.join();
  }
  if (dispatcher_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(dispatchMu_);
      dispatcherStopping_ = true;
    }
    dispatchCv_.notify_all();
    dispatcher_.join();
  }
  {
    std::lock_guard<std::mutex> lock(readMu_);
    readConn_ = nullptr;
  }
  Status r = readConnStorage_.close(false);
  if (!r.ok()) log::error("store close failed", {{"path", path_}, {"error", r.error().message}});
  // Checkpoint only a store that opened fine: a failed open (corrupt file) has
  // nothing to checkpoint and would only repeat its error.
  Status w = writeConn_.close(started_ && !isMemory());
  if (!w.ok()) log::error("store close failed", {{"path", path_}, {"error", w.error().message}});
  if (lockFd_ >= 0) {
    ::close(lockFd_);  // releases the flock
    lockFd_ = -1;
  }
}

SqliteStoreStats SqliteStoreImpl::stats() const {
  return SqliteStoreStats{commits_.load(), txns_.load(), failedCompares_.load(), failedCommits_.load(),
                          largestBatch_.load()};
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path, SqliteStoreOptions options) {
  auto store = std::make_unique<SqliteStoreImpl>(path, options);
  Status s = store->init();
  if (!s.ok()) return s.takeError();  // the destructor releases whatever init() opened
  return std::unique_ptr<SqliteStore>(std::move(store));
}

Result<std::unique_ptr<Store>> openSqliteStore(const std::string& path, SqliteStoreOptions options) {
  auto r = SqliteStore::open(path, options);
  if (!r.ok()) return r.takeError();
  return std::unique_ptr<Store>(std::move(r).value());
}

}  // namespace berth::store
