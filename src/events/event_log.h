#pragma once
// EventLog: the server's durable, bounded window of events (EventBridge-shaped
// ECS events, one-line JSON), each with a monotonically increasing sequence
// number that readers page by and SSE streams use as the event id.
//
// Durability: publish() never blocks on I/O; it assigns the sequence number
// and queues the event, and a writer thread commits queued events in batches
// (one transaction per batch, WAL, synchronous=NORMAL). An event is durable
// once committed, typically within milliseconds of publish(); events published
// but not yet committed when the process crashes are lost (a clean close()
// commits everything queued). Readers only ever see committed events, in
// sequence order, so a follower never skips one.
//
// Window: at most `maxEvents` events and none older than `retention` are
// kept; the count bound is enforced after every batch, the age bound every
// `enforceInterval` (and on enforceWindow()). The last sequence number is
// kept in the database too, so after a restart numbering continues even if
// the window had emptied.
//
// Thread-safe. Does not depend on control/: the ECS side adapts to it.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace berth::events {

struct EventLogOptions {
  std::size_t maxEvents = 100'000;
  std::chrono::seconds retention = std::chrono::hours(24);
  std::chrono::milliseconds enforceInterval = std::chrono::minutes(1);
};

// What publish() takes: the event text plus the fields readers filter on.
struct NewEvent {
  std::string detailType;  // e.g. "ECS Task State Change"
  std::string clusterArn;  // empty when the event belongs to no cluster
  std::string json;        // the whole event, one line
};

struct StoredEvent {
  std::int64_t sequence = 0;
  std::string detailType;
  std::string clusterArn;
  std::chrono::system_clock::time_point publishedAt;
  std::string json;
};

// Empty fields match everything.
struct EventFilter {
  std::string detailType;
  std::string clusterArn;
};

struct EventPage {
  std::vector<StoredEvent> events;
  // Where the next read should start (pass as afterSequence): the last
  // sequence this read examined, so non-matching events are not scanned again.
  std::int64_t nextAfter = 0;
};

class EventLog {
 public:
  // Opens (creating if needed) the database at `path`; its directory must exist.
  static Result<std::unique_ptr<EventLog>> open(const std::string& path, const Clock& clock,
                                                EventLogOptions options = {});
  ~EventLog();  // close()
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Queues the event and returns its sequence number; never blocks on I/O.
  // After close(): dropped, returns 0.
  std::int64_t publish(NewEvent event);

  // Committed events with sequence > afterSequence that match `filter`, in
  // order, at most `limit`.
  Result<EventPage> read(std::int64_t afterSequence, std::size_t limit, const EventFilter& filter = {}) const;

  // Blocks until an event with sequence > afterSequence is committed (true),
  // or the timeout passes, the log closes or *cancel becomes true after a
  // wakeWaiters() (false).
  bool waitForEvents(std::int64_t afterSequence, std::chrono::milliseconds timeout,
                     const std::atomic<bool>* cancel = nullptr) const;
  // Wakes every waitForEvents() so that they re-check their cancel flag.
  void wakeWaiters() const;

  // The highest committed sequence number (0: none ever).
  std::int64_t committedSequence() const;
  // The oldest sequence number still in the window (0: the window is empty).
  Result<std::int64_t> oldestSequence() const;

  // Deletes events beyond the count bound and older than `retention` now;
  // returns how many it deleted. The writer runs it on its own too.
  Result<std::int64_t> enforceWindow();

  // Commits everything queued, stops the writer, closes the database and
  // wakes every waiter (idempotent).
  void close();

 private:
  struct Impl;
  explicit EventLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::events
