#include "logs/log_store.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "logs/event_cursor.h"
#include "logs/filter_pattern.h"
#include "logs/sqlite_db.h"

namespace berth::logs {

using nlohmann::json;

namespace {

constexpr std::int64_t kHourMs = 3600LL * 1000;
constexpr std::int64_t kDayMs = 24 * kHourMs;
constexpr std::int64_t kMaxBatchBytes = 1'048'576;
constexpr std::int64_t kEventOverhead = 26;
constexpr std::int64_t kMaxEventBytes = 262'144;  // message + overhead
constexpr std::int64_t kMaxEvents = 10'000;
constexpr std::int64_t kMaxResponseBytes = 1'048'576;
// FilterLogEvents examines at most this many events per call and then hands
// back a nextToken (AWS also returns partial, even empty, pages).
constexpr std::int64_t kMaxScannedPerFilterCall = 200'000;
constexpr std::array<int, 22> kRetentionDays = {1,   3,   5,   7,   14,  30,   60,   90,   120,  150,  180,
                                                365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653};

Error invalid(std::string message) { return Error::make(ErrorCode::kInvalidParameter, std::move(message)); }
Error groupNotFound() {
  return Error::make(ErrorCode::kResourceNotFound, "The specified log group does not exist.");
}
Error streamNotFound() {
  return Error::make(ErrorCode::kResourceNotFound, "The specified log stream does not exist.");
}

std::int64_t toMs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

bool validGroupName(std::string_view name) {
  if (name.empty() || name.size() > 512) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == '_' || c == '/' || c == '#';
    if (!ok) return false;
  }
  return true;
}

bool validStreamName(std::string_view name) {
  return !name.empty() && name.size() <= 512 && name.find_first_of(":*") == std::string_view::npos;
}

// Coral's wording for a pattern violation (Logs reports it as InvalidParameterException).
Error patternError(std::string_view member, std::string_view value, std::string_view pattern) {
  return invalid("1 validation error detected: Value '" + std::string(value) + "' at '" + std::string(member) +
                 "' failed to satisfy constraint: Member must satisfy regular expression pattern: " +
                 std::string(pattern));
}

std::string str(const json& req, const char* key) {
  auto it = req.find(key);
  return it != req.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<std::int64_t> num(const json& req, const char* key) {
  auto it = req.find(key);
  if (it == req.end() || !it->is_number()) return std::nullopt;
  return it->get<std::int64_t>();
}

bool flag(const json& req, const char* key, bool fallback) {
  auto it = req.find(key);
  return it != req.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

// Offset tokens for the Describe* operations.
std::optional<std::int64_t> parseOffsetToken(const std::string& token) {
  if (token.size() < 3 || token.rfind("o/", 0) != 0 || token.size() > 20) return std::nullopt;
  std::int64_t v = 0;
  for (std::size_t i = 2; i < token.size(); ++i) {
    if (token[i] < '0' || token[i] > '9') return std::nullopt;
    v = v * 10 + (token[i] - '0');
  }
  return v;
}

Error badToken() { return invalid("The specified nextToken is invalid."); }

}  // namespace

struct LogStore::Impl {
  const Clock& clock;
  LogStoreOptions options;
  std::mutex mu;
  SqliteDb db;
  bool closed = false;

  struct Group {
    std::int64_t id = 0;
    std::string name;
    std::int64_t creationTime = 0;
    std::optional<std::int64_t> retentionDays;
    std::int64_t storedBytes = 0;
  };
  struct Stream {
    std::int64_t id = 0;
    std::string name;
    std::int64_t creationTime = 0;
    std::optional<std::int64_t> firstEvent, lastEvent, lastIngestion;
    std::int64_t sequence = 1;
  };

  Impl(const Clock& c, LogStoreOptions o) : clock(c), options(std::move(o)) {}

  Status init() {
    BERTH_TRY(db.exec("PRAGMA journal_mode=WAL"));
    BERTH_TRY(db.exec("PRAGMA synchronous=FULL"));
    BERTH_TRY(db.exec(
        "CREATE TABLE IF NOT EXISTS log_groups(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        " creation_time INTEGER NOT NULL, retention_days INTEGER, stored_bytes INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE IF NOT EXISTS log_streams(id INTEGER PRIMARY KEY, group_id INTEGER NOT NULL, name TEXT NOT NULL,"
        " creation_time INTEGER NOT NULL, first_event INTEGER, last_event INTEGER, last_ingestion INTEGER,"
        " sequence INTEGER NOT NULL DEFAULT 1, UNIQUE(group_id, name));"
        "CREATE TABLE IF NOT EXISTS log_events(id INTEGER PRIMARY KEY, group_id INTEGER NOT NULL,"
        " stream_id INTEGER NOT NULL, ts INTEGER NOT NULL, ingestion INTEGER NOT NULL, message TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS log_events_by_stream ON log_events(stream_id, ts);"
        "CREATE INDEX IF NOT EXISTS log_events_by_group ON log_events(group_id, ts);"));
    return okStatus();
  }

  Status usable() const {
    if (closed) return Error::make(ErrorCode::kUnavailable, "the log store is closed");
    return okStatus();
  }

  std::string groupArn(const std::string& name) const {
    return "arn:aws:logs:" + options.region + ":" + options.accountId + ":log-group:" + name + ":*";
  }
  std::string streamArn(const std::string& group, const std::string& stream) const {
    return "arn:aws:logs:" + options.region + ":" + options.accountId + ":log-group:" + group +
           ":log-stream:" + stream;
  }

  // logGroupName or logGroupIdentifier (a name or an ARN), exactly one.
  Result<std::string> groupNameIn(const json& req) const {
    std::string name = str(req, "logGroupName");
    std::string ident = str(req, "logGroupIdentifier");
    if (!name.empty() && !ident.empty())
      return invalid("LogGroup name and LogGroup ARN are mutually exclusive parameters.");
    if (!ident.empty()) {
      const std::string marker = ":log-group:";
      auto at = ident.find(marker);
      if (ident.rfind("arn:", 0) == 0 && at != std::string::npos) {
        name = ident.substr(at + marker.size());
        if (name.size() >= 2 && name.compare(name.size() - 2, 2, ":*") == 0) name.resize(name.size() - 2);
      } else {
        name = ident;
      }
    }
    if (name.empty()) return invalid("Either logGroupName or logGroupIdentifier must be provided.");
    return name;
  }

  std::optional<Group> findGroup(const std::string& name) {
    auto s = db.prepare("SELECT id, name, creation_time, retention_days, stored_bytes FROM log_groups WHERE name=?");
    s.bind(1, name);
    if (s.step() != SQLITE_ROW) return std::nullopt;
    return readGroup(s);
  }
  static Group readGroup(const Statement& s) {
    Group g;
    g.id = s.int64(0);
    g.name = std::string(s.text(1));
    g.creationTime = s.int64(2);
    if (!s.isNull(3)) g.retentionDays = s.int64(3);
    g.storedBytes = s.int64(4);
    return g;
  }

  static constexpr const char* kStreamColumns =
      "id, name, creation_time, first_event, last_event, last_ingestion, sequence";
  static Stream readStream(const Statement& s) {
    Stream st;
    st.id = s.int64(0);
    st.name = std::string(s.text(1));
    st.creationTime = s.int64(2);
    if (!s.isNull(3)) st.firstEvent = s.int64(3);
    if (!s.isNull(4)) st.lastEvent = s.int64(4);
    if (!s.isNull(5)) st.lastIngestion = s.int64(5);
    st.sequence = s.int64(6);
    return st;
  }
  std::optional<Stream> findStream(std::int64_t groupId, const std::string& name) {
    auto s = db.prepare(std::string("SELECT ") + kStreamColumns + " FROM log_streams WHERE group_id=? AND name=?");
    s.bind(1, groupId).bind(2, name);
    if (s.step() != SQLITE_ROW) return std::nullopt;
    return readStream(s);
  }

  json groupJson(const Group& g) const {
    json out = {{"logGroupName", g.name},
                {"creationTime", g.creationTime},
                {"metricFilterCount", 0},
                {"arn", groupArn(g.name)},
                {"storedBytes", g.storedBytes}};
    if (g.retentionDays) out["retentionInDays"] = *g.retentionDays;
    return out;
  }
  json streamJson(const std::string& group, const Stream& st) const {
    json out = {{"logStreamName", st.name},
                {"creationTime", st.creationTime},
                {"arn", streamArn(group, st.name)},
                {"uploadSequenceToken", std::to_string(st.sequence)},
                {"storedBytes", 0}};
    if (st.firstEvent) out["firstEventTimestamp"] = *st.firstEvent;
    if (st.lastEvent) out["lastEventTimestamp"] = *st.lastEvent;
    if (st.lastIngestion) out["lastIngestionTime"] = *st.lastIngestion;
    return out;
  }

  // Runs `fn` in a transaction; commits when it succeeds, rolls back otherwise.
  template <typename Fn>
  auto inTransaction(Fn&& fn) -> decltype(fn()) {
    BERTH_TRY(db.exec("BEGIN IMMEDIATE"));
    auto r = fn();
    if (!r.ok()) {
      (void)db.exec("ROLLBACK");
      return r;
    }
    auto committed = db.exec("COMMIT");
    if (!committed.ok()) {
      (void)db.exec("ROLLBACK");
      return committed.takeError();
    }
    return r;
  }

  Status deleteEvents(const char* where, std::int64_t id) {
    auto s = db.prepare(std::string("DELETE FROM log_events WHERE ") + where);
    s.bind(1, id);
    if (s.step() != SQLITE_DONE) return db.error("deleting log events");
    return okStatus();
  }
};

LogStore::LogStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LogStore::~LogStore() { close(); }

Result<std::unique_ptr<LogStore>> LogStore::open(const std::string& path, const Clock& clock, LogStoreOptions options) {
  auto impl = std::make_unique<Impl>(clock, std::move(options));
  auto db = SqliteDb::open(path);
  if (!db.ok()) return db.takeError();
  impl->db = std::move(*db);
  BERTH_TRY(impl->init());
  return std::unique_ptr<LogStore>(new LogStore(std::move(impl)));
}

void LogStore::close() {
  if (!impl_) return;
  std::lock_guard lock(impl_->mu);
  if (impl_->closed) return;
  impl_->closed = true;
  impl_->db.close();
}

Result<json> LogStore::createLogGroup(const json& req) {
  std::string name = str(req, "logGroupName");
  if (!validGroupName(name)) return patternError("logGroupName", name, "[\\.\\-_/#A-Za-z0-9]+");
  std::lock_guard lock(impl_->mu);
  BERTH_TRY(impl_->usable());
  if (impl_->findGroup(name)) return Error::make(ErrorCode::kAlreadyExists, "The specified log group already exists");
  auto s = impl_->db.prepare("INSERT INTO log_groups(name, creation_time) VALUES(?, ?)");
  s.bind(1, name).bind(2, toMs(impl_->clock.now()));
  if (s.step() != SQLITE_DONE) return impl_->db.error("creating log group");
  return json::object();
}

Result<json> LogStore::deleteLogGroup(const json& req) {
  auto name = impl_->groupNameIn(req);
  if (!name.ok()) return name.takeError();
  std::lock_guard lock(impl_->mu);
  BERTH_TRY(impl_->usable());
  auto g = impl_->findGroup(*name);
  if (!g) return groupNotFound();
  return impl_->inTransaction([&]() -> Result<json> {
    BERTH_TRY(impl_->deleteEvents("group_id=?", g->id));
    auto s = impl_->db.prepare("DELETE FROM log_streams WHERE group_id=?");
    s.bind(1, g->id);
    if (s.step() != SQLITE_DONE) return impl_->db.error("deleting log streams");
    auto d = impl_->db.prepare("DELETE FROM log_groups WHERE id=?");
    d.bind(1, g->id);
    if (d.step() != SQLITE_DONE) return impl_->db.error("deleting log group");
    return json::object();
  });
}

Result<json> LogStore::describeLogGroups(const json& req) {
  std::string prefix = str(req, "logGroupNamePrefix");
  std::string pattern = str(req, "logGroupNamePattern");
  if (!prefix.empty() && !pattern.empty())
    return invalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.");
  std::int64_t limit = num(req, "limit").value_or(50);
  std::int64_t offset = 0;
  if (std::string t = str(req, "nextToken"); !t.empty()) {
    auto o = parseOffsetToken(t);
    if (!o) return badToken();
    offset = *o;
  }
  std::lock_guard lock(impl_->mu);
  BERTH_TRY(impl_->usable());
  // Prefix: a range scan on the unique name index; the pattern is a
  // case-insensitive substring, as AWS documents it.
  auto s = impl_->db.prepare(
      "SELECT id, name, creation_time, retention_days, stored_bytes FROM log_groups"
      " WHERE substr(name, 1, length(?1)) = ?1 AND (?2 = '' OR instr(lower(name), lower(?2)) > 0)"
      " ORDER BY name LIMIT ?3 OFFSET ?4");
  s.bind(1, prefix).bind(2, pattern).bind(3, limit + 1).bind(4, offset);
  json groups = json::array();
  bool more = false;
  while (s.step() == SQLITE_ROW) {
    if (static_cast<std::int64_t>(groups.size()) == limit) {
      more = true;
      break;
    }
    groups.push_back(impl_->groupJson(Impl::readGroup(s)));
  }
  json out = {{"logGroups", std::move(groups)}};
  if (more) out["nextToken"] = "o/" + std::to_string(offset + limit);
  return out;
}

Result<json> LogStore::createLogStream(const json& req) {
  std::string group = str(req, "logGroupName");
  std::string name = str(req, "logStreamName");
  if (!validStreamName(name)) return patternError("logStreamName", name, "[^:*]*");
  std::lock_guard lock(impl_->mu);
  BERTH_TRY(impl_->usable());
  auto g = impl_->findGroup(group);
  if (!g) return groupNotFound();
  if (impl_->findStream(g->id, name))
    return Error::make(ErrorCode::kAlreadyExists, "The specified log stream already exists");
  auto s = impl_->db.prepare("INSERT INTO log_streams(group_id, name, creation_time) VALUES(?, ?, ?)");
  s.bind(1, g->id).bind(2, name).bind(3, toMs(impl_->clock.now()));
  if (s.step() != SQLITE_DONE) return impl_->db.error("creating log stream");
  return json::object();
}

Result<json> LogStore::deleteLogStream(const json& req) {
  std::string group = str(req, "logGroupName");
  std::string name = str(req, "logStreamName");
  std::lock_guard lock(impl_->mu);
  BERTH_TRY(impl_->usable());
  auto g = impl_->findGroup(group);
  if (!g) return groupNotFound();
  auto st = impl_->findStream(g->id, name);
  if (!st) return streamNotFound();
  return impl_->inTransaction([&]() -> Result<json> {
    auto bytes = impl_->db.prepare("SELECT coalesce(sum(length(CAST(message AS BLOB))), 0) FROM log_events WHERE stream_id=?");
    bytes.bind(1, st->id);
    std::int64_t removed = bytes.step() == SQLITE_ROW ? bytes.int64(0) : 0;
    BERTH_TRY(impl_->deleteEvents("stream_id=?", st->id));
    auto s = impl_->db.prepare("DELETE FROM log_streams WHERE id=?");
    s.bind(1, st->id);
    if (s.step() != SQLITE_DONE) return impl_->db.error("deleting log stream");
    auto u = impl_->db.prepare("UPDATE log_groups SET stored_bytes = max(0, stored_bytes - ?) WHERE id=?");
    u.bind(1, removed).bind(2, g->id);
    if (u.step() != SQLITE_DONE) return impl_->db.error("updating log group");
    return json::object();
  });
}

Result<json> LogStore::describeLogStreams(const json& req) {
  auto group = impl_->groupNameIn(req);
  if (!group.ok()) return group.takeError();
  std::string prefix = str(req, "logStreamNamePrefix");
  std::string orderBy = str(req, "orderBy");
  if (orderBy.empty()) orderBy = "LogStreamName";
  bool byTime = orderBy == "LastEventTime";
  if (byTime && !prefix.empty())
    return invalid("Cannot order by LastEventTime with a logStreamNamePrefix.");
  bool descending = flag(req, "descending", false);
  std::int64_t limit = num(req, "limit").value_or(50);
  std::int64_t offset = 0;
  if (std::string t = str(req, "nextToken"); !t.empty()) {
    auto o = parseOffsetToken(t);
    if (!o) return badToken();
    offset = *o;
  }
  std::lock_guard lock(impl_->mu);
  BERTH_TRY(impl_->usable());
  auto g = impl_->findGroup(*group);
  if (!g) return groupNotFound();
  std::string dir = descending ? " DESC" : " ASC";
  std::string order = byTime ? "coalesce(last_event, -1)" + dir + ", name" + dir : "name" + dir;
  auto s = impl_->db.prepare(std::string("SELECT ") + Impl::kStreamColumns +
                             " FROM log_streams WHERE group_id=?1 AND substr(name, 1, length(?2)) = ?2 ORDER BY " +
                             order + " LIMIT ?3 OFFSET ?4");
  s.bind(1, g->id).bind(2, prefix).bind(3, limit + 1).bind(4, offset);
  json streams = json::array();
  bool more = false;
  while (s.step() == SQLITE_ROW) {
    if (static_cast<std::int64_t>(streams.size()) == limit) {
      more = true;
      break;
    }
    streams.push_back(impl_->streamJson(g->name, Impl::readStream(s)));
  }
  json out = {{"logStreams", std::move(streams)}};
  if (more) out["nextToken"] = "o/" + std::to_string(offset + limit);
  return out;
}

Result<json> LogStore::putLogEvents(const json& req) {
  std::string group = str(req, "logGroupName");
  std::string stream = str(req, "logStreamName");
  const json& events = req.at("logEvents");
  const auto n = static_cast<std::int64_t>(events.size());
  if (n == 0) return invalid("logEvents must not be empty.");
  if (n > kMaxEvents) return invalid("The maximum number of log events in a batch is 10000.");
  std::vector<std::int64_t> ts(n);
  std::vector<std::string_view> messages(n);
  std::int64_t batchBytes = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const json& e = events[i];
    ts[i] = e.at("timestamp").get<std::int64_t>();
    messages[i] = e.at("message").get_ref<const std::string&>();
    std::int64_t size = static_cast<std::int64_t>(messages[i].size()) + kEventOverhead;
    if (size > kMaxEventBytes)
      return invalid("Log event too large: " + std::to_string(size) + " bytes exceeds limit of " +
                     std::to_string(kMaxEventBytes));
    batchBytes += size;
    if (i > 0 && ts[i] < ts[i - 1])
      return invalid("Log events in a single PutLogEvents request must be in chronological order.");
  }
  if (batchBytes > kMaxBatchBytes)
    return invalid("Upload too large: " + std::to_string(batchBytes) + " bytes exceeds limit of " +
                   std::to_string(kMaxBatchBytes));
  if (ts.back() - ts.front() > kDayMs)
    return invalid("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.");

  std::lock_guard lock(impl_->mu);
  BERTH_TRY(impl_->usable());
  auto g = impl_->findGroup(group);
  if (!g) return groupNotFound();
  auto st = impl_->findStream(g->id, stream);
  if (!st) return streamNotFound();

  // Events are chronological, so the rejected ones are a prefix (too old,
  // expired) and a suffix (too new). End indexes are exclusive, start
  // indexes inclusive.
  const std::int64_t now = toMs(impl_->clock.now());
  const std::int64_t oldest = now - 14 * kDayMs;
  const std::int64_t newest = now + 2 * kHourMs;
  const std::int64_t expiredBefore = g->retentionDays ? now - *g->retentionDays * kDayMs : INT64_MIN;
  std::int64_t tooOldEnd = 0, expiredEnd = 0, tooNewStart = n;
  while (tooOldEnd < n && ts[tooOldEnd] < oldest) ++tooOldEnd;
  while (expiredEnd < n && ts[expiredEnd] < expiredBefore) ++expiredEnd;
  while (tooNewStart > 0 && ts[tooNewStart - 1] > newest) --tooNewStart;
  const std::int64_t first = std::max(tooOldEnd, expiredEnd);

  std::int64_t nextSequence = st->sequence + 1;
  auto done = impl_->inTransaction([&]() -> Status {
    std::int64_t stored = 0;
    if (first < tooNewStart) {
      auto ins = impl_->db.prepare(
          "INSERT INTO log_events(group_id, stream_id, ts, ingestion, message) VALUES(?, ?, ?, ?, ?)");
      if (!ins.valid()) return impl_->db.error("preparing insert");
      for (std::int64_t i = first; i < tooNewStart; ++i) {
        ins.bind(1, g->id).bind(2, st->id).bind(3, ts[i]).bind(4, now).bind(5, messages[i]);
        if (ins.step() != SQLITE_DONE) return impl_->db.error("storing log events");
        ins.reset();
        stored += static_cast<std::int64_t>(messages[i].size());
      }
    }
    auto u = impl_->db.prepare(
        "UPDATE log_streams SET sequence = ?2,"
        " first_event = CASE WHEN ?3 THEN min(coalesce(first_event, ?4), ?4) ELSE first_event END,"
        " last_event = CASE WHEN ?3 THEN max(coalesce(last_event, ?5), ?5) ELSE last_event END,"
        " last_ingestion = CASE WHEN ?3 THEN ?6 ELSE last_ingestion END WHERE id = ?1");
    bool any = first < tooNewStart;
    u.bind(1, st->id).bind(2, nextSequence).bind(3, static_cast<std::int64_t>(any));
    u.bind(4, any ? ts[first] : 0).bind(5, any ? ts[tooNewStart - 1] : 0).bind(6, now);
    if (u.step() != SQLITE_DONE) return impl_->db.error("updating log stream");
    if (stored > 0) {
      auto gb = impl_->db.prepare("UPDATE log_groups SET stored_bytes = stored_bytes + ? WHERE id = ?");
      gb.bind(1, stored).bind(2, g->id);
      if (gb.step() != SQLITE_DONE) return impl_->db.error("updating log group");
    }
    return okStatus();
  });
  if (!done.ok()) return done.takeError();

  json out = {{"nextSequenceToken", std::to_string(nextSequence)}};
  json rejected = json::object();
  if (tooNewStart < n) rejected["tooNewLogEventStartIndex"] = tooNewStart;
  if (tooOldEnd > 0) rejected["tooOldLogEventEndIndex"] = tooOldEnd;
  if (expiredEnd > tooOldEnd) rejected["expiredLogEventEndIndex"] = expiredEnd;
  if (!rejected.empty()) out["rejectedLogEventsInfo"] = std::move(rejected);
  return out;
}

Result<json> LogStore::getLogEvents(const json& req) {
  auto group = impl_->groupNameIn(req);
  if (!group.ok()) return group.takeError();
  std::string stream = str(req, "logStreamName");
  const std::int64_t startTime = num(req, "startTime").value_or(INT64_MIN);
  const std::int64_t endTime = num(req, "endTime").value_or(INT64_MAX);  // exclusive
  const std::int64_t limit = std::min<std::int64_t>(num(req, "limit").value_or(kMaxEvents), kMaxEvents);
  const std::string token = str(req, "nextToken");
  // Direction: a token decides; without one, startFromHead does (default: the newest page).
  bool forward = flag(req, "startFromHead", false);
  std::optional<EventCursor> cursor;
  if (!token.empty()) {
    if (auto f = parseCursorToken(token, 'f')) {
      forward = true;
      cursor = f;
    } else if (auto b = parseCursorToken(token, 'b')) {
      forward = false;
      cursor = b;
    } else {
      return badToken();
    }
  }

  std::lock_guard lock(impl_->mu);
  BERTH_TRY(impl_->usable());
  auto g = impl_->findGroup(*group);
  if (!g) return groupNotFound();
  auto st = impl_->findStream(g->id, stream);
  if (!st) return streamNotFound();

  EventCursor from = cursor.value_or(forward ? EventCursor{INT64_MIN, 0} : EventCursor{INT64_MAX, INT64_MAX});
  auto s = impl_->db.prepare(
      forward ? "SELECT id, ts, ingestion, message FROM log_events WHERE stream_id=?1 AND (ts, id) > (?2, ?3)"
                " AND ts >= ?4 AND ts < ?5 ORDER BY ts, id LIMIT ?6"
              : "SELECT id, ts, ingestion, message FROM log_events WHERE stream_id=?1 AND (ts, id) < (?2, ?3)"
                " AND ts >= ?4 AND ts < ?5 ORDER BY ts DESC, id DESC LIMIT ?6");
  s.bind(1, st->id).bind(2, from.timestamp).bind(3, from.id).bind(4, startTime).bind(5, endTime).bind(6, limit);
  struct Row {
    EventCursor at;
    std::int64_t ingestion;
    std::string message;
  };
  std::vector<Row> rows;
  std::int64_t bytes = 0;
  while (s.step() == SQLITE_ROW) {
    std::string_view m = s.text(3);
    bytes += static_cast<std::int64_t>(m.size()) + kEventOverhead;
    if (bytes > kMaxResponseBytes && !rows.empty()) break;
    rows.push_back(Row{{s.int64(1), s.int64(0)}, s.int64(2), std::string(m)});
  }
  if (!forward) std::reverse(rows.begin(), rows.end());

  json events = json::array();
  for (auto& r : rows)
    events.push_back({{"timestamp", r.at.timestamp}, {"message", std::move(r.message)}, {"ingestionTime", r.ingestion}});
  json out = {{"events", std::move(events)}};
  if (rows.empty()) {
    // Nothing (more) here: the token passed in comes back so paginators stop;
    // without one, both tokens point at the end the caller started from.
    EventCursor at = cursor.value_or(forward ? EventCursor{0, 0} : EventCursor{0, 0});
    out["nextForwardToken"] = forward && !token.empty() ? token : formatCursorToken('f', at);
    out["nextBackwardToken"] = !forward && !token.empty() ? token : formatCursorToken('b', at);
  } else {
    out["nextForwardToken"] = formatCursorToken('f', rows.back().at);
    out["nextBackwardToken"] = formatCursorToken('b', rows.front().at);
  }
  return out;
}

Result<json> LogStore::filterLogEvents(const json& req) {
  auto group = impl_->groupNameIn(req);
  if (!group.ok()) return group.takeError();
  const bool hasNames = req.contains("logStreamNames") && req["logStreamNames"].is_array();
  const std::string prefix = str(req, "logStreamNamePrefix");
  if (hasNames && !prefix.empty())
    return invalid("You cannot specify both logStreamNames and logStreamNamePrefix.");
  const std::int64_t startTime = num(req, "startTime").value_or(INT64_MIN);
  const std::int64_t endTime = num(req, "endTime").value_or(INT64_MAX);  // inclusive
  const std::int64_t limit = std::min<std::int64_t>(num(req, "limit").value_or(kMaxEvents), kMaxEvents);
  auto pattern = FilterPattern::parse(str(req, "filterPattern"));
  if (!pattern.ok()) return pattern.takeError();
  EventCursor from{INT64_MIN, 0};
  if (std::string t = str(req, "nextToken"); !t.empty()) {
    auto c = parseCursorToken(t, 'c');
    if (!c) return badToken();
    from = *c;
  }

  std::lock_guard lock(impl_->mu);
  BERTH_TRY(impl_->usable());
  auto g = impl_->findGroup(*group);
  if (!g) return groupNotFound();

  // The streams searched: all of the group's, or the named / prefixed ones.
  std::unordered_map<std::int64_t, std::string> streams;
  {
    auto s = impl_->db.prepare("SELECT id, name FROM log_streams WHERE group_id=? ORDER BY name");
    s.bind(1, g->id);
    std::unordered_set<std::string> wanted;
    if (hasNames)
      for (const auto& n : req["logStreamNames"])
        if (n.is_string()) wanted.insert(n.get<std::string>());
    while (s.step() == SQLITE_ROW) {
      std::string name(s.text(1));
      if (hasNames && !wanted.count(name)) continue;
      if (!prefix.empty() && name.rfind(prefix, 0) != 0) continue;
      streams.emplace(s.int64(0), std::move(name));
    }
  }
  const bool allStreams = !hasNames && prefix.empty();

  json events = json::array();
  std::optional<EventCursor> resumeAt;
  if (!streams.empty()) {
    std::string sql =
        "SELECT id, stream_id, ts, ingestion, message FROM log_events WHERE group_id=?1 AND (ts, id) > (?2, ?3)"
        " AND ts >= ?4 AND ts <= ?5";
    if (!allStreams && streams.size() <= 500) {
      sql += " AND stream_id IN (";
      bool firstId = true;
      for (const auto& [id, name] : streams) {
        sql += (firstId ? "" : ",") + std::to_string(id);
        firstId = false;
      }
      sql += ")";
    }
    sql += " ORDER BY ts, id LIMIT ?6";
    auto s = impl_->db.prepare(sql);
    if (!s.valid()) return impl_->db.error("preparing filter query");
    std::int64_t scanned = 0, bytes = 0;
    EventCursor at = from;
    const std::int64_t chunk = 4096;
    bool exhausted = false;
    while (!resumeAt && !exhausted) {
      s.reset();
      s.bind(1, g->id).bind(2, at.timestamp).bind(3, at.id).bind(4, startTime).bind(5, endTime).bind(6, chunk);
      std::int64_t rowsThisChunk = 0;
      while (s.step() == SQLITE_ROW) {
        ++rowsThisChunk;
        ++scanned;
        EventCursor here{s.int64(2), s.int64(0)};
        auto it = streams.find(s.int64(1));
        std::string_view message = s.text(4);
        if (it != streams.end() && pattern->matches(message)) {
          std::int64_t size = static_cast<std::int64_t>(message.size()) + kEventOverhead;
          if (bytes + size > kMaxResponseBytes && !events.empty()) {
            resumeAt = at;  // this event starts the next page
            break;
          }
          bytes += size;
          events.push_back({{"logStreamName", it->second},
                            {"timestamp", here.timestamp},
                            {"message", std::string(message)},
                            {"ingestionTime", s.int64(3)},
                            {"eventId", std::to_string(here.id)}});
        }
        at = here;
        if (static_cast<std::int64_t>(events.size()) >= limit || scanned >= kMaxScannedPerFilterCall) {
          resumeAt = at;
          break;
        }
      }
      if (!resumeAt && rowsThisChunk < chunk) exhausted = true;
    }
    // A page that ended exactly at the last event needs no token.
    if (resumeAt) {
      auto more = impl_->db.prepare("SELECT 1 FROM log_events WHERE group_id=?1 AND (ts, id) > (?2, ?3) AND ts >= ?4 AND ts <= ?5 LIMIT 1");
      more.bind(1, g->id).bind(2, resumeAt->timestamp).bind(3, resumeAt->id).bind(4, startTime).bind(5, endTime);
      if (more.step() != SQLITE_ROW) resumeAt.reset();
    }
  }
  json searched = json::array();
  std::vector<std::string> names;
  for (const auto& [id, name] : streams) names.push_back(name);
  std::sort(names.begin(), names.end());
  for (auto& n : names) searched.push_back({{"logStreamName", std::move(n)}, {"searchedCompletely", !resumeAt}});
  json out = {{"events", std::move(events)}, {"searchedLogStreams", std::move(searched)}};
  if (resumeAt) out["nextToken"] = formatCursorToken('c', *resumeAt);
  return out;
}

Result<json> LogStore::putRetentionPolicy(const json& req) {
  auto group = impl_->groupNameIn(req);
  if (!group.ok()) return group.takeError();
  std::int64_t days = num(req, "retentionInDays").value_or(0);
  if (std::find(kRetentionDays.begin(), kRetentionDays.end(), days) == kRetentionDays.end())
    return invalid("1 validation error detected: Value '" + std::to_string(days) +
                   "' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [1, 3, 5, "
                   "7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]");
  std::lock_guard lock(impl_->mu);
  BERTH_TRY(impl_->usable());
  auto g = impl_->findGroup(*group);
  if (!g) return groupNotFound();
  auto s = impl_->db.prepare("UPDATE log_groups SET retention_days=? WHERE id=?");
  s.bind(1, days).bind(2, g->id);
  if (s.step() != SQLITE_DONE) return impl_->db.error("setting retention");
  return json::object();
}

Result<json> LogStore::deleteRetentionPolicy(const json& req) {
  auto group = impl_->groupNameIn(req);
  if (!group.ok()) return group.takeError();
  std::lock_guard lock(impl_->mu);
  BERTH_TRY(impl_->usable());
  auto g = impl_->findGroup(*group);
  if (!g) return groupNotFound();
  auto s = impl_->db.prepare("UPDATE log_groups SET retention_days=NULL WHERE id=?");
  s.bind(1, g->id);
  if (s.step() != SQLITE_DONE) return impl_->db.error("deleting retention");
  return json::object();
}

Result<std::int64_t> LogStore::enforceRetention(std::chrono::system_clock::time_point nowTp) {
  const std::int64_t now = toMs(nowTp);
  std::vector<Impl::Group> groups;
  {
    std::lock_guard lock(impl_->mu);
    BERTH_TRY(impl_->usable());
    auto s = impl_->db.prepare(
        "SELECT id, name, creation_time, retention_days, stored_bytes FROM log_groups WHERE retention_days IS NOT NULL");
    while (s.step() == SQLITE_ROW) groups.push_back(Impl::readGroup(s));
  }
  std::int64_t total = 0;
  for (const auto& g : groups) {
    const std::int64_t cutoff = now - *g.retentionDays * kDayMs;
    // One group per transaction, so writers wait at most for one group's delete.
    std::lock_guard lock(impl_->mu);
    BERTH_TRY(impl_->usable());
    auto r = impl_->inTransaction([&]() -> Result<std::int64_t> {
      auto sum = impl_->db.prepare(
          "SELECT count(*), coalesce(sum(length(CAST(message AS BLOB))), 0) FROM log_events WHERE group_id=? AND ts < ?");
      sum.bind(1, g.id).bind(2, cutoff);
      if (sum.step() != SQLITE_ROW) return impl_->db.error("measuring expired events");
      std::int64_t count = sum.int64(0), bytes = sum.int64(1);
      if (count == 0) return std::int64_t{0};
      auto del = impl_->db.prepare("DELETE FROM log_events WHERE group_id=? AND ts < ?");
      del.bind(1, g.id).bind(2, cutoff);
      if (del.step() != SQLITE_DONE) return impl_->db.error("deleting expired events");
      auto gb = impl_->db.prepare("UPDATE log_groups SET stored_bytes = max(0, stored_bytes - ?) WHERE id=?");
      gb.bind(1, bytes).bind(2, g.id);
      if (gb.step() != SQLITE_DONE) return impl_->db.error("updating log group");
      // Streams whose events all expired keep their metadata but no first/last event.
      auto st = impl_->db.prepare(
          "UPDATE log_streams SET first_event = (SELECT min(ts) FROM log_events e WHERE e.stream_id = log_streams.id)"
          " WHERE group_id=? AND first_event < ?");
      st.bind(1, g.id).bind(2, cutoff);
      if (st.step() != SQLITE_DONE) return impl_->db.error("updating log streams");
      return count;
    });
    if (!r.ok()) return r.takeError();
    total += *r;
  }
  return total;
}

}  // namespace berth::logs
