// api_load: closed-loop HTTP load generator for the Berth API.
//
//   api_load --endpoint http://127.0.0.1:PORT --op describe|register|list
//            --connections N [--threads T] --seconds S
//            --access-key K --secret-key S [--region R]
//   api_load --null-server --connections N [--threads T] --seconds S
//
// N keep-alive connections, each with one request in flight at a time
// (closed loop), driven by T threads running one asio io_context. Every
// request is SigV4-signed with api::signSigV4 just before it is sent, as a
// real client would; the signing time is part of the measured latency and is
// also reported on its own (sign_us_mean).
//
// Ops:
//   describe  registers one task definition (family bench-describe), then
//             DescribeTaskDefinition's it: a read served from the state cache.
//   register  RegisterTaskDefinition of a new revision per request: a durable
//             write (store txn + fsync, group commit across connections). By
//             default each connection owns a family (bench-register-<i>) so
//             concurrent writers don't conflict on one family's revision
//             counter; --shared-family makes them all register one family.
//   list      ListTaskDefinitions (familyPrefix bench-describe, one page).
//
// --null-server starts, in this process, the same api::HttpServer (same
// default I/O and worker thread counts as `berth server`) with a handler that
// returns a fixed small 200 JSON body without auth or parsing, and loads it
// with unsigned requests: the transport's ceiling on this machine.
//
// Prints one JSON object: requests, errors, req_per_s, latency_us
// {p50,p90,p99,max}, sign_us_mean. Traffic goes only to the given endpoint,
// which must be a loopback address.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>  // before Boost.Asio 1.74: its awaitable.hpp uses std::exchange without including it
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "api/credentials.h"
#include "api/http_server.h"
#include "api/sigv4.h"
#include "common/log.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using berth::api::AwsCredentials;
using berth::api::HttpRequest;

constexpr const char* kTargetPrefix = "AmazonEC2ContainerServiceV20141113.";

struct Options {
  std::string host = "127.0.0.1";
  std::string port;
  std::string op = "describe";
  int connections = 1;
  int threads = 0;  // 0 = min(connections, 2)
  double seconds = 10;
  AwsCredentials creds;
  std::string region = "us-east-1";
  bool nullServer = false;
  bool sharedFamily = false;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "api_load: %s\n"
               "usage: api_load --endpoint http://127.0.0.1:PORT --op describe|register|list --connections N\n"
               "                [--threads T] --seconds S --access-key K --secret-key S [--region R] [--shared-family]\n"
               "       api_load --null-server --connections N [--threads T] --seconds S\n",
               why.c_str());
  std::exit(2);
}

Options parseArgs(int argc, char** argv) {
  Options o;
  std::string endpoint;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value for " + a);
      return argv[++i];
    };
    try {
      if (a == "--endpoint") endpoint = value();
      else if (a == "--op") o.op = value();
      else if (a == "--connections") o.connections = std::stoi(value());
      else if (a == "--threads") o.threads = std::stoi(value());
      else if (a == "--seconds") o.seconds = std::stod(value());
      else if (a == "--access-key") o.creds.accessKeyId = value();
      else if (a == "--secret-key") o.creds.secretAccessKey = value();
      else if (a == "--region") o.region = value();
      else if (a == "--null-server") o.nullServer = true;
      else if (a == "--shared-family") o.sharedFamily = true;
      else usage("unknown argument " + a);
    } catch (const std::exception&) {
      usage("bad value for " + a);
    }
  }
  if (o.connections < 1 || o.connections > 4096) usage("--connections must be 1..4096");
  if (o.seconds <= 0 || o.seconds > 600) usage("--seconds must be in (0, 600]");
  if (o.threads == 0) o.threads = std::min(o.connections, 2);
  if (o.threads < 1 || o.threads > 256) usage("--threads must be 1..256");
  if (o.nullServer) return o;
  if (o.op != "describe" && o.op != "register" && o.op != "list") usage("--op must be describe, register or list");
  if (o.creds.accessKeyId.empty() || o.creds.secretAccessKey.empty()) usage("--access-key and --secret-key are required");
  const std::string scheme = "http://";
  if (endpoint.rfind(scheme, 0) != 0) usage("--endpoint must be http://HOST:PORT");
  std::string hostPort = endpoint.substr(scheme.size());
  if (auto slash = hostPort.find('/'); slash != std::string::npos) hostPort.resize(slash);
  auto colon = hostPort.rfind(':');
  if (colon == std::string::npos) usage("--endpoint needs a port");
  o.host = hostPort.substr(0, colon);
  o.port = hostPort.substr(colon + 1);
  // Load goes to this machine only.
  if (o.host != "127.0.0.1" && o.host != "localhost" && o.host.rfind("127.", 0) != 0)
    usage("--endpoint must be a loopback address (127.0.0.0/8 or localhost)");
  return o;
}

// What one connection sends next.
struct RequestSource {
  std::string target;                        // X-Amz-Target (empty for the null server)
  std::function<std::string()> body;         // called once per request
};

