#include "images/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <cctype>
#include <limits>

namespace berth::images {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Error transportError(const std::string& what, const Url& url, const boost::system::error_code& ec) {
  bool timeout = ec == beast::error::timeout || ec == net::error::timed_out;
  return Error::make(timeout ? ErrorCode::kUnavailable : ErrorCode::kIo,
                     what + " " + url.hostPort() + (timeout ? std::string(": timed out") : ": " + ec.message()),
                     url.str());
}

// Starts one async operation and runs the io_context until it completes. Each
// operation's timeout comes from beast::tcp_stream::expires_after, so this is a
// synchronous call with a deadline.
template <class Start>
boost::system::error_code runOp(net::io_context& ioc, Start&& start) {
  boost::system::error_code out = net::error::operation_aborted;
  start([&out](boost::system::error_code ec, auto&&...) { out = ec; });
  ioc.restart();
  ioc.run();
  return out;
}

template <class Stream>
Result<HttpResponse> exchange(net::io_context& ioc, Stream& stream, beast::tcp_stream& tcpLayer,
                              const HttpRequest& r, const BodySink* sink, const HttpClientOptions& o) {
  http::verb verb = http::string_to_verb(r.method);
  if (verb == http::verb::unknown) {
    return Error::make(ErrorCode::kInvalidParameter, "unknown HTTP method " + r.method);
  }
  http::request<http::string_body> req{verb, r.url.target, 11};
  req.set(http::field::host, r.url.hostPort());
  req.set(http::field::user_agent, o.userAgent);
  req.set(http::field::connection, "close");
  for (const auto& [k, v] : r.headers) req.set(k, v);
  if (!r.body.empty() || verb == http::verb::put || verb == http::verb::post || verb == http::verb::patch) {
    req.body() = r.body;
    req.prepare_payload();
  }
  tcpLayer.expires_after(o.ioTimeout);
  auto ec = runOp(ioc, [&](auto h) { http::async_write(stream, req, std::move(h)); });
  if (ec) return transportError("cannot send request to", r.url, ec);

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  // Enforced below, per destination. (Not boost::none: Beast 1.74 compares
  // len > optional and treats an empty optional as a limit of zero.)
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.header_limit(64 * 1024);
  if (verb == http::verb::head) parser.skip(true);
  tcpLayer.expires_after(o.ioTimeout);
  ec = runOp(ioc, [&](auto h) { http::async_read_header(stream, buffer, parser, std::move(h)); });
  if (ec) return transportError("cannot read response from", r.url, ec);

  HttpResponse resp;
  resp.status = static_cast<int>(parser.get().result_int());
  for (const auto& f : parser.get()) {
    resp.headers.emplace_back(lower(std::string_view(f.name_string().data(), f.name_string().size())),
                              std::string(f.value()));
  }
  const bool toSink = sink != nullptr && resp.status / 100 == 2;
  std::vector<char> buf(64 * 1024);
  while (!parser.is_done()) {
    parser.get().body().data = buf.data();
    parser.get().body().size = buf.size();
    tcpLayer.expires_after(o.ioTimeout);
    ec = runOp(ioc, [&](auto h) { http::async_read(stream, buffer, parser, std::move(h)); });
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return transportError("cannot read response body from", r.url, ec);
    std::size_t n = buf.size() - parser.get().body().size;
    if (n == 0) continue;
    if (toSink) {
      auto st = (*sink)(std::string_view(buf.data(), n));
      if (!st.ok()) return st.takeError();
    } else {
      if (resp.body.size() + n > r.maxBodyBytes) {
        return Error::make(ErrorCode::kPayloadTooLarge,
                           "response from " + r.url.str() + " is larger than " + std::to_string(r.maxBodyBytes) +
                               " bytes",
                           r.url.str());
      }
      resp.body.append(buf.data(), n);
    }
  }
  boost::system::error_code ignored;
  tcpLayer.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return resp;
}

bool isIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

Result<Url> Url::parse(std::string_view text) {
  Url u;
  auto sep = text.find("://");
  if (sep == std::string_view::npos) return Error::make(ErrorCode::kInvalidParameter, "URL has no scheme", std::string(text));
  u.scheme = lower(text.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https") {
    return Error::make(ErrorCode::kInvalidParameter, "unsupported URL scheme '" + u.scheme + "'", std::string(text));
  }
  std::string_view rest = text.substr(sep + 3);
  auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!u.target.empty() && u.target[0] == '?') u.target = "/" + u.target;
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);  // userinfo ignored
  if (authority.empty()) return Error::make(ErrorCode::kInvalidParameter, "URL has no host", std::string(text));
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return Error::make(ErrorCode::kInvalidParameter, "bad IPv6 host", std::string(text));
    u.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty() && after.front() == ':') u.port = std::string(after.substr(1));
  } else {
    auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      u.host = std::string(authority.substr(0, colon));
      u.port = std::string(authority.substr(colon + 1));
    } else {
      u.host = std::string(authority);
    }
  }
  if (u.port.empty()) u.port = u.scheme == "https" ? "443" : "80";
  for (char c : u.port) {
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      return Error::make(ErrorCode::kInvalidParameter, "bad port in URL", std::string(text));
    }
  }
  if (u.host.empty()) return Error::make(ErrorCode::kInvalidParameter, "URL has no host", std::string(text));
  return u;
}

