#include "cmd/events_command.h"

#include <sys/socket.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "agent/server_client.h"
#include "api/credentials.h"
#include "api/oci_routes.h"
#include "api/sigv4.h"
#include "cmd/agent_command.h"
#include "cmd/process_setup.h"
#include "common/clock.h"

namespace berth::cmd {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// Set by the signal thread; the socket it shuts down wakes the blocked read.
std::atomic<bool> gStop{false};
std::atomic<int> gSocket{-1};

std::string envOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

Result<api::AwsCredentials> credentialsFor(const EventsConfig& config) {
  if (!config.dataDir.empty()) {
    auto path = std::filesystem::path(config.dataDir) / "credentials";
    std::ifstream in(path);
    if (!in) return Error::make(ErrorCode::kIo, "cannot read " + path.string() + " (is --data-dir the server's?)");
    std::stringstream text;
    text << in.rdbuf();
    return api::parseSharedCredentials(text.str());
  }
  return agentCredentialsFromEnv();
}

std::string queryString(const EventsConfig& config, const std::string& since, bool withLimit) {
  std::string q = "since=" + api::distribution::percentEncode(since);
  if (withLimit) q += "&limit=1000";
  if (!config.detailType.empty()) q += "&detailType=" + api::distribution::percentEncode(config.detailType);
  if (!config.cluster.empty()) q += "&cluster=" + api::distribution::percentEncode(config.cluster);
  return q;
}

struct Client {
  agent::ServerEndpoint endpoint;
  SystemClock clock;

  // GETs `target` (signed) and hands body bytes to `onBody` as they arrive.
  // Returns the HTTP status; transport failures are kUnavailable.
  Result<int> get(const std::string& target, const std::string& lastEventId,
                  const std::function<void(std::string_view)>& onBody) {
    net::io_context io;
    tcp::socket socket(io);
    beast::error_code ec;
    tcp::resolver resolver(io);
    auto results = resolver.resolve(endpoint.host, std::to_string(endpoint.port), ec);
    if (ec) return Error::make(ErrorCode::kUnavailable, "cannot resolve " + endpoint.host + ": " + ec.message());
    net::connect(socket, results, ec);
    if (ec) return Error::make(ErrorCode::kUnavailable, "cannot connect to the server: " + ec.message());
    gSocket.store(socket.native_handle());
    struct Forget {
      ~Forget() { gSocket.store(-1); }
    } forget;
    if (gStop.load()) return 0;

    api::HttpRequest signedReq;
    signedReq.method = "GET";
    signedReq.target = target;
    const bool v6 = endpoint.host.find(':') != std::string::npos;
    signedReq.headers.emplace_back("host", (v6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" +
                                               std::to_string(endpoint.port));
    if (!lastEventId.empty()) signedReq.headers.emplace_back("last-event-id", lastEventId);
    api::signSigV4(signedReq, endpoint.credentials, endpoint.region, "ecs", clock.now());
    http::request<http::empty_body> req{http::verb::get, target, 11};
    for (const auto& [k, v] : signedReq.headers) req.set(k, v);
    http::write(socket, req, ec);
    if (ec) return Error::make(ErrorCode::kUnavailable, "sending the request failed: " + ec.message());

    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    // Not boost::none: this Beast compares the length against the optional, and anything > none.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    http::read_header(socket, buffer, parser, ec);
    if (ec) return Error::make(ErrorCode::kUnavailable, "reading the response failed: " + ec.message());
    const int status = static_cast<int>(parser.get().result_int());
    char chunk[16384];
    while (!parser.is_done()) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof chunk;
      // read_some: hand over each piece as it arrives (read would wait to fill the buffer).
      http::read_some(socket, buffer, parser, ec);
      if (ec == http::error::need_buffer) ec = {};
      const std::size_t n = sizeof chunk - parser.get().body().size;
      if (n) onBody(std::string_view(chunk, n));
      if (ec) {
        if (gStop.load()) return status;
        return Error::make(ErrorCode::kUnavailable, "the connection ended: " + ec.message());
      }
    }
    return status;
  }
};

// Splits an SSE byte stream into events; prints each event's data line.
class SseReader {
 public:
  void feed(std::string_view bytes) {
    pending_.append(bytes);
    std::size_t nl;
    while ((nl = pending_.find('\n')) != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) {
        if (!data_.empty()) std::cout << data_ << '\n' << std::flush;
        if (!id_.empty()) lastId = id_;
        data_.clear();
        id_.clear();
      } else if (line.rfind("data: ", 0) == 0) {
        data_ += line.substr(6);
      } else if (line.rfind("id: ", 0) == 0) {
        id_ = line.substr(4);
      }  // "event:" and ": keepalive" comments need nothing
    }
  }
  std::string lastId;

