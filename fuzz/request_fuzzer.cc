// libFuzzer target over the whole in-process request path:
//   bytes -> HttpRequest(s) -> FrontDoor::handle (SigV4, JSON 1.1 routing,
//   model checks, ECS operations over an in-memory SQLite store + StateCache).
//
// Input format (text, so seeds are readable and hand-editable):
//   byte 0        flags; bit 0 set = sign every decoded request with the
//                 harness's credentials before handling it (so the fuzzer
//                 gets past SigV4 on about half of its inputs); with bits 1
//                 and 2 also set the scope names region eu-west-1 instead of
//                 us-east-1, with bits 6 and 7 service ecr instead of ecs.
//   bytes 1..     up to kMaxRequests raw HTTP/1.1-ish request texts separated
//                 by a line "@@@" ("\n@@@\n"). Each one is
//                   METHOD SP TARGET [SP VERSION] LF
//                   Name: value LF      (repeated; CR before LF is dropped)
//                   LF
//                   body (the rest, verbatim)
//                 The splitter is tolerant: a missing target means "/", a
//                 header line without ':' is a header with an empty value,
//                 a missing blank line means an empty body.
// Several requests per input let the fuzzer reach stateful paths (create,
// then describe / tag / deregister) while every input starts from an empty
// store, so every crash reproduces from its input alone.
//
// Invariants checked on every response (a violation is __builtin_trap()):
//  - status in [200, 599];
//  - every 4xx/5xx body is a JSON object with a string "__type";
//  - no 5xx: all input here is client input, and a 500 (ServerException /
//    InternalFailure) means an operation failed or threw on it;
//  - a 200 to an ECS operation is a JSON object that matches the model's
//    output shape (api::checkOutput), i.e. botocore can parse it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/credentials.h"
#include "api/ecs_api.h"
#include "api/front_door.h"
#include "api/json_protocol_router.h"
#include "api/service_model.h"
#include "api/shape_checker.h"
#include "api/sigv4.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/random.h"
#include "control/ecs_context.h"
#include "control/state_cache.h"
#include "store/sqlite_store.h"