Result<Url> Url::resolve(std::string_view location) const {
  if (location.find("://") != std::string_view::npos) return Url::parse(location);
  if (location.starts_with("//")) return Url::parse(scheme + ":" + std::string(location));
  Url u = *this;
  if (location.starts_with("/")) {
    u.target = std::string(location);
  } else {
    // Relative path: replace the last segment of the current path.
    std::string path = target.substr(0, target.find('?'));
    u.target = path.substr(0, path.rfind('/') + 1) + std::string(location);
  }
  return u;
}

std::string Url::hostPort() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + port;
}

std::string Url::str() const { return scheme + "://" + hostPort() + target; }

std::string urlEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

class HttpClient::Impl {
 public:
  explicit Impl(HttpClientOptions o) : opts(std::move(o)), ctx(ssl::context::tls_client) {
    boost::system::error_code ec;
    ctx.set_default_verify_paths(ec);
    if (!opts.caFile.empty()) {
      ctx.load_verify_file(opts.caFile, ec);
      if (ec) caError = "cannot load CA file " + opts.caFile + ": " + ec.message();
    }
  }
  HttpClientOptions opts;
  ssl::context ctx;
  std::string caError;
};

HttpClient::HttpClient(HttpClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpClient::~HttpClient() = default;

Result<HttpResponse> HttpClient::send(const HttpRequest& r, const BodySink* sink) {
  const auto& o = impl_->opts;
  net::io_context ioc;
  // Resolve (bounded by connectTimeout: resolver has no expiry of its own).
  tcp::resolver resolver(ioc);
  tcp::resolver::results_type endpoints;
  boost::system::error_code ec = net::error::would_block;
  resolver.async_resolve(r.url.host, r.url.port, [&](boost::system::error_code e, tcp::resolver::results_type res) {
    ec = e;
    endpoints = std::move(res);
  });
  ioc.run_for(o.connectTimeout);
  if (ec == net::error::would_block) {
    resolver.cancel();
    ioc.restart();
    ioc.run();
    return Error::make(ErrorCode::kUnavailable, "resolving " + r.url.host + " timed out", r.url.str());
  }
  if (ec) return transportError("cannot resolve", r.url, ec);

  try {
    if (r.url.scheme == "https") {
      if (!impl_->caError.empty()) return Error::make(ErrorCode::kInvalidParameter, impl_->caError);
      beast::ssl_stream<beast::tcp_stream> stream(ioc, impl_->ctx);
      auto& lowest = beast::get_lowest_layer(stream);
      if (!isIpLiteral(r.url.host) && !SSL_set_tlsext_host_name(stream.native_handle(), r.url.host.c_str())) {
        return Error::make(ErrorCode::kIo, "cannot set TLS SNI for " + r.url.host);
      }
      if (o.verifyTls) {
        stream.set_verify_mode(ssl::verify_peer);
        stream.set_verify_callback(ssl::host_name_verification(r.url.host));
      } else {
        stream.set_verify_mode(ssl::verify_none);
      }
      lowest.expires_after(o.connectTimeout);
      ec = runOp(ioc, [&](auto h) { lowest.async_connect(endpoints, std::move(h)); });
      if (ec) return transportError("cannot connect to", r.url, ec);
      lowest.expires_after(o.connectTimeout);
      ec = runOp(ioc, [&](auto h) { stream.async_handshake(ssl::stream_base::client, std::move(h)); });
      if (ec) return transportError("TLS handshake failed with", r.url, ec);
      return exchange(ioc, stream, lowest, r, sink, o);
    }
    beast::tcp_stream stream(ioc);
    stream.expires_after(o.connectTimeout);
    ec = runOp(ioc, [&](auto h) { stream.async_connect(endpoints, std::move(h)); });
    if (ec) return transportError("cannot connect to", r.url, ec);
    return exchange(ioc, stream, stream, r, sink, o);
  } catch (const std::exception& e) {
    // Beast/Asio report some failures (e.g. allocation, bad header values) by throwing.
    return Error::make(ErrorCode::kIo, std::string("HTTP request to ") + r.url.str() + " failed: " + e.what(),
                       r.url.str());
  }
}

}  // namespace berth::images