 private:
  std::string pending_, data_, id_;
};

int reportError(const std::string& what, int status, const std::string& body) {
  std::string message = body;
  try {
    auto j = nlohmann::json::parse(body);
    message = j.value("__type", "") + ": " + j.value("message", "");
  } catch (const std::exception&) {
  }
  std::cerr << "berth events: " << what << " failed (HTTP " << status << "): " << message << "\n";
  return 1;
}

int listOnce(Client& client, const EventsConfig& config) {
  std::string since = config.since.empty() ? "0" : config.since;
  for (;;) {
    std::string body;
    auto status = client.get("/berth/events?" + queryString(config, since, true), "",
                             [&](std::string_view b) { body.append(b); });
    if (!status.ok()) {
      std::cerr << "berth events: " << status.error().message << "\n";
      return 1;
    }
    if (*status != 200) return reportError("GET /berth/events", *status, body);
    auto page = nlohmann::json::parse(body, nullptr, false);
    if (page.is_discarded()) {
      std::cerr << "berth events: the server's answer is not JSON\n";
      return 1;
    }
    for (const auto& e : page["events"]) std::cout << e.dump() << '\n';
    std::cout << std::flush;
    if (page["events"].empty()) return 0;
    since = std::to_string(page.value("nextSince", std::int64_t{0}));
  }
}

int follow(Client& client, const EventsConfig& config) {
  sigset_t signals = blockShutdownSignals();
  std::thread([signals]() mutable {
    int sig = 0;
    sigwait(&signals, &sig);
    gStop.store(true);
    int fd = gSocket.load();
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }).detach();

  SseReader reader;
  std::string since = config.since.empty() ? "latest" : config.since;
  bool reported = false;
  while (!gStop.load()) {
    std::string errorBody;  // the start of the body, for an error answer
    auto status = client.get("/berth/events/stream?" + queryString(config, since, false), reader.lastId,
                             [&](std::string_view b) {
                               if (errorBody.size() < 4096) errorBody.append(b.substr(0, 4096 - errorBody.size()));
                               reader.feed(b);
                             });
    if (gStop.load()) break;
    if (status.ok() && *status != 200) return reportError("GET /berth/events/stream", *status, errorBody);
    if (!status.ok() && !reported) {
      std::cerr << "berth events: " << status.error().message << "; reconnecting\n";
      reported = true;
    }
    // Resume where the stream left off (Last-Event-ID wins over since).
    if (!reader.lastId.empty()) since = reader.lastId;
    for (int i = 0; i < 10 && !gStop.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return 0;
}

}  // namespace

int runEvents(const EventsConfig& config) {
  auto endpoint = agent::parseServerUrl(config.server);
  if (!endpoint.ok()) {
    std::cerr << "berth events: " << endpoint.error().message << "\n";
    return 2;
  }
  auto creds = credentialsFor(config);
  if (!creds.ok()) {
    std::cerr << "berth events: " << creds.error().message << "\n";
    return 2;
  }
  endpoint->credentials = *creds;
  endpoint->region = !config.region.empty() ? config.region : envOr("AWS_REGION", envOr("AWS_DEFAULT_REGION", "us-east-1"));
  Client client{*endpoint, {}};
  return config.follow ? follow(client, config) : listOnce(client, config);
}

}  // namespace berth::cmd
