// libFuzzer target over the OCI distribution endpoints (/v2/):
//   bytes -> a short sequence of registry requests -> OciDistributionApi::handle
//   over an in-memory SQLite store + StateCache, a BlobStore in a fresh temp
//   dir, and RegistryTokens over a StaticCredentialProvider.
//
// Input format (text, so seeds are readable; see fuzz/README.md):
//   byte 0        flags: bit 0 = autoCreateRepositories; bit 1 = send no
//                 Authorization header (every answer must then be 401).
//   bytes 1..     up to kMaxRequests requests separated by a line "@@@":
//                   METHOD SP TARGET LF
//                   Name: value LF      (repeated; CR before LF dropped)
//                   LF
//                   body (the rest, verbatim)
//                 A header "X-Fuzz-Stream: <mode>" is consumed by the harness:
//                 the body is then handed over as a BodyReader in small pieces,
//                 with no Content-Length ("chunked"), the true one ("length"),
//                 or a declared decimal length (larger = the client vanishes
//                 mid-body, smaller = a body longer than announced).
//   Placeholders (so the fuzzer can follow the stateful flows it cannot guess):
//     $LOC   the last Location header answered (upload session or blob URL)
//     $B0-9  digest of the i-th blob the registry accepted (201 on a blob route)
//     $S0-9  its size
//     $M0-9  digest of the i-th manifest accepted
//     $BD    digest of this request's body
//     $UPD   digest of the current upload's bytes (previously accepted PATCH
//            bodies since the last upload POST) plus this body
//   Digest placeholders without a value become a valid but unknown digest.
// Every input starts from an empty store and two repositories ("app",
// "lib/base"), so a reproducer replays alone.
//
// Invariants (a violation is __builtin_trap()):
//  - status in [200, 599] and never 5xx: all input here is client input;
//  - every 4xx except a bodiless 416 carries {"errors":[{"code":"<UPPER_CASE>",…}]};
//  - every response carries Docker-Distribution-API-Version;
//  - unauthenticated inputs only ever get 401;
//  - every committed blob in the store hashes to its digest, and every blob or
//    manifest the API serves hashes to the digest it was requested by.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/credentials.h"
#include "api/oci_distribution_api.h"
#include "api/registry_token.h"
#include "blobstore/blob_store.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/random.h"
#include "control/ecs_context.h"
#include "control/state_cache.h"
#include "oci/digest.h"
#include "registry/repository_ops.h"
#include "store/sqlite_store.h"

