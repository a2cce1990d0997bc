#include "agent/awslogs_shipper.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <condition_variable>
#include <thread>
#include <vector>

#include "agent/k8s_file_log.h"
#include "common/log.h"
#include "common/unique_fd.h"

namespace berth::agent {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxBatchEvents = 10'000;
constexpr std::size_t kMaxBatchBytes = 1'048'576;
constexpr std::size_t kEventOverhead = 26;
constexpr std::size_t kMaxEventBytes = 262'144;  // including the overhead
constexpr std::int64_t kMaxSpanMs = 24LL * 3600 * 1000;
// The request's JSON must also fit the server's body limit (4 MiB by
// default): escaping can make a message up to 6x longer than its bytes.
constexpr std::size_t kMaxBatchJsonBytes = 3u << 20;
constexpr std::size_t kReadChunk = 1 << 20;
constexpr std::size_t kMaxCarry = 16u << 20;  // a "line" this long without '\n' is cut

std::int64_t epochMs(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.now().time_since_epoch()).count();
}

// Bytes `m` takes as a JSON string plus the event's JSON framing.
std::size_t jsonEventSize(std::string_view m) {
  std::size_t n = 48;  // {"timestamp":1700000000000,"message":""},
  for (unsigned char c : m) n += c < 0x20 ? 6 : (c == '"' || c == '\\') ? 2 : 1;
  return n;
}

bool isAwsError(const Error& e, std::string_view type) { return e.context == type; }

// Worth retrying as is: the server is away, busy or throttling us.
bool retryable(const Error& e) {
  return e.code == ErrorCode::kUnavailable || isAwsError(e, "ThrottlingException") ||
         isAwsError(e, "ServiceUnavailableException");
}

}  // namespace

std::string awslogsOffsetPath(const std::string& logPath) { return logPath + ".awslogs-offset"; }

class AwsLogsShipper::Follower {
 public:
  Follower(LogsClient& client, const Clock& clock, const AwsLogsShipperOptions& options, std::string runtimeId,
           std::string logPath, AwsLogsTarget target)
      : client_(client),
        clock_(clock),
        options_(options),
        runtimeId_(std::move(runtimeId)),
        logPath_(std::move(logPath)),
        target_(std::move(target)) {}

  ~Follower() { stop(); }

  void start() { thread_ = std::thread([this] { run(); }); }

