#include "events/event_log.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "logs/sqlite_db.h"

namespace berth::events {
namespace {

using logs::SqliteDb;
using logs::Statement;

// Events committed per transaction at most: bounds how long one commit holds
// the writer connection (enforceWindow waits for it).
constexpr std::size_t kMaxBatch = 2000;

std::int64_t toMillis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

struct Pending {
  std::int64_t sequence;
  std::int64_t publishedMs;
  NewEvent event;
};

}  // namespace

struct EventLog::Impl {
  const Clock& clock;
  EventLogOptions options;
  std::string path;

  // Writer side: writeDb is used by the writer thread and enforceWindow(), under writeMu.
  std::mutex writeMu;
  SqliteDb writeDb;
  // Reader side: one connection, serialised (WAL lets it read while the writer commits).
  mutable std::mutex readMu;
  SqliteDb readDb;

  // Queue of published, not yet committed events.
  std::mutex queueMu;
  std::condition_variable queueCv;
  std::deque<Pending> queue;
  std::int64_t nextSequence = 1;  // guarded by queueMu
  bool closing = false;           // guarded by queueMu
  std::thread writer;

  // Committed high-water mark, and the waiters that follow it.
  mutable std::mutex commitMu;
  mutable std::condition_variable commitCv;
  std::atomic<std::int64_t> committed{0};
  std::atomic<bool> closed{false};

  Impl(const Clock& c, EventLogOptions o, std::string p) : clock(c), options(o), path(std::move(p)) {}

  Status init() {
    auto w = SqliteDb::open(path);
    if (!w.ok()) return w.takeError();
    writeDb = std::move(*w);
    BERTH_TRY(writeDb.exec("PRAGMA journal_mode=WAL"));
    // NORMAL in WAL mode: a commit survives a process crash; an OS crash may
    // lose the last commits, which the window's contract allows.
    BERTH_TRY(writeDb.exec("PRAGMA synchronous=NORMAL"));
    BERTH_TRY(writeDb.exec(
        "CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY, detail_type TEXT NOT NULL,"
        " cluster_arn TEXT NOT NULL, published_ms INTEGER NOT NULL, body TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS events_by_time ON events(published_ms);"
        "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"));
    std::int64_t last = 0;
    {
      auto s = writeDb.prepare("SELECT max(COALESCE((SELECT max(seq) FROM events), 0),"
                               " COALESCE((SELECT value FROM meta WHERE key = 'lastSequence'), 0))");
      if (!s.valid()) return writeDb.error("event log: reading the last sequence");
      if (s.step() == SQLITE_ROW) last = s.int64(0);
    }
    nextSequence = last + 1;
    committed.store(last);
    auto r = SqliteDb::open(path);
    if (!r.ok()) return r.takeError();
    readDb = std::move(*r);
    return okStatus();
  }

  void start() {
    writer = std::thread([this] { runWriter(); });
  }

  std::int64_t publish(NewEvent&& event) {
    const std::int64_t ms = toMillis(clock.now());
    std::int64_t seq;
    {
      std::lock_guard lock(queueMu);
      if (closing) return 0;
      seq = nextSequence++;
      queue.push_back(Pending{seq, ms, std::move(event)});
    }
    queueCv.notify_one();
    return seq;
  }

