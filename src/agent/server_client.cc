#include "agent/server_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/socket.h>

#include "api/http_types.h"
#include "api/sigv4.h"

namespace berth::agent {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

struct ServerClient::Connection {
  net::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  bool connected = false;
};

Result<ServerEndpoint> parseServerUrl(const std::string& url) {
  std::string rest = url;
  const std::string scheme = "http://";
  if (rest.rfind(scheme, 0) == 0) rest = rest.substr(scheme.size());
  else if (rest.find("://") != std::string::npos)
    return Error::make(ErrorCode::kInvalidParameter, "only http:// server URLs are supported", url);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return Error::make(ErrorCode::kInvalidParameter, "server URL must be http://HOST:PORT", url);
  ServerEndpoint e;
  e.host = rest.substr(0, colon);
  if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']') e.host = e.host.substr(1, e.host.size() - 2);
  try {
    int port = std::stoi(rest.substr(colon + 1));
    if (port <= 0 || port > 65535) throw std::out_of_range("port");
    e.port = static_cast<std::uint16_t>(port);
  } catch (const std::exception&) {
    return Error::make(ErrorCode::kInvalidParameter, "server URL has an invalid port", url);
  }
  return e;
}

ServerClient::ServerClient(ServerEndpoint endpoint, const Clock& clock) : endpoint_(std::move(endpoint)), clock_(clock) {}
ServerClient::~ServerClient() = default;

std::unique_ptr<ServerClient::Connection> ServerClient::takeConnection() {
  std::lock_guard lock(mu_);
  if (cancelled_) return nullptr;
  std::unique_ptr<Connection> c;
  if (idle_.empty()) {
    c = std::make_unique<Connection>();
  } else {
    c = std::move(idle_.back());
    idle_.pop_back();
  }
  active_.insert(c.get());
  return c;
}

void ServerClient::returnConnection(std::unique_ptr<Connection> c) {
  std::lock_guard lock(mu_);
  active_.erase(c.get());
  if (!cancelled_ && idle_.size() < 8) idle_.push_back(std::move(c));
}

void ServerClient::cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  // shutdown(2) on the raw descriptor wakes a blocked read in another thread;
  // the socket object itself is only ever used by the thread that owns the call.
  for (auto* c : active_) {
    if (c->stream.socket().is_open()) ::shutdown(c->stream.socket().native_handle(), SHUT_RDWR);
  }
  idle_.clear();
}

Result<nlohmann::json> ServerClient::call(std::string_view targetPrefix, std::string_view operation,
                                          const nlohmann::json& body, std::chrono::seconds timeout) {
  api::HttpRequest req;
  req.method = "POST";
  req.target = "/";
  std::string hostHeader = (endpoint_.host.find(':') != std::string::npos ? "[" + endpoint_.host + "]" : endpoint_.host) +
                           ":" + std::to_string(endpoint_.port);
  req.headers = {{"host", hostHeader},
                 {"content-type", "application/x-amz-json-1.1"},
                 {"x-amz-target", std::string(targetPrefix) + "." + std::string(operation)}};
  req.body = body.dump();
  // The SigV4 scope names the service the target belongs to, as AWS requires.
  const std::string_view service = signingNameFor(targetPrefix);
  api::signSigV4(req, endpoint_.credentials, endpoint_.region, service, clock_.now());

  http::request<http::string_body> out{http::verb::post, "/", 11};
  for (const auto& [k, v] : req.headers) out.set(k, v);
  out.keep_alive(true);
  out.body() = req.body;
  out.prepare_payload();

  // A pooled connection may have been closed by the server while idle: retry once on a fresh one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto conn = takeConnection();
    if (!conn) return Error::make(ErrorCode::kUnavailable, "agent is shutting down", std::string(operation));
    // Whatever happens below, the connection leaves the active set.
    struct Release {
      ServerClient* self;
      std::unique_ptr<Connection>* conn;
      bool keep = false;
      ~Release() {
        if (*conn) {
          if (keep) self->returnConnection(std::move(*conn));
          else { std::lock_guard lock(self->mu_); self->active_.erase(conn->get()); }
        }
      }
    } release{this, &conn};
    beast::error_code ec;
    if (!conn->connected) {
      net::ip::tcp::resolver resolver(conn->io);
      auto results = resolver.resolve(endpoint_.host, std::to_string(endpoint_.port), ec);
      if (ec) return Error::make(ErrorCode::kUnavailable, "cannot resolve server: " + ec.message(), endpoint_.host);
      conn->stream.expires_after(std::chrono::seconds(10));
      conn->stream.connect(results, ec);
      if (ec) return Error::make(ErrorCode::kUnavailable, "cannot connect to server: " + ec.message(), hostHeader);
      conn->connected = true;
    }
    conn->stream.expires_after(timeout + std::chrono::seconds(5));
    http::write(conn->stream, out, ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (!ec) http::read(conn->stream, conn->buffer, parser, ec);
    if (ec) {
      if (attempt == 0) continue;  // stale keep-alive connection: reconnect once
      return Error::make(ErrorCode::kUnavailable, "server request failed: " + ec.message(), std::string(operation));
    }
    auto res = parser.release();
    bool keep = res.keep_alive();
    auto doc = nlohmann::json::parse(res.body(), nullptr, false);
    release.keep = keep;
    if (res.result_int() == 200) {
      if (doc.is_discarded()) return Error::make(ErrorCode::kInternal, "server sent invalid JSON", std::string(operation));
      return doc;
    }
    std::string type = doc.is_object() ? doc.value("__type", "") : "";
    std::string message = doc.is_object() ? doc.value("message", res.body()) : res.body();
    ErrorCode code = res.result_int() >= 500 ? ErrorCode::kUnavailable : ErrorCode::kClient;
    if (type == "ClusterNotFoundException") code = ErrorCode::kClusterNotFound;
    return Error::make(code, message, type);
  }
  return Error::make(ErrorCode::kUnavailable, "server request failed", std::string(operation));
}

}  // namespace berth::agent