namespace {

using namespace berth;

constexpr std::size_t kMaxRequests = 8;
constexpr std::string_view kSeparator = "\n@@@\n";
constexpr const char* kAccessKeyId = "AKIDFUZZREGISTRY0000";
constexpr const char* kSecretKey = "fuzzRegistrySecretfuzzRegistrySecret0000";
constexpr std::size_t kMaxBlobBytes = 256 * 1024;  // keeps each input's work small
constexpr std::size_t kMaxManifestBytes = 64 * 1024;
const std::chrono::system_clock::time_point kNow{std::chrono::seconds(1'700'000'000)};

[[noreturn]] void violation(const char* what, const std::string& detail) {
  std::fprintf(stderr, "registry_fuzzer invariant violated: %s\n%s\n", what, detail.c_str());
  __builtin_trap();
}

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

struct RawRequest {
  std::string method = "GET";
  std::string target = "/v2/";
  api::HeaderList headers;
  std::string body;
  std::optional<std::string> streamMode;
};

RawRequest parseRequest(std::string_view text) {
  RawRequest r;
  auto eol = text.find('\n');
  auto line = trim(text.substr(0, eol));
  auto sp = line.find(' ');
  if (!line.empty()) r.method = std::string(line.substr(0, sp));
  if (sp != std::string_view::npos) {
    auto rest = trim(line.substr(sp + 1));
    auto sp2 = rest.find(' ');
    if (!rest.empty()) r.target = std::string(rest.substr(0, sp2));
  }
  if (eol == std::string_view::npos) return r;
  text.remove_prefix(eol + 1);
  while (!text.empty()) {
    eol = text.find('\n');
    auto h = text.substr(0, eol);
    if (!h.empty() && h.back() == '\r') h.remove_suffix(1);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (h.empty()) break;
    auto colon = h.find(':');
    std::string name = lower(trim(h.substr(0, colon)));
    std::string value = colon == std::string_view::npos ? std::string() : std::string(trim(h.substr(colon + 1)));
    if (name == "x-fuzz-stream")
      r.streamMode = value;
    else
      r.headers.emplace_back(std::move(name), std::move(value));
  }
  r.body = std::string(text);
  return r;
}

// A streamed body handed over in pieces of `piece` bytes.
class FuzzBodyReader final : public api::BodyReader {
 public:
  FuzzBodyReader(std::string data, std::optional<std::uint64_t> declared, std::size_t piece)
      : data_(std::move(data)), declared_(declared), piece_(piece ? piece : 1) {}
  Result<std::size_t> read(char* out, std::size_t max) override {
    std::size_t limit = data_.size();
    if (declared_ && *declared_ < limit) limit = static_cast<std::size_t>(*declared_);  // body longer than announced: cut
    if (pos_ == limit) {
      if (declared_ && *declared_ > data_.size()) return Error::make(ErrorCode::kIo, "client went away mid-body");
      return std::size_t{0};
    }
    std::size_t n = std::min({max, piece_, limit - pos_});
    std::memcpy(out, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  std::optional<std::uint64_t> contentLength() const override { return declared_; }

 private:
  std::string data_;
  std::optional<std::uint64_t> declared_;
  std::size_t piece_;
  std::size_t pos_ = 0;
};

void replaceAll(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

const std::string& unknownDigest() {
  static const std::string d = oci::digestOf("berth registry fuzzer: never pushed").str();
  return d;
}

struct Session {
  std::string location;
  std::vector<std::string> blobDigests;
  std::vector<std::string> blobSizes;
  std::vector<std::string> manifestDigests;
  std::string uploaded;  // bytes accepted into the current upload
};

void substituteState(std::string& s, const Session& st) {
  if (s.find('$') == std::string::npos) return;
  replaceAll(s, "$LOC", st.location.empty() ? "/v2/app/blobs/uploads/none" : st.location);
  for (int i = 9; i >= 0; --i) {
    auto idx = static_cast<std::size_t>(i);
    std::string n = std::to_string(i);
    replaceAll(s, "$B" + n, idx < st.blobDigests.size() ? st.blobDigests[idx] : unknownDigest());
    replaceAll(s, "$S" + n, idx < st.blobSizes.size() ? st.blobSizes[idx] : "0");
    replaceAll(s, "$M" + n, idx < st.manifestDigests.size() ? st.manifestDigests[idx] : unknownDigest());
  }
}

std::optional<std::string> responseHeader(const api::HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (lower(k) == name) return v;
  return std::nullopt;
}

std::string drain(const api::HttpResponse& r) {
  if (!r.stream) return r.body;
  std::string out;
  char buf[4096];
  while (out.size() < r.stream->length()) {
    auto n = r.stream->read(buf, sizeof buf);
    if (!n.ok() || *n == 0) violation("blob stream ended early", out);
    out.append(buf, *n);
  }
  return out;
}

void checkResponse(const RawRequest& req, const api::HttpResponse& r, bool unauthenticated) {
  std::string where = req.method + " " + req.target + " -> " + std::to_string(r.status) + " " + r.body;
  if (r.status < 200 || r.status > 599) violation("status out of range", where);
  if (r.status >= 500) violation("5xx for client input", where);
  if (unauthenticated && r.status != 401) violation("unauthenticated request not refused", where);
  if (responseHeader(r, "docker-distribution-api-version") != "registry/2.0")
    violation("missing Docker-Distribution-API-Version", where);
  if (r.status >= 400 && !(r.status == 416 && r.body.empty())) {
    auto doc = nlohmann::json::parse(r.body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("errors") || !doc["errors"].is_array() ||
        doc["errors"].empty() || !doc["errors"][0].is_object() || !doc["errors"][0].contains("code") ||
        !doc["errors"][0]["code"].is_string())
      violation("error body is not {\"errors\":[{\"code\"…}]}", where);
    for (char c : doc["errors"][0]["code"].get<std::string>())
      if (!((c >= 'A' && c <= 'Z') || c == '_')) violation("error code is not UPPER_CASE", where);
  }
}

struct Globals {
  Globals() {
    log::setLevel(log::Level::kError);
    verbose = std::getenv("BERTH_FUZZ_VERBOSE") != nullptr;
    const char* tmp = std::getenv("TMPDIR");
    tmpRoot = tmp && *tmp ? tmp : "/tmp";
  }
  api::StaticCredentialProvider credentials{std::vector<api::AwsCredentials>{{kAccessKeyId, kSecretKey}}};
  api::RegistryTokens tokens{credentials};
  std::string authorization;
  bool verbose = false;
  std::string tmpRoot;
};

Globals& globals() {
  static Globals* g = [] {
    auto* g = new Globals();
    auto token = g->tokens.issue(kAccessKeyId, kNow);
    if (!token.ok()) violation("cannot issue a registry token", token.error().message);
    g->authorization = "Basic " + token->authorizationToken;
    return g;
  }();
  return *g;
}

// Removes the per-input blob store directory even though committed blobs are read-only.
struct TempDir {
  explicit TempDir(const std::string& root) {
    std::string tmpl = root + "/berth-registry-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl.data())) violation("mkdtemp failed", tmpl);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string path;
};

void checkStoreIntegrity(blobstore::BlobStore& blobs) {
  for (const auto& info : blobs.list()) {
    auto bytes = blobs.readSmall(info.digest, kMaxBlobBytes + 1);
    if (!bytes.ok()) violation("committed blob unreadable", info.digest.str() + ": " + bytes.error().message);
    if (oci::digestOf(*bytes, info.digest.algorithm()) != info.digest)
      violation("committed blob does not hash to its digest", info.digest.str());
    if (bytes->size() != info.size) violation("committed blob size differs from its listing", info.digest.str());
  }
}

// What the API serves under a digest must hash to that digest.
void checkServed(const api::OciDistributionApi& registryApi, const std::string& repo, const std::string& kind,
                 const std::string& digest) {
  auto parsed = oci::Digest::parse(digest);
  if (!parsed.ok()) return;
  api::HttpRequest req;
  req.method = "GET";
  req.target = "/v2/" + repo + "/" + kind + "/" + digest;
  req.headers = {{"authorization", globals().authorization}};
  auto r = registryApi.handle(req);
  if (r.status >= 500) violation("5xx when reading back", req.target + " " + r.body);
  if (r.status != 200) return;
  auto body = drain(r);
  if (oci::digestOf(body, parsed->algorithm()) != *parsed) violation("served content does not hash to its digest", req.target);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Globals& g = globals();
  const std::uint8_t flags = data[0];
  const bool autoCreate = flags & 1;
  const bool unauthenticated = flags & 2;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  auto store = store::openSqliteStore(":memory:");
  if (!store.ok()) violation("cannot open store", store.error().message);
  auto cache = control::StateCache::open(**store);
  if (!cache.ok()) violation("cannot open cache", cache.error().message);
  FakeClock clock(kNow);
  SeededRandom random(size);
  control::EcsContext ctx{**store, **cache, clock, random, control::AccountInfo{}};
  TempDir dir(g.tmpRoot);
  auto blobs = blobstore::BlobStore::open(dir.path, clock, random);
  if (!blobs.ok()) violation("cannot open blob store", blobs.error().message);
  for (const char* name : {"app", "lib/base"}) {
    auto created = registry::createRepository(ctx, nlohmann::json{{"repositoryName", name}});
    if (!created.ok()) violation("cannot create repository", created.error().message);
  }
  api::OciDistributionOptions options{.autoCreateRepositories = autoCreate,
                                      .maxBlobBytes = kMaxBlobBytes,
                                      .maxManifestBytes = kMaxManifestBytes};
  api::OciDistributionApi registryApi(ctx, **blobs, g.tokens, options);

  Session st;
  std::vector<std::pair<std::string, std::string>> served;  // (repo, kind/digest) to read back
  std::size_t count = 0;
  while (count < kMaxRequests) {
    auto sep = input.find(kSeparator);
    auto raw = parseRequest(input.substr(0, sep));
    ++count;

    substituteState(raw.target, st);
    substituteState(raw.body, st);
    for (auto& [k, v] : raw.headers) substituteState(v, st);
    const std::string bodyDigest = oci::digestOf(raw.body).str();
    const std::string uploadDigest = oci::digestOf(st.uploaded + raw.body).str();
    for (std::string* s : {&raw.target}) {
      replaceAll(*s, "$UPD", uploadDigest);
      replaceAll(*s, "$BD", bodyDigest);
    }
    for (auto& [k, v] : raw.headers) {
      replaceAll(v, "$UPD", uploadDigest);
      replaceAll(v, "$BD", bodyDigest);
    }

    api::HttpRequest req;
    req.method = raw.method;
    req.target = raw.target;
    req.headers = raw.headers;
    if (!unauthenticated) req.headers.emplace_back("authorization", g.authorization);
    req.remoteAddress = "127.0.0.1:1";
    std::optional<FuzzBodyReader> reader;
    if (raw.streamMode) {
      std::optional<std::uint64_t> declared;
      if (*raw.streamMode == "length") {
        declared = raw.body.size();
      } else if (*raw.streamMode != "chunked") {
        std::uint64_t v = 0;
        for (char c : raw.streamMode->substr(0, 12))
          if (c >= '0' && c <= '9') v = v * 10 + static_cast<std::uint64_t>(c - '0');
        declared = v;
      }
      reader.emplace(raw.body, declared, 1 + raw.body.size() % 7);
      req.bodyStream = &*reader;
    } else {
      req.body = raw.body;
    }

    auto r = registryApi.handle(req);
    checkResponse(raw, r, unauthenticated);
    if (g.verbose)
      std::fprintf(stderr, "%s %s -> %d %s\n", req.method.c_str(), req.target.c_str(), r.status, r.body.c_str());

    if (auto loc = responseHeader(r, "location")) st.location = *loc;
    bool uploadRoute = req.target.find("/blobs/uploads") != std::string::npos;
    if (uploadRoute && req.method == "POST") st.uploaded.clear();
    if (uploadRoute && r.status == 202 && req.method == "PATCH") st.uploaded += raw.body;
    if (auto digest = responseHeader(r, "docker-content-digest"); digest && r.status == 201) {
      auto at = req.target.find("/v2/");
      std::string path = req.target.substr(0, req.target.find('?'));
      bool manifest = path.find("/manifests/") != std::string::npos;
      auto marker = path.rfind(manifest ? "/manifests/" : "/blobs/");
      std::string repo = at == 0 && marker != std::string::npos && marker > 4 ? path.substr(4, marker - 4) : "app";
      if (manifest) {
        st.manifestDigests.push_back(*digest);
        served.emplace_back(repo, "manifests/" + *digest);
      } else {
        st.blobDigests.push_back(*digest);
        st.blobSizes.push_back(std::to_string(st.uploaded.size() + raw.body.size()));
        served.emplace_back(repo, "blobs/" + *digest);
        st.uploaded.clear();
      }
    }
    if (sep == std::string_view::npos) break;
    input.remove_prefix(sep + kSeparator.size());
  }

  checkStoreIntegrity(**blobs);
  for (const auto& [repo, what] : served) {
    auto slash = what.find('/');
    checkServed(registryApi, repo, what.substr(0, slash), what.substr(slash + 1));
  }
  for (const auto& digest : st.blobDigests) checkServed(registryApi, "app", "blobs", digest);

  blobs->reset();
  cache->reset();
  (*store)->close();
  return 0;
}