  void runWriter() {
    auto lastEnforced = std::chrono::steady_clock::now();
    std::unique_lock lock(queueMu);
    for (;;) {
      queueCv.wait_for(lock, options.enforceInterval, [&] { return closing || !queue.empty(); });
      if (queue.empty() && closing) return;
      std::vector<Pending> batch;
      while (!queue.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue.front()));
        queue.pop_front();
      }
      lock.unlock();
      if (!batch.empty()) commitBatch(batch);
      if (std::chrono::steady_clock::now() - lastEnforced >= options.enforceInterval) {
        lastEnforced = std::chrono::steady_clock::now();
        auto deleted = enforceWindow();
        if (!deleted.ok()) log::warn("event log window enforcement failed", {{"error", deleted.error().message}});
      }
      lock.lock();
    }
  }

  void commitBatch(const std::vector<Pending>& batch) {
    Status s = writeBatch(batch);
    if (!s.ok()) {
      // The events are lost, but followers must not wait for them forever.
      log::warn("event log: committing events failed; they are dropped",
                {{"count", batch.size()}, {"error", s.error().message}});
    }
    {
      std::lock_guard lock(commitMu);
      committed.store(batch.back().sequence);
    }
    commitCv.notify_all();
  }

  Status writeBatch(const std::vector<Pending>& batch) {
    std::lock_guard lock(writeMu);
    if (!writeDb.get()) return Error::make(ErrorCode::kUnavailable, "event log is closed");
    BERTH_TRY(writeDb.exec("BEGIN IMMEDIATE"));
    auto insert = writeDb.prepare(
        "INSERT INTO events(seq, detail_type, cluster_arn, published_ms, body) VALUES(?1, ?2, ?3, ?4, ?5)");
    if (!insert.valid()) {
      (void)writeDb.exec("ROLLBACK");
      return writeDb.error("event log: preparing insert");
    }
    for (const auto& p : batch) {
      insert.bind(1, p.sequence)
          .bind(2, p.event.detailType)
          .bind(3, p.event.clusterArn)
          .bind(4, p.publishedMs)
          .bind(5, p.event.json);
      if (insert.step() != SQLITE_DONE) {
        Error e = writeDb.error("event log: insert");
        insert.reset();
        (void)writeDb.exec("ROLLBACK");
        return e;
      }
      insert.reset();
    }
    auto meta = writeDb.prepare("INSERT INTO meta(key, value) VALUES('lastSequence', ?1)"
                                " ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    meta.bind(1, batch.back().sequence);
    if (!meta.valid() || meta.step() != SQLITE_DONE) {
      Error e = writeDb.error("event log: meta");
      (void)writeDb.exec("ROLLBACK");
      return e;
    }
    // The count bound is cheap (a primary-key range): keep it exact, in the same transaction.
    if (Status trimmed = deleteBeyondCount(); !trimmed.ok()) {
      (void)writeDb.exec("ROLLBACK");
      return trimmed;
    }
    return writeDb.exec("COMMIT");
  }

  Status deleteBeyondCount() {  // holds writeMu
    const std::int64_t last = maxStoredSequence();
    const auto bound = static_cast<std::int64_t>(options.maxEvents);
    if (last <= bound) return okStatus();
    auto del = writeDb.prepare("DELETE FROM events WHERE seq <= ?1");
    del.bind(1, last - bound);
    if (!del.valid() || del.step() != SQLITE_DONE) return writeDb.error("event log: trimming to maxEvents");
    return okStatus();
  }

  // The highest sequence stored (holds writeMu).
  std::int64_t maxStoredSequence() {
    auto s = writeDb.prepare("SELECT COALESCE(max(seq), 0) FROM events");
    if (s.valid() && s.step() == SQLITE_ROW) return s.int64(0);
    return 0;
  }

  Result<std::int64_t> enforceWindow() {
    std::lock_guard lock(writeMu);
    if (!writeDb.get()) return Error::make(ErrorCode::kUnavailable, "event log is closed");
    const int before = sqlite3_total_changes(writeDb.get());
    BERTH_TRY(deleteBeyondCount());
    auto del = writeDb.prepare("DELETE FROM events WHERE published_ms < ?1");
    del.bind(1, toMillis(clock.now() - options.retention));
    if (!del.valid() || del.step() != SQLITE_DONE) return writeDb.error("event log: expiring old events");
    return static_cast<std::int64_t>(sqlite3_total_changes(writeDb.get()) - before);
  }

  Result<EventPage> read(std::int64_t after, std::size_t limit, const EventFilter& filter) const {
    EventPage page;
    const std::int64_t upTo = committed.load();
    page.nextAfter = std::max(after, upTo);
    if (limit == 0 || after >= upTo) {
      page.nextAfter = after;
      return page;
    }
    std::lock_guard lock(readMu);
    if (!readDb.get()) return Error::make(ErrorCode::kUnavailable, "event log is closed");
    auto s = readDb.prepare(
        "SELECT seq, detail_type, cluster_arn, published_ms, body FROM events"
        " WHERE seq > ?1 AND seq <= ?2 AND (?3 = '' OR detail_type = ?3) AND (?4 = '' OR cluster_arn = ?4)"
        " ORDER BY seq LIMIT ?5");
    if (!s.valid()) return readDb.error("event log: preparing read");
    s.bind(1, after).bind(2, upTo).bind(3, filter.detailType).bind(4, filter.clusterArn).bind(5, static_cast<std::int64_t>(limit));
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      StoredEvent e;
      e.sequence = s.int64(0);
      e.detailType = std::string(s.text(1));
      e.clusterArn = std::string(s.text(2));
      e.publishedAt = std::chrono::system_clock::time_point(std::chrono::milliseconds(s.int64(3)));
      e.json = std::string(s.text(4));
      page.events.push_back(std::move(e));
    }
    if (rc != SQLITE_DONE) return readDb.error("event log: read");
    // A full page may stop before upTo: continue right after its last event.
    if (page.events.size() == limit) page.nextAfter = page.events.back().sequence;
    return page;
  }

  Result<std::int64_t> oldestSequence() const {
    std::lock_guard lock(readMu);
    if (!readDb.get()) return Error::make(ErrorCode::kUnavailable, "event log is closed");
    auto s = readDb.prepare("SELECT COALESCE(min(seq), 0) FROM events");
    if (!s.valid() || s.step() != SQLITE_ROW) return readDb.error("event log: oldest");
    return s.int64(0);
  }

  bool waitForEvents(std::int64_t after, std::chrono::milliseconds timeout, const std::atomic<bool>* cancel) const {
    std::unique_lock lock(commitMu);
    return commitCv.wait_for(lock, timeout, [&] {
      return committed.load() > after || closed.load() || (cancel && cancel->load());
    }) && committed.load() > after && !(cancel && cancel->load());
  }

  void wakeWaiters() const {
    { std::lock_guard lock(commitMu); }
    commitCv.notify_all();
  }

  void close() {
    {
      std::lock_guard lock(queueMu);
      if (closing) return;
      closing = true;
    }
    queueCv.notify_all();
    if (writer.joinable()) writer.join();
    {
      std::lock_guard lock(writeMu);
      writeDb.close();
    }
    {
      std::lock_guard lock(readMu);
      readDb.close();
    }
    {
      std::lock_guard lock(commitMu);
      closed.store(true);
    }
    commitCv.notify_all();
  }
};