std::string taskDefinitionBody(const std::string& family) {
  nlohmann::json td = {
      {"family", family},
      {"containerDefinitions",
       {{{"name", "app"},
         {"image", "public.ecr.aws/docker/library/busybox:1.36"},
         {"memory", 128},
         {"cpu", 64},
         {"essential", true},
         {"command", {"sh", "-c", "sleep 3600"}},
         {"environment", {{{"name", "MODE"}, {"value", "bench"}}}},
         {"portMappings", {{{"containerPort", 8080}, {"protocol", "tcp"}}}}}}},
  };
  return td.dump();
}

RequestSource sourceFor(const Options& o, int connection) {
  if (o.nullServer) return {"", [] { return std::string("{}"); }};
  if (o.op == "describe") {
    std::string body = R"({"taskDefinition":"bench-describe"})";
    return {std::string(kTargetPrefix) + "DescribeTaskDefinition", [body] { return body; }};
  }
  if (o.op == "list") {
    std::string body = R"({"familyPrefix":"bench-describe","maxResults":10})";
    return {std::string(kTargetPrefix) + "ListTaskDefinitions", [body] { return body; }};
  }
  std::string body =
      taskDefinitionBody(o.sharedFamily ? std::string("bench-register") : "bench-register-" + std::to_string(connection));
  return {std::string(kTargetPrefix) + "RegisterTaskDefinition", [body] { return body; }};
}

struct Stats {
  std::vector<std::uint32_t> latencyUs;
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  std::uint64_t signNs = 0;
  std::uint64_t signed_ = 0;
  std::string firstError;
};

// One keep-alive connection running requests back to back until the deadline.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& io, const Options& o, tcp::resolver::results_type endpoints, RequestSource source,
             Clock::time_point measureFrom, Clock::time_point deadline)
      : o_(o),
        strand_(asio::make_strand(io)),
        socket_(strand_),
        endpoints_(std::move(endpoints)),
        source_(std::move(source)),
        measureFrom_(measureFrom),
        deadline_(deadline),
        hostHeader_(o.host + ":" + o.port) {}

  void start() { connect(); }
  Stats& stats() { return stats_; }

 private:
  void connect() {
    auto self = shared_from_this();
    asio::async_connect(socket_, endpoints_, [self](beast::error_code ec, const tcp::endpoint&) {
      if (ec) return self->fail("connect: " + ec.message(), /*reconnect=*/false);
      self->socket_.set_option(tcp::no_delay(true));
      self->send();
    });
  }

  void send() {
    if (Clock::now() >= deadline_) {
      beast::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    started_ = Clock::now();
    req_ = {};
    req_.version(11);
    req_.method(http::verb::post);
    req_.target("/");
    req_.keep_alive(true);
    std::string body = source_.body();
    if (!source_.target.empty()) {
      // Sign exactly what goes on the wire: the headers below plus the body.
      HttpRequest signing;
      signing.method = "POST";
      signing.target = "/";
      signing.headers = {{"host", hostHeader_},
                         {"content-type", "application/x-amz-json-1.1"},
                         {"x-amz-target", source_.target}};
      signing.body = body;
      auto t0 = Clock::now();
      berth::api::signSigV4(signing, o_.creds, o_.region, "ecs", std::chrono::system_clock::now());
      stats_.signNs += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
      ++stats_.signed_;
      for (const auto& [k, v] : signing.headers) req_.set(k, v);
    } else {
      req_.set(http::field::host, hostHeader_);
      req_.set(http::field::content_type, "application/json");
    }
    req_.body() = std::move(body);
    req_.prepare_payload();
    auto self = shared_from_this();
    http::async_write(socket_, req_, [self](beast::error_code ec, std::size_t) {
      if (ec) return self->fail("write: " + ec.message(), true);
      self->receive();
    });
  }

  void receive() {
    res_ = {};
    buffer_.consume(buffer_.size());
    auto self = shared_from_this();
    http::async_read(socket_, buffer_, res_, [self](beast::error_code ec, std::size_t) {
      if (ec) return self->fail("read: " + ec.message(), true);
      self->record(self->res_.result_int() == 200);
      if (self->res_.result_int() != 200 && self->stats_.firstError.empty())
        self->stats_.firstError = std::to_string(self->res_.result_int()) + " " + self->res_.body().substr(0, 300);
      if (!self->res_.keep_alive()) return self->reconnect();
      self->send();
    });
  }

  void record(bool ok) {
    auto done = Clock::now();
    if (started_ < measureFrom_ || done > deadline_) return;  // warm-up or past the end: not counted
    ++stats_.requests;
    if (!ok) ++stats_.errors;
    stats_.latencyUs.push_back(
        static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(done - started_).count()));
  }

  void fail(const std::string& what, bool reconnectAfter) {
    if (Clock::now() >= deadline_) return;  // the server may close connections at the end
    record(false);
    if (stats_.firstError.empty()) stats_.firstError = what;
    if (reconnectAfter) reconnect();
  }

  void reconnect() {
    beast::error_code ignored;
    socket_.close(ignored);
    socket_ = tcp::socket(strand_);
    buffer_.clear();
    connect();
  }

  const Options& o_;
  asio::strand<asio::io_context::executor_type> strand_;
  tcp::socket socket_;
  tcp::resolver::results_type endpoints_;
  RequestSource source_;
  Clock::time_point measureFrom_, deadline_, started_;
  std::string hostHeader_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  Stats stats_;
};

