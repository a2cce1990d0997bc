#include "api/events_api.h"

#include <atomic>
#include <charconv>
#include <deque>

#include "api/aws_error.h"
#include "api/oci_routes.h"
#include "control/arn.h"

namespace berth::api {
namespace {

using nlohmann::json;

constexpr std::size_t kDefaultLimit = 100;
constexpr std::size_t kMaxLimit = 1000;
// How long one next() of a stream waits for new events before it lets the
// server loop (which checks for shutdown) run again.
constexpr std::chrono::milliseconds kStreamPoll{1000};

std::string clusterOfEvent(const json& event) {
  const json& detail = event.value("detail", json::object());
  if (detail.is_object() && detail.contains("clusterArn") && detail["clusterArn"].is_string())
    return detail["clusterArn"].get<std::string>();
  // Deployment state changes carry only the service ARN: .../service/<cluster>/<name>.
  for (const auto& r : event.value("resources", json::array())) {
    if (!r.is_string()) continue;
    auto arn = control::parseArn(r.get<std::string>());
    if (!arn || arn->resourceType != "service") continue;
    auto slash = arn->resource.find('/');
    if (slash == std::string::npos) continue;
    return "arn:" + arn->partition + ":ecs:" + arn->region + ":" + arn->account + ":cluster/" +
           arn->resource.substr(0, slash);
  }
  return "";
}

HttpResponse invalid(const std::string& message, const std::string& requestId) {
  return jsonErrorResponse({"InvalidParameterException", 400, message}, requestId);
}

std::optional<std::int64_t> parseCount(const std::string& s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

struct Query {
  std::int64_t since = 0;
  std::size_t limit = kDefaultLimit;
  events::EventFilter filter;
};

// Parses and checks the query; an error response when something is wrong.
std::optional<HttpResponse> parseQuery(const HttpRequest& request, const control::AccountInfo& account,
                                       bool stream, std::int64_t latest, const std::string& requestId, Query& out) {
  for (const auto& [key, value] : distribution::parseQuery(request.query())) {
    if (key == "since") {
      // "latest": only events committed from now on (what a follower that
      // doesn't want history asks for).
      auto v = value == "latest" ? std::optional<std::int64_t>(latest) : parseCount(value);
      if (!v) return invalid("since must be a non-negative integer (an event sequence number) or 'latest'.", requestId);
      out.since = *v;
    } else if (key == "limit" && !stream) {
      auto v = parseCount(value);
      if (!v || *v < 1 || *v > static_cast<std::int64_t>(kMaxLimit))
        return invalid("limit must be an integer between 1 and 1000.", requestId);
      out.limit = static_cast<std::size_t>(*v);
    } else if (key == "detailType") {
      if (value.empty()) return invalid("detailType must not be empty.", requestId);
      out.filter.detailType = value;
    } else if (key == "cluster") {
      auto name = control::clusterNameFromRef(value, account);
      if (value.empty() || !name) return invalid("cluster must be a cluster name or a cluster ARN of this account and region.", requestId);
      out.filter.clusterArn = control::clusterArn(account, *name);
    } else {
      return invalid("Unknown parameter '" + key + "'. Accepted: since, " + (stream ? "" : "limit, ") +
                         "detailType, cluster.",
                     requestId);
    }
  }
  if (stream) {
    if (const auto* last = request.header("last-event-id"); last && !last->empty()) {
      auto v = parseCount(*last);
      if (!v) return invalid("Last-Event-ID must be an event sequence number.", requestId);
      out.since = *v;
    }
  }
  return std::nullopt;
}

// Pulls matching events from the log as they are committed.
class SseSource final : public EventStreamSource {
 public:
  SseSource(events::EventLog& log, events::EventFilter filter, std::int64_t since, std::chrono::milliseconds keepalive)
      : log_(log), filter_(std::move(filter)), after_(since), keepalive_(keepalive),
        lastWrite_(std::chrono::steady_clock::now()) {}

  std::optional<std::string> next() override {
    if (cancelled_.load()) return std::nullopt;
    if (pending_.empty()) {
      auto page = log_.read(after_, 100, filter_);
      if (!page.ok()) return std::nullopt;  // the log closed: the server is stopping
      after_ = page->nextAfter;
      for (auto& e : page->events) pending_.push_back(std::move(e));
    }
    if (pending_.empty()) {
      if (std::chrono::steady_clock::now() - lastWrite_ >= keepalive_) {
        lastWrite_ = std::chrono::steady_clock::now();
        return std::string(": keepalive\n\n");
      }
      log_.waitForEvents(after_, std::min(kStreamPoll, keepalive_), &cancelled_);
      if (cancelled_.load()) return std::nullopt;
      return std::string();
    }
    // Several events per chunk when a burst is queued.
    std::string out;
    while (!pending_.empty() && out.size() < 64 * 1024) {
      out += sseFrame(pending_.front());
      pending_.pop_front();
    }
    lastWrite_ = std::chrono::steady_clock::now();
    return out;
  }

  void cancel() override {
    cancelled_.store(true);
    log_.wakeWaiters();
  }

 private:
  events::EventLog& log_;
  const events::EventFilter filter_;
  std::int64_t after_;
  const std::chrono::milliseconds keepalive_;
  std::chrono::steady_clock::time_point lastWrite_;
  std::deque<events::StoredEvent> pending_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

void EventLogSink::publish(json event) {
  events::NewEvent e;
  e.detailType = event.value("detail-type", "");
  e.clusterArn = clusterOfEvent(event);
  e.json = event.dump();  // one line: SSE data and JSON lines need no escaping of newlines
  log_.publish(std::move(e));
}

std::string sseFrame(const events::StoredEvent& event) {
  std::string out;
  out.reserve(event.json.size() + event.detailType.size() + 40);
  out.append("id: ").append(std::to_string(event.sequence)).append("\nevent: ").append(event.detailType);
  out.append("\ndata: ").append(event.json).append("\n\n");
  return out;
}

HttpResponse EventsApi::handle(const HttpRequest& request, const std::string& requestId) const {
  const bool stream = request.path() == "/berth/events/stream";
  if (request.method != "GET")
    return jsonErrorResponse({"InvalidParameterException", 405, "Use GET on " + std::string(request.path()) + "."},
                             requestId);
  Query q;
  if (auto bad = parseQuery(request, account_, stream, log_.committedSequence(), requestId, q)) return std::move(*bad);
  HttpResponse r;
  r.setHeader("x-amzn-RequestId", requestId);
  if (stream) {
    r.eventStream = std::make_shared<SseSource>(log_, q.filter, q.since, keepalive_);
    return r;
  }
  auto page = log_.read(q.since, q.limit, q.filter);
  if (!page.ok()) return jsonErrorResponse({"ServerException", 500, page.error().message}, requestId);
  std::string body = "{\"events\":[";
  for (std::size_t i = 0; i < page->events.size(); ++i) {
    if (i) body += ',';
    body += page->events[i].json;  // stored as JSON text: spliced, not re-parsed
  }
  body += "],\"nextSince\":" + std::to_string(page->nextAfter) + "}";
  r.setHeader("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

}  // namespace berth::api