Result<std::unique_ptr<EventLog>> EventLog::open(const std::string& path, const Clock& clock, EventLogOptions options) {
  if (options.maxEvents == 0 || options.retention.count() <= 0 || options.enforceInterval.count() <= 0)
    return Error::make(ErrorCode::kInvalidParameter, "event log: maxEvents, retention and enforceInterval must be positive");
  auto impl = std::make_unique<Impl>(clock, options, path);
  BERTH_TRY(impl->init());
  impl->start();
  return std::unique_ptr<EventLog>(new EventLog(std::move(impl)));
}

EventLog::EventLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventLog::~EventLog() { close(); }

std::int64_t EventLog::publish(NewEvent event) { return impl_->publish(std::move(event)); }
Result<EventPage> EventLog::read(std::int64_t afterSequence, std::size_t limit, const EventFilter& filter) const {
  return impl_->read(afterSequence, limit, filter);
}
bool EventLog::waitForEvents(std::int64_t afterSequence, std::chrono::milliseconds timeout,
                             const std::atomic<bool>* cancel) const {
  return impl_->waitForEvents(afterSequence, timeout, cancel);
}
void EventLog::wakeWaiters() const { impl_->wakeWaiters(); }
std::int64_t EventLog::committedSequence() const { return impl_->committed.load(); }
Result<std::int64_t> EventLog::oldestSequence() const { return impl_->oldestSequence(); }
Result<std::int64_t> EventLog::enforceWindow() { return impl_->enforceWindow(); }
void EventLog::close() { impl_->close(); }

}  // namespace berth::events