namespace {

using namespace berth;

constexpr std::size_t kMaxRequests = 4;
constexpr std::string_view kSeparator = "\n@@@\n";
constexpr const char* kAccessKeyId = "AKIDFUZZEXAMPLE00000";
constexpr const char* kSecretKey = "fuzzSecretKeyfuzzSecretKeyfuzzSecretKey0";
constexpr const char* kRegion = "us-east-1";
constexpr const char* kService = "ecs";
// 2023-11-14T22:13:20Z: fixed so signatures in the seed corpus stay valid.
const std::chrono::system_clock::time_point kNow{std::chrono::seconds(1'700'000'000)};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Next line of `text` starting at `pos` (without LF and a trailing CR);
// advances pos past the LF. Returns false at the end of the text.
bool nextLine(std::string_view text, std::size_t& pos, std::string_view& line) {
  if (pos >= text.size()) return false;
  auto lf = text.find('\n', pos);
  std::size_t end = lf == std::string_view::npos ? text.size() : lf;
  line = text.substr(pos, end - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  pos = lf == std::string_view::npos ? text.size() : lf + 1;
  return true;
}

api::HttpRequest parseRequest(std::string_view text) {
  api::HttpRequest req;
  req.remoteAddress = "127.0.0.1:40000";
  std::size_t pos = 0;
  std::string_view line;
  if (!nextLine(text, pos, line)) {
    req.method = "POST";
    req.target = "/";
    return req;
  }
  auto sp = line.find(' ');
  req.method = std::string(line.substr(0, sp));
  if (sp != std::string_view::npos) {
    auto rest = line.substr(sp + 1);
    auto sp2 = rest.find(' ');
    req.target = std::string(rest.substr(0, sp2));  // the HTTP version, if any, is ignored
  }
  if (req.target.empty()) req.target = "/";
  while (nextLine(text, pos, line)) {
    if (line.empty()) break;  // end of headers
    auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      req.headers.emplace_back(lower(trim(line)), "");
    } else {
      req.headers.emplace_back(lower(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
    }
  }
  req.body = std::string(text.substr(std::min(pos, text.size())));
  return req;
}

std::vector<std::string_view> splitRequests(std::string_view text) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < kMaxRequests) {
    auto sep = text.find(kSeparator);
    if (sep == std::string_view::npos) break;
    out.push_back(text.substr(0, sep));
    text.remove_prefix(sep + kSeparator.size());
  }
  out.push_back(text);
  return out;
}

void removeHeader(api::HttpRequest& req, std::string_view name) {
  std::erase_if(req.headers, [&](const auto& h) { return h.first == name; });
}

[[noreturn]] void fail(const char* why, const api::HttpRequest& req, const api::HttpResponse& resp) {
  std::fprintf(stderr, "\n*** request_fuzzer invariant violated: %s\n", why);
  std::fprintf(stderr, "request: %s %s\n", req.method.c_str(), req.target.c_str());
  for (const auto& [k, v] : req.headers) std::fprintf(stderr, "  %s: %s\n", k.c_str(), v.c_str());
  std::fprintf(stderr, "  body (%zu bytes): %.2000s\n", req.body.size(), req.body.c_str());
  std::fprintf(stderr, "response: %d\n  body: %.2000s\n", resp.status, resp.body.c_str());
  __builtin_trap();
}

// Output-shape deviations already reported and tolerated here until fixed, so
// the fuzzer can look past them. Keep each with the reason and drop it once
// the fix lands.
bool knownOutputDeviation(const std::string& message) {
  static const char* const kKnown[] = {
      // DeleteTaskDefinitions/DescribeTaskDefinition of a DELETE_IN_PROGRESS
      // revision send TaskDefinition.deleteRequestedAt (a real ECS member since
      // Feb 2023), but the embedded model is botocore 1.29's TaskDefinition
      // shape: src/api/model/overlays/ecs.json adds DeleteTaskDefinitions
      // without the member. botocore ignores unknown members, so clients are
      // unaffected; the overlay should carry the newer TaskDefinition shape.
      "member 'deleteRequestedAt' is not in shape TaskDefinition",
  };
  for (const char* k : kKnown)
    if (message.find(k) != std::string::npos) return true;
  return false;
}

void checkResponse(const api::HttpRequest& req, const api::HttpResponse& resp) {
  if (resp.status < 200 || resp.status > 599) fail("status out of [200,599]", req, resp);
  if (resp.status >= 400) {
    auto body = nlohmann::json::parse(resp.body, nullptr, false);
    if (!body.is_object() || !body.contains("__type") || !body["__type"].is_string())
      fail("error response without a JSON __type", req, resp);
    if (resp.status >= 500) fail("5xx for client input", req, resp);
    return;
  }
  // 200. Health checks answer plain text (whatever headers they carry);
  // everything else went to an operation.
  if (req.method == "GET" && (req.path() == "/healthz" || req.path() == "/ping")) {
    if (resp.body != "ok\n") fail("health check answered something other than ok", req, resp);
    return;
  }
  const std::string* target = req.header("x-amz-target");
  if (!target) fail("200 for a request without X-Amz-Target", req, resp);
  std::string_view t = *target;
  auto dot = t.rfind('.');
  if (dot == std::string_view::npos) fail("200 for a target without an operation", req, resp);
  const api::ServiceModel* model = api::ServiceModel::byTargetPrefix(t.substr(0, dot));
  const api::Operation* op = model ? model->operation(t.substr(dot + 1)) : nullptr;
  if (!op) fail("200 for an unknown operation", req, resp);
  auto body = nlohmann::json::parse(resp.body, nullptr, false);
  if (!body.is_object()) fail("200 whose body is not a JSON object", req, resp);
  if (auto st = api::checkOutput(*model, *op, body); !st.ok() && !knownOutputDeviation(st.error().message)) {
    std::fprintf(stderr, "checkOutput: %s\n", st.error().message.c_str());
    fail("200 body does not match the model's output shape", req, resp);
  }
}

std::string percentDecode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}


struct Globals {
  Globals() {
    // Operations log 5xx causes at error level; keep routine logs out of the fuzzer's output.
    log::setLevel(log::Level::kError);
  }
  api::StaticCredentialProvider credentials{{api::AwsCredentials{kAccessKeyId, kSecretKey}}};
  FakeClock clock{kNow};
  // BERTH_FUZZ_VERBOSE=1: print each request's target and response (for
  // checking what a seed reaches when replaying it).
  bool verbose = std::getenv("BERTH_FUZZ_VERBOSE") != nullptr;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Globals* g = new Globals();  // leaked on purpose: outlives every input
  if (size < 1) return 0;
  const bool sign = (data[0] & 1) != 0;
  // Rarer variants of a signed request: a valid signature scoped to another
  // region or another service (both must be refused).
  const char* region = (data[0] & 0x06) == 0x06 ? "eu-west-1" : kRegion;
  const char* service = (data[0] & 0xC0) == 0xC0 ? "ecr" : kService;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  // A fresh world per input: empty in-memory store, fixed seed.
  g->clock.set(kNow);
  SeededRandom random(0x5eed);
  auto store = store::openSqliteStore(":memory:");
  if (!store.ok()) std::abort();
  auto cache = control::StateCache::open(**store);
  if (!cache.ok()) std::abort();
  control::EcsContext ecs{**store, **cache, g->clock, random, control::AccountInfo{}};
  api::JsonProtocolRouter router;
  router.addService(api::makeEcsService(ecs));
  api::FrontDoor frontDoor(g->credentials, kRegion, g->clock, random, router);

  for (std::string_view part : splitRequests(text)) {
    api::HttpRequest req = parseRequest(part);
    if (sign) {
      if (!req.header("host")) req.headers.emplace_back("host", "localhost:8080");
      removeHeader(req, "authorization");
      removeHeader(req, "x-amz-date");
      signSigV4(req, api::AwsCredentials{kAccessKeyId, kSecretKey}, region, service, g->clock.now());
    }
    api::HttpResponse resp = frontDoor.handle(req);
    if (g->verbose)
      std::fprintf(stderr, "request_fuzzer: %s %s -> %d %.300s\n", req.method.c_str(),
                   req.header("x-amz-target") ? req.header("x-amz-target")->c_str() : "-", resp.status,
                   resp.body.c_str());
    checkResponse(req, resp);
    g->clock.advance(std::chrono::seconds(1));
  }
  cache->reset();
  (*store)->close();
  return 0;
}
