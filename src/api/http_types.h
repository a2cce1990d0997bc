#pragma once
// Transport-neutral HTTP request/response used between the HTTP server and the
// protocol handlers (JSON 1.1, later Query and OCI). Header names are lowercased.
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::api {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;         // "GET", "POST", ...
  std::string target;         // raw request-target: path plus optional "?query", as received
  HeaderList headers;         // lowercased names, values as received, in arrival order
  std::string body;
  std::string remoteAddress;  // "ip:port" of the peer

  // First header with this (lowercase) name, or nullptr.
  const std::string* header(std::string_view lowerName) const {
    for (const auto& [k, v] : headers)
      if (k == lowerName) return &v;
    return nullptr;
  }
  std::string_view path() const {
    auto q = target.find('?');
    return std::string_view(target).substr(0, q);
  }
  std::string_view query() const {
    auto q = target.find('?');
    return q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1);
  }
};

struct HttpResponse {
  int status = 200;
  HeaderList headers;  // Content-Length is set by the server
  std::string body;

  void setHeader(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
};

// Handlers may block (e.g. waiting for a durable write); the server runs them on
// worker threads, never on the I/O threads.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

}  // namespace berth::api