  // Ships what is left in the file, then ends; aborts after `bound`.
  void drainAndStop(std::chrono::milliseconds bound) {
    std::unique_lock lock(mu_);
    draining_ = true;
    cv_.notify_all();
    if (!cv_.wait_for(lock, bound, [&] { return finished_; }))
      log::warn("awslogs: gave up draining the container log",
                {{"container", runtimeId_}, {"group", target_.group}, {"stream", target_.stream}});
    lock.unlock();
    stop();
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      aborting_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Event {
    std::int64_t timestamp;
    std::string message;
    std::uint64_t endOffset;  // resume here once this event is acknowledged
  };

  bool aborting() {
    std::lock_guard lock(mu_);
    return aborting_;
  }
  bool draining() {
    std::lock_guard lock(mu_);
    return draining_;
  }
  // Sleeps up to `d`; false when the follower is being stopped.
  bool pause(std::chrono::milliseconds d, bool wakeOnDrain) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, d, [&] { return aborting_ || (wakeOnDrain && draining_); });
    return !aborting_;
  }

  void run() {
    committed_ = readOffset();
    readPos_ = committed_;
    carryStart_ = committed_;
    while (!aborting()) {
      if (!fd_.valid()) {
        int fd = ::open(logPath_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
          if (draining()) break;  // nothing was ever written
          pause(options_.pollInterval, true);
          continue;
        }
        fd_ = UniqueFd(fd);
      }
      struct stat st {};
      if (::fstat(fd_.get(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) < readPos_) {
        // Truncated under us (log rotation by truncation): start over.
        log::info("awslogs: container log was truncated; reading it from the start", {{"container", runtimeId_}});
        readPos_ = carryStart_ = committed_ = 0;
        carry_.clear();
        resetPartial();
      }
      buf_.resize(kReadChunk);
      ssize_t n = ::pread(fd_.get(), buf_.data(), buf_.size(), static_cast<off_t>(readPos_));
      if (n > 0) {
        readPos_ += static_cast<std::uint64_t>(n);
        carry_.append(buf_.data(), static_cast<std::size_t>(n));
        if (!consumeLines()) break;
        if (!batch_.empty() && clock_.monotonicNow() - batchStarted_ >= options_.flushInterval && !flush()) break;
        continue;
      }
      // At the end of the file (for now).
      if (draining()) {
        if (havePartial_) emit(partialTs_, partialText_, groupStart_, readPos_ - carry_.size());
        resetPartial();
        if (!carry_.empty()) {  // a last record without '\n'
          std::string last = std::move(carry_);
          carry_.clear();
          handleLine(last, carryStart_, carryStart_ + last.size());
          if (havePartial_) emit(partialTs_, partialText_, groupStart_, carryStart_ + last.size());
        }
        if (!batch_.empty()) flush();
        break;
      }
      if (!batch_.empty() && clock_.monotonicNow() - batchStarted_ >= options_.flushInterval) {
        if (!flush()) break;
        continue;
      }
      pause(options_.pollInterval, true);
    }
    std::lock_guard lock(mu_);
    finished_ = true;
    cv_.notify_all();
  }

  // Handles every complete line in carry_; false when stopping.
  bool consumeLines() {
    std::size_t pos = 0;
    while (true) {
      auto nl = carry_.find('\n', pos);
      if (nl == std::string::npos) break;
      std::string_view line(carry_.data() + pos, nl - pos);
      if (!handleLine(line, carryStart_ + pos, carryStart_ + nl + 1)) return false;
      pos = nl + 1;
    }
    carry_.erase(0, pos);
    carryStart_ += pos;
    if (carry_.size() > kMaxCarry) {  // not conmon's format; ship what we have
      std::string cut = std::move(carry_);
      carry_.clear();
      std::uint64_t start = carryStart_;
      carryStart_ += cut.size();
      return emit(epochMs(clock_), cut, start, carryStart_);
    }
    return true;
  }

  bool handleLine(std::string_view line, std::uint64_t start, std::uint64_t end) {
    auto rec = parseK8sLogLine(line);
    if (!rec) {  // not conmon's format: ship it whole, stamped now
      if (havePartial_ && !emit(partialTs_, partialText_, groupStart_, start)) return false;
      resetPartial();
      return emit(epochMs(clock_), line, start, end);
    }
    if (!havePartial_) {
      groupStart_ = start;
      partialTs_ = rec->timestampMs;
    }
    partialText_.append(rec->text);
    if (rec->partial) {
      havePartial_ = true;
      return true;
    }
    std::string text = std::move(partialText_);
    std::int64_t ts = partialTs_;
    std::uint64_t groupStart = groupStart_;
    resetPartial();
    return emit(ts, text, groupStart, end);
  }

  void resetPartial() {
    havePartial_ = false;
    partialText_.clear();
  }

  // Adds one line as event(s): a line over the event size limit becomes
  // several events; only the last carries the line's end offset, so a crash
  // between them repeats a piece rather than losing one.
  bool emit(std::int64_t ts, std::string_view text, std::uint64_t groupStart, std::uint64_t end) {
    if (text.empty()) return true;  // CloudWatch rejects empty messages (as Docker's driver skips them)
    auto pieces = splitUtf8(sanitizeUtf8(text), kMaxEventBytes - kEventOverhead);
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      if (!add(ts, std::move(pieces[i]), i + 1 == pieces.size() ? end : groupStart)) return false;
    }
    return true;
  }

  bool add(std::int64_t ts, std::string message, std::uint64_t endOffset) {
    // Chronological within a batch (clock steps backwards keep the file's order).
    if (!batch_.empty()) ts = std::max(ts, batch_.back().timestamp);
    std::size_t size = message.size() + kEventOverhead;
    std::size_t jsonSize = jsonEventSize(message);
    if (!batch_.empty() && (batch_.size() >= kMaxBatchEvents || batchBytes_ + size > kMaxBatchBytes ||
                            batchJsonBytes_ + jsonSize > kMaxBatchJsonBytes ||
                            ts - batch_.front().timestamp > kMaxSpanMs)) {
      if (!flush()) return false;
    }
    if (batch_.empty()) batchStarted_ = clock_.monotonicNow();
    batchBytes_ += size;
    batchJsonBytes_ += jsonSize;
    batch_.push_back(Event{ts, std::move(message), endOffset});
    return true;
  }

  // Creates the group (when asked) and the stream; existing ones are fine.
  Status ensureStream() {
    if (streamReady_) return okStatus();
    if (target_.createGroup) {
      auto g = client_.call("CreateLogGroup", {{"logGroupName", target_.group}});
      if (!g.ok() && !isAwsError(g.error(), "ResourceAlreadyExistsException")) return g.takeError();
    }
    auto s = client_.call("CreateLogStream", {{"logGroupName", target_.group}, {"logStreamName", target_.stream}});
    if (!s.ok() && !isAwsError(s.error(), "ResourceAlreadyExistsException")) return s.takeError();
    streamReady_ = true;
    return okStatus();
  }

  // Sends the batch until it is acknowledged; false only when stopping.
  bool flush() {
    auto backoff = options_.initialBackoff;
    bool warned = false;
    while (true) {
      Status sent = ensureStream();
      if (sent.ok()) {
        json events = json::array();
        for (const auto& e : batch_) events.push_back({{"timestamp", e.timestamp}, {"message", e.message}});
        auto r = client_.call("PutLogEvents", {{"logGroupName", target_.group},
                                               {"logStreamName", target_.stream},
                                               {"logEvents", std::move(events)}});
        if (r.ok()) {
          if (r->contains("rejectedLogEventsInfo"))
            log::warn("awslogs: the server rejected some log events (too old or too new)",
                      {{"container", runtimeId_}, {"rejected", (*r)["rejectedLogEventsInfo"]}});
          commit();
          return true;
        }
        sent = r.takeError();
        if (isAwsError(sent.error(), "ResourceNotFoundException")) streamReady_ = false;  // deleted meanwhile
      }
      const Error& e = sent.error();
      bool again = retryable(e) || isAwsError(e, "ResourceNotFoundException");
      if (!again) {
        // A batch the server will never take (e.g. invalid): drop it rather than stall the container's logs.
        log::error("awslogs: dropping a batch the server refused",
                   {{"container", runtimeId_}, {"error", e.message}, {"type", e.context}, {"events", batch_.size()}});
        commit();
        return true;
      }
      if (!warned) {
        log::warn("awslogs: cannot ship logs yet; retrying",
                  {{"container", runtimeId_}, {"group", target_.group}, {"error", e.message}});
        warned = true;
      }
      if (!pause(backoff, false)) return false;
      backoff = std::min(backoff * 2, options_.maxBackoff);
    }
  }

  void commit() {
    committed_ = batch_.back().endOffset;
    writeOffset(committed_);
    batch_.clear();
    batchBytes_ = 0;
    batchJsonBytes_ = 0;
  }

  std::uint64_t readOffset() const {
    UniqueFd fd(::open(awslogsOffsetPath(logPath_).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return 0;
    char buf[32] = {};
    ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
    if (n <= 0) return 0;
    return std::strtoull(buf, nullptr, 10);
  }

  // tmp + fsync + rename: the offset on disk is always one that was acknowledged.
  void writeOffset(std::uint64_t offset) {
    const std::string path = awslogsOffsetPath(logPath_);
    const std::string tmp = path + ".tmp";
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    std::string text = std::to_string(offset) + "\n";
    if (!fd.valid() || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        ::fsync(fd.get()) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
      log::warn("awslogs: cannot record the shipping offset; a restart may ship lines again",
                {{"path", path}, {"error", std::strerror(errno)}});
    }
  }

  LogsClient& client_;
  const Clock& clock_;
  const AwsLogsShipperOptions options_;
  const std::string runtimeId_;
  const std::string logPath_;
  const AwsLogsTarget target_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool draining_ = false;
  bool aborting_ = false;
  bool finished_ = false;
  std::thread thread_;

  // Owned by the follower thread.
  UniqueFd fd_;
  std::string buf_;
  std::uint64_t committed_ = 0;  // acknowledged up to here
  std::uint64_t readPos_ = 0;    // read up to here
  std::string carry_;            // bytes read without their '\n' yet
  std::uint64_t carryStart_ = 0;
  bool havePartial_ = false;
  std::string partialText_;
  std::int64_t partialTs_ = 0;
  std::uint64_t groupStart_ = 0;
  bool streamReady_ = false;
  std::vector<Event> batch_;
  std::size_t batchBytes_ = 0;
  std::size_t batchJsonBytes_ = 0;
  std::chrono::steady_clock::time_point batchStarted_;
};

AwsLogsShipper::AwsLogsShipper(LogsClient& client, const Clock& clock, AwsLogsShipperOptions options)
    : client_(client), clock_(clock), options_(options) {}

AwsLogsShipper::~AwsLogsShipper() {
  std::unordered_map<std::string, std::unique_ptr<Follower>> followers;
  {
    std::lock_guard lock(mu_);
    followers.swap(followers_);
  }
  for (auto& [id, f] : followers) f->stop();
}

Status AwsLogsShipper::attach(const std::string& runtimeId, const std::string& logPath, const AwsLogsTarget& target) {
  if (target.group.empty() || target.stream.empty())
    return Error::make(ErrorCode::kInvalidParameter, "awslogs needs a log group and a log stream", runtimeId);
  std::lock_guard lock(mu_);
  if (followers_.count(runtimeId)) return okStatus();  // already shipping (attach after an agent restart)
  auto f = std::make_unique<Follower>(client_, clock_, options_, runtimeId, logPath, target);
  f->start();
  followers_.emplace(runtimeId, std::move(f));
  return okStatus();
}

void AwsLogsShipper::detach(const std::string& runtimeId) {
  std::unique_ptr<Follower> f;
  {
    std::lock_guard lock(mu_);
    auto it = followers_.find(runtimeId);
    if (it == followers_.end()) return;
    f = std::move(it->second);
    followers_.erase(it);
  }
  f->drainAndStop(options_.drainTimeout);
}

}  // namespace berth::agent