// One synchronous signed request (setup). Returns status and body.
std::pair<int, std::string> callOnce(const Options& o, const std::string& op, const std::string& body) {
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  stream.connect(resolver.resolve(o.host, o.port));
  HttpRequest signing;
  signing.method = "POST";
  signing.target = "/";
  signing.headers = {{"host", o.host + ":" + o.port},
                     {"content-type", "application/x-amz-json-1.1"},
                     {"x-amz-target", std::string(kTargetPrefix) + op}};
  signing.body = body;
  berth::api::signSigV4(signing, o.creds, o.region, "ecs", std::chrono::system_clock::now());
  http::request<http::string_body> req{http::verb::post, "/", 11};
  for (const auto& [k, v] : signing.headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return {res.result_int(), res.body()};
}

std::uint32_t percentile(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto idx = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(idx, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parseArgs(argc, argv);
  berth::log::setLevel(berth::log::Level::kWarn);  // keep the null server's info lines off stderr

  std::unique_ptr<berth::api::HttpServer> nullServer;
  if (o.nullServer) {
    berth::api::HttpServerOptions so;  // same defaults as `berth server` (2 I/O threads, 32 workers)
    so.workerThreads = 32;
    auto started = berth::api::HttpServer::start(so, [](const HttpRequest&) {
      berth::api::HttpResponse r;
      r.setHeader("Content-Type", "application/x-amz-json-1.1");
      r.setHeader("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000");
      r.body = R"({"ok":true})";
      return r;
    });
    if (!started.ok()) {
      std::fprintf(stderr, "api_load: null server: %s\n", started.error().message.c_str());
      return 1;
    }
    nullServer = std::move(started).value();
    o.host = "127.0.0.1";
    o.port = std::to_string(nullServer->port());
  } else if (o.op == "describe" || o.op == "list") {
    try {
      auto [status, body] = callOnce(o, "RegisterTaskDefinition", taskDefinitionBody("bench-describe"));
      if (status != 200) {
        std::fprintf(stderr, "api_load: setup RegisterTaskDefinition failed: %d %s\n", status, body.c_str());
        return 1;
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "api_load: cannot reach %s:%s: %s\n", o.host.c_str(), o.port.c_str(), e.what());
      return 1;
    }
  }

  asio::io_context io;
  tcp::resolver::results_type endpoints;
  try {
    endpoints = tcp::resolver(io).resolve(o.host, o.port);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "api_load: resolve %s:%s: %s\n", o.host.c_str(), o.port.c_str(), e.what());
    return 1;
  }
  // A short warm-up (connects, first-use allocations, SQLite page cache) is
  // run but not counted: 10% of the run, at most one second.
  const auto warmup = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(std::min(1.0, o.seconds * 0.1)));
  const auto start = Clock::now();
  const auto measureFrom = start + warmup;
  const auto deadline = measureFrom + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  std::vector<std::shared_ptr<Connection>> connections;
  for (int i = 0; i < o.connections; ++i) {
    connections.push_back(std::make_shared<Connection>(io, o, endpoints, sourceFor(o, i), measureFrom, deadline));
    connections.back()->start();
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) threads.emplace_back([&io] { io.run(); });
  for (auto& t : threads) t.join();
  const double measured = std::chrono::duration<double>(deadline - measureFrom).count();

  Stats total;
  for (auto& c : connections) {
    Stats& s = c->stats();
    total.requests += s.requests;
    total.errors += s.errors;
    total.signNs += s.signNs;
    total.signed_ += s.signed_;
    total.latencyUs.insert(total.latencyUs.end(), s.latencyUs.begin(), s.latencyUs.end());
    if (total.firstError.empty()) total.firstError = s.firstError;
  }
  connections.clear();
  if (nullServer) nullServer->shutdown(std::chrono::seconds(2));
  std::sort(total.latencyUs.begin(), total.latencyUs.end());

  nlohmann::json out = {
      {"op", o.nullServer ? "null-server" : o.op},
      {"connections", o.connections},
      {"threads", o.threads},
      {"seconds", measured},
      {"requests", total.requests},
      {"errors", total.errors},
      {"req_per_s", std::round(static_cast<double>(total.requests - total.errors) / measured * 10) / 10},
      {"latency_us",
       {{"p50", percentile(total.latencyUs, 0.50)},
        {"p90", percentile(total.latencyUs, 0.90)},
        {"p99", percentile(total.latencyUs, 0.99)},
        {"max", total.latencyUs.empty() ? 0 : total.latencyUs.back()}}},
      {"sign_us_mean", total.signed_ ? std::round(static_cast<double>(total.signNs) / total.signed_ / 100.0) / 10 : 0.0},
  };
  if (!total.firstError.empty()) out["first_error"] = total.firstError;
  std::printf("%s\n", out.dump().c_str());
  return total.requests > 0 && total.errors * 100 <= total.requests ? 0 : 1;
}
