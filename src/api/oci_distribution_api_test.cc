// OciDistributionApi over a real SQLite store, a real BlobStore in a temp dir
// and RegistryTokens over a StaticCredentialProvider: one test per requirement
// of the OCI distribution spec v1.1 workflows (pull, push, content discovery,
// content management) plus authentication.
#include "api/oci_distribution_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/credentials.h"
#include "api/registry_token.h"
#include "blobstore/blob_store.h"
#include "control/testing/ecs_fixture.h"
#include "oci/digest.h"
#include "registry/image_ops.h"
#include "registry/repository_ops.h"

namespace berth::api {
namespace {

using control::test::mustOk;
using control::test::TempDir;
using nlohmann::json;

constexpr const char* kKeyId = "AKIAOCITEST000000001";
constexpr const char* kSecret = "oci-test-secret-0123456789abcdefghijklmn";
constexpr const char* kEmptyConfig = "{}";
constexpr const char* kEmptyConfigMediaType = "application/vnd.oci.empty.v1+json";

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> header(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k.size() != name.size()) continue;
    bool same = std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
    });
    if (same) return v;
  }
  return std::nullopt;
}

// The body a client would receive (the stream for blob downloads).
std::string bodyOf(const HttpResponse& r) {
  if (!r.stream) return r.body;
  std::string out;
  char buf[7];  // small on purpose: exercises partial reads
  while (out.size() < r.stream->length()) {
    auto n = r.stream->read(buf, sizeof buf);
    if (!n.ok() || *n == 0) {
      ADD_FAILURE() << "stream ended early after " << out.size() << " of " << r.stream->length() << " bytes";
      break;
    }
    out.append(buf, *n);
  }
  return out;
}

std::string errorCode(const HttpResponse& r) {
  auto doc = json::parse(r.body, nullptr, false);
  if (doc.is_discarded() || !doc.contains("errors") || doc["errors"].empty()) return "<no error body: " + r.body + ">";
  return doc["errors"][0].value("code", "<no code>");
}

// A streamed request body, delivered in small pieces like a socket would.
class FakeBodyReader final : public BodyReader {
 public:
  FakeBodyReader(std::string data, std::optional<std::uint64_t> contentLength, std::size_t piece = 3)
      : data_(std::move(data)), length_(contentLength), piece_(piece) {}
  Result<std::size_t> read(char* out, std::size_t max) override {
    // A declared length beyond the data models a client that went away mid-body.
    if (pos_ == data_.size() && length_ && *length_ > data_.size())
      return Error::make(ErrorCode::kIo, "connection closed by the client");
    std::size_t n = std::min({max, piece_, data_.size() - pos_});
    std::memcpy(out, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  std::optional<std::uint64_t> contentLength() const override { return length_; }
  std::size_t consumed() const { return pos_; }

 private:
  std::string data_;
  std::optional<std::uint64_t> length_;
  std::size_t piece_;
  std::size_t pos_ = 0;
};

class OciDistributionApiTest : public control::test::EcsFixture {
 protected:
  OciDistributionApiTest() : credentials_(std::vector<AwsCredentials>{{kKeyId, kSecret}}), tokens_(credentials_) {
    auto store = blobstore::BlobStore::open(dir_.file("registry"), clock(), random_);
    if (!store.ok()) throw std::runtime_error("open blob store: " + store.error().message);
    blobs_ = std::move(*store);
    auto token = tokens_.issue(kKeyId, clock().now());
    if (!token.ok()) throw std::runtime_error("issue token: " + token.error().message);
    authorization_ = "Basic " + token->authorizationToken;
    makeApi({});
  }

  void makeApi(OciDistributionOptions options) {
    api_ = std::make_unique<OciDistributionApi>(ctx(), *blobs_, tokens_, options);
  }

  void createRepo(const std::string& name, const std::string& mutability = "MUTABLE") {
    mustOk(registry::createRepository(ctx(), json{{"repositoryName", name}, {"imageTagMutability", mutability}}),
           "CreateRepository " + name);
  }

  HttpResponse send(std::string method, std::string target, std::string body = {}, HeaderList headers = {},
                    BodyReader* stream = nullptr) {
    HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.headers = std::move(headers);
    req.headers.emplace_back("authorization", authorization_);
    req.body = std::move(body);
    req.bodyStream = stream;
    req.remoteAddress = "127.0.0.1:5000";
    auto r = api_->handle(req);
    EXPECT_EQ(header(r, "Docker-Distribution-API-Version"), "registry/2.0") << req.method << " " << req.target;
    EXPECT_LT(r.status, 500) << req.method << " " << req.target << ": " << r.body;
    return r;
  }

  // Monolithic single-POST push (end-4b); returns the digest.
  std::string pushBlob(const std::string& repo, const std::string& content) {
    auto digest = oci::digestOf(content).str();
    auto r = send("POST", "/v2/" + repo + "/blobs/uploads/?digest=" + digest, content);
    EXPECT_EQ(r.status, 201) << r.body;
    return digest;
  }

  json imageManifest(const std::string& repo, const std::vector<std::string>& layers,
                     std::optional<json> subject = std::nullopt, std::string artifactType = {}) {
    json m = {{"schemaVersion", 2},
              {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
              {"config",
               {{"mediaType", kEmptyConfigMediaType}, {"digest", pushBlob(repo, kEmptyConfig)}, {"size", 2}}},
              {"layers", json::array()}};
    for (const auto& layer : layers)
      m["layers"].push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                             {"digest", pushBlob(repo, layer)},
                             {"size", layer.size()}});
    if (subject) m["subject"] = *subject;
    if (!artifactType.empty()) m["artifactType"] = artifactType;
    return m;
  }

  HttpResponse putManifest(const std::string& repo, const std::string& ref, const std::string& body,
                           const std::string& contentType = "application/vnd.oci.image.manifest.v1+json") {
    return send("PUT", "/v2/" + repo + "/manifests/" + ref, body, {{"content-type", contentType}});
  }

  // Starts an upload session (end-4a) and returns its Location.
  std::string startUpload(const std::string& repo) {
    auto r = send("POST", "/v2/" + repo + "/blobs/uploads/");
    EXPECT_EQ(r.status, 202) << r.body;
    return header(r, "Location").value_or("<no location>");
  }

  TempDir dir_;
  SeededRandom random_{7};
  StaticCredentialProvider credentials_;
  RegistryTokens tokens_;
  std::unique_ptr<blobstore::BlobStore> blobs_;
  std::unique_ptr<OciDistributionApi> api_;
  std::string authorization_;
};

// --- authentication (end-1) -------------------------------------------------

TEST_F(OciDistributionApiTest, BaseAnswers200WithTheApiVersionHeader) {
  auto r = send("GET", "/v2/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(header(r, "Docker-Distribution-API-Version"), "registry/2.0");
  EXPECT_EQ(send("GET", "/v2").status, 200);
}

TEST_F(OciDistributionApiTest, MissingCredentialsGet401WithABasicChallenge) {
  HttpRequest req;
  req.method = "GET";
  req.target = "/v2/";
  auto r = api_->handle(req);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(header(r, "WWW-Authenticate"), "Basic realm=\"berth\"");
  EXPECT_EQ(header(r, "Docker-Distribution-API-Version"), "registry/2.0");
  EXPECT_EQ(errorCode(r), "UNAUTHORIZED");
}

TEST_F(OciDistributionApiTest, AuthenticationComesBeforeRouting) {
  createRepo("app");
  HttpRequest req;
  req.method = "GET";
  req.target = "/v2/app/tags/list";
  req.headers = {{"authorization", "Basic " + base64("AWS:not-a-token")}};
  auto r = api_->handle(req);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(errorCode(r), "UNAUTHORIZED");

  req.headers = {{"authorization", "Basic " + base64(std::string("AKIA:") + kSecret)}};  // SigV4 secret is no password
  EXPECT_EQ(api_->handle(req).status, 401);
}

TEST_F(OciDistributionApiTest, ExpiredTokenIsRefusedAndTheRealmIsConfigurable) {
  makeApi({.realm = "my-registry"});
  clock().advance(std::chrono::hours(13));  // tokens last 12 hours
  HttpRequest req;
  req.method = "GET";
  req.target = "/v2/";
  req.headers = {{"authorization", authorization_}};
  auto r = api_->handle(req);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(header(r, "WWW-Authenticate"), "Basic realm=\"my-registry\"");
}

TEST_F(OciDistributionApiTest, PresignedDownloadTokenReadsBlobsAndNothingElse) {
  createRepo("app");
  auto digest = pushBlob("app", "presigned bytes");
  auto manifest = imageManifest("app", {}).dump();
  ASSERT_EQ(putManifest("app", "v1", manifest).status, 201);
  auto password = mustOk(tokens_.issue(kKeyId, clock().now()), "issue").password;
  auto unauthenticated = [&](std::string method, std::string target) {
    HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    return api_->handle(req);
  };
  std::string param = std::string("?") + OciDistributionApi::kDownloadTokenParam + "=" + password;
  auto blob = unauthenticated("GET", "/v2/app/blobs/" + digest + param);
  ASSERT_EQ(blob.status, 200) << blob.body;
  EXPECT_EQ(bodyOf(blob), "presigned bytes");
  EXPECT_EQ(unauthenticated("HEAD", "/v2/app/blobs/" + digest + param).status, 200);
  // The same token opens no other route and allows no writes.
  EXPECT_EQ(unauthenticated("GET", "/v2/app/manifests/v1" + param).status, 401);
  EXPECT_EQ(unauthenticated("GET", "/v2/app/tags/list" + param).status, 401);
  EXPECT_EQ(unauthenticated("DELETE", "/v2/app/blobs/" + digest + param).status, 401);
  EXPECT_EQ(unauthenticated("POST", "/v2/app/blobs/uploads/" + param).status, 401);
  // Forged or expired tokens are refused.
  EXPECT_EQ(unauthenticated("GET", "/v2/app/blobs/" + digest + param + "x").status, 401);
  clock().advance(std::chrono::hours(13));
  EXPECT_EQ(unauthenticated("GET", "/v2/app/blobs/" + digest + param).status, 401);
}

// --- push: blobs (end-4a/4b, end-5, end-6, end-11, end-13, end-14) -----------

TEST_F(OciDistributionApiTest, MonolithicPostPushesABlobAndGetPullsIt) {
  createRepo("team/app");
  std::string content = "hello layer bytes";
  auto digest = oci::digestOf(content).str();
  auto r = send("POST", "/v2/team/app/blobs/uploads/?digest=" + digest, content,
                {{"content-type", "application/octet-stream"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(header(r, "Location"), "/v2/team/app/blobs/" + digest);
  EXPECT_EQ(header(r, "Docker-Content-Digest"), digest);

  auto get = send("GET", "/v2/team/app/blobs/" + digest);
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(bodyOf(get), content);
  EXPECT_EQ(header(get, "Docker-Content-Digest"), digest);
  EXPECT_EQ(header(get, "Content-Type"), "application/octet-stream");
  EXPECT_EQ(header(get, "Content-Length"), std::to_string(content.size()));
  EXPECT_EQ(header(get, "Accept-Ranges"), "bytes");
}

TEST_F(OciDistributionApiTest, PostThenPutPushesABlob) {
  createRepo("app");
  auto location = startUpload("app");
  EXPECT_THAT(location, ::testing::StartsWith("/v2/app/blobs/uploads/"));
  std::string content(5000, 'x');
  auto digest = oci::digestOf(content).str();
  auto r = send("PUT", location + "?digest=" + digest, content, {{"content-type", "application/octet-stream"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(header(r, "Location"), "/v2/app/blobs/" + digest);
  EXPECT_EQ(bodyOf(send("GET", "/v2/app/blobs/" + digest)), content);
}

TEST_F(OciDistributionApiTest, UploadStartAnswersLocationAndUuidWithoutRangeWhenEmpty) {
  createRepo("app");
  auto r = send("POST", "/v2/app/blobs/uploads/");
  ASSERT_EQ(r.status, 202);
  auto location = header(r, "Location");
  auto uuid = header(r, "Docker-Upload-UUID");
  ASSERT_TRUE(location && uuid);
  EXPECT_EQ(*location, "/v2/app/blobs/uploads/" + *uuid);
  EXPECT_FALSE(header(r, "Range"));  // nothing received yet: no "0--1"
}

TEST_F(OciDistributionApiTest, ChunkedUploadInOrderThenClose) {
  createRepo("app");
  auto location = startUpload("app");
  auto first = send("PATCH", location, "01234", {{"content-range", "0-4"}, {"content-type", "application/octet-stream"}});
  ASSERT_EQ(first.status, 202) << first.body;
  EXPECT_EQ(header(first, "Range"), "0-4");
  ASSERT_TRUE(header(first, "Location"));
  auto second = send("PATCH", *header(first, "Location"), "56789", {{"content-range", "5-9"}});
  ASSERT_EQ(second.status, 202) << second.body;
  EXPECT_EQ(header(second, "Range"), "0-9");

  auto status = send("GET", location);
  EXPECT_EQ(status.status, 204);
  EXPECT_EQ(header(status, "Range"), "0-9");
  EXPECT_EQ(header(status, "Location"), location);

  auto digest = oci::digestOf("0123456789").str();
  auto close = send("PUT", location + "?digest=" + digest);
  ASSERT_EQ(close.status, 201) << close.body;
  EXPECT_EQ(header(close, "Docker-Content-Digest"), digest);
  EXPECT_EQ(bodyOf(send("GET", "/v2/app/blobs/" + digest)), "0123456789");
  EXPECT_EQ(send("GET", location).status, 404);  // the session is gone after the close
}

TEST_F(OciDistributionApiTest, OutOfOrderChunkIs416AndReportsTheValidOffset) {
  createRepo("app");
  auto location = startUpload("app");
  ASSERT_EQ(send("PATCH", location, "abcde", {{"content-range", "0-4"}}).status, 202);
  // Retrying the first chunk (spec conformance "out of order"):
  auto retry = send("PATCH", location, "abcde", {{"content-range", "0-4"}});
  EXPECT_EQ(retry.status, 416);
  EXPECT_EQ(header(retry, "Range"), "0-4");
  EXPECT_EQ(header(retry, "Location"), location);
  // A gap:
  EXPECT_EQ(send("PATCH", location, "xyz", {{"content-range", "8-10"}}).status, 416);
  // The session is intact and resumes from the reported offset.
  ASSERT_EQ(send("PATCH", location, "fgh", {{"content-range", "5-7"}}).status, 202);
  auto digest = oci::digestOf("abcdefgh").str();
  EXPECT_EQ(send("PUT", location + "?digest=" + digest).status, 201);
}

TEST_F(OciDistributionApiTest, ChunkWhoseLengthDisagreesWithContentRangeIsRefused) {
  createRepo("app");
  auto location = startUpload("app");
  auto r = send("PATCH", location, "abc", {{"content-range", "0-9"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(errorCode(r), "BLOB_UPLOAD_INVALID");
  auto malformed = send("PATCH", location, "abc", {{"content-range", "zero-two"}});
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(errorCode(malformed), "BLOB_UPLOAD_INVALID");
  EXPECT_FALSE(header(send("GET", location), "Range"));  // nothing was appended
}

TEST_F(OciDistributionApiTest, StreamedPatchWithoutContentRangeAndFinalChunkInPut) {
  createRepo("app");
  auto location = startUpload("app");
  std::string part1(1000, 'a'), part2 = "tail";
  FakeBodyReader chunked(part1, std::nullopt);  // chunked transfer: no Content-Length
  auto patch = send("PATCH", location, {}, {}, &chunked);
  ASSERT_EQ(patch.status, 202) << patch.body;
  EXPECT_EQ(header(patch, "Range"), "0-999");
  EXPECT_EQ(chunked.consumed(), part1.size());

  FakeBodyReader last(part2, part2.size());
  auto digest = oci::digestOf(part1 + part2).str();
  auto put = send("PUT", location + "?digest=" + digest, {}, {{"content-range", "1000-1003"}}, &last);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(bodyOf(send("GET", "/v2/app/blobs/" + digest)), part1 + part2);
}

TEST_F(OciDistributionApiTest, StreamedChunkLongerThanItsRangeIsRefused) {
  createRepo("app");
  auto location = startUpload("app");
  FakeBodyReader tooLong("abcdefgh", std::nullopt);
  auto r = send("PATCH", location, {}, {{"content-range", "0-3"}}, &tooLong);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(errorCode(r), "BLOB_UPLOAD_INVALID");
}

TEST_F(OciDistributionApiTest, TruncatedBodyIs400AndTheReceivedBytesStay) {
  createRepo("app");
  auto location = startUpload("app");
  FakeBodyReader truncated("abcdef", 100);
  auto r = send("PATCH", location, {}, {}, &truncated);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(errorCode(r), "BLOB_UPLOAD_INVALID");
  // BlobStore keeps what arrived, so the client can resume from the reported offset.
  EXPECT_EQ(header(send("GET", location), "Range"), "0-5");

  FakeBodyReader manifest("{\"schemaVersion\":", 500);
  auto put = send("PUT", "/v2/app/manifests/v1", {}, {{"content-type", "application/json"}}, &manifest);
  EXPECT_EQ(put.status, 400);
  EXPECT_EQ(errorCode(put), "MANIFEST_INVALID");
}

TEST_F(OciDistributionApiTest, DigestMismatchIsDigestInvalidAndNothingBecomesVisible) {
  createRepo("app");
  std::string content = "real content";
  auto wrong = oci::digestOf("other content");
  auto mono = send("POST", "/v2/app/blobs/uploads/?digest=" + wrong.str(), content);
  EXPECT_EQ(mono.status, 400);
  EXPECT_EQ(errorCode(mono), "DIGEST_INVALID");

  auto location = startUpload("app");
  auto put = send("PUT", location + "?digest=" + wrong.str(), content);
  EXPECT_EQ(put.status, 400);
  EXPECT_EQ(errorCode(put), "DIGEST_INVALID");

  EXPECT_FALSE(blobs_->exists(wrong));
  EXPECT_EQ(send("GET", "/v2/app/blobs/" + wrong.str()).status, 404);
  EXPECT_EQ(send("GET", "/v2/app/blobs/" + oci::digestOf(content).str()).status, 404);
  EXPECT_FALSE(registry::linkedBlobSize(ctx(), "app", wrong.str()));
}

TEST_F(OciDistributionApiTest, ClosingPutNeedsAValidDigestAndKeepsTheSessionOtherwise) {
  createRepo("app");
  auto location = startUpload("app");
  ASSERT_EQ(send("PATCH", location, "abc", {{"content-range", "0-2"}}).status, 202);
  auto missing = send("PUT", location);
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(errorCode(missing), "DIGEST_INVALID");
  auto bad = send("PUT", location + "?digest=sha256:XYZ");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(errorCode(bad), "DIGEST_INVALID");
  EXPECT_EQ(header(send("GET", location), "Range"), "0-2");
  EXPECT_EQ(send("PUT", location + "?digest=" + oci::digestOf("abc").str()).status, 201);
}

TEST_F(OciDistributionApiTest, UnknownUploadSessionsAreBlobUploadUnknown) {
  createRepo("app");
  for (std::string id : {"0000", "..", "a%2F..%2Fb"}) {
    auto r = send("PATCH", "/v2/app/blobs/uploads/" + id, "x");
    EXPECT_EQ(r.status, 404) << id;
    EXPECT_EQ(errorCode(r), "BLOB_UPLOAD_UNKNOWN") << id;
  }
  EXPECT_EQ(send("GET", "/v2/app/blobs/uploads/nope").status, 404);
  EXPECT_EQ(send("DELETE", "/v2/app/blobs/uploads/nope").status, 404);
}

TEST_F(OciDistributionApiTest, CancelledUploadIsGone) {
  createRepo("app");
  auto location = startUpload("app");
  ASSERT_EQ(send("PATCH", location, "abc", {{"content-range", "0-2"}}).status, 202);
  EXPECT_EQ(send("DELETE", location).status, 204);
  auto r = send("GET", location);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(errorCode(r), "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(OciDistributionApiTest, CrossRepositoryMount) {
  createRepo("source");
  createRepo("target");
  auto digest = pushBlob("source", "shared layer");
  auto r = send("POST", "/v2/target/blobs/uploads/?mount=" + digest + "&from=source");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(header(r, "Location"), "/v2/target/blobs/" + digest);
  EXPECT_EQ(header(r, "Docker-Content-Digest"), digest);
  EXPECT_EQ(bodyOf(send("GET", "/v2/target/blobs/" + digest)), "shared layer");
}

TEST_F(OciDistributionApiTest, MountOfABlobNotInTheSourceStartsASession) {
  createRepo("source");
  createRepo("target");
  createRepo("other");
  auto digest = pushBlob("other", "elsewhere");  // exists in the store, but not in "source"
  auto r = send("POST", "/v2/target/blobs/uploads/?mount=" + digest + "&from=source");
  EXPECT_EQ(r.status, 202);
  EXPECT_THAT(header(r, "Location").value_or(""), ::testing::StartsWith("/v2/target/blobs/uploads/"));
  EXPECT_EQ(send("GET", "/v2/target/blobs/" + digest).status, 404);
  // Without "from" nothing is mounted from other repositories either.
  EXPECT_EQ(send("POST", "/v2/target/blobs/uploads/?mount=" + digest).status, 202);
  EXPECT_EQ(send("GET", "/v2/target/blobs/" + digest).status, 404);
}

TEST_F(OciDistributionApiTest, BlobLargerThanTheLimitIsSizeInvalid) {
  makeApi({.maxBlobBytes = 16});
  createRepo("app");
  std::string content(17, 'z');
  auto r = send("POST", "/v2/app/blobs/uploads/?digest=" + oci::digestOf(content).str(), content);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(errorCode(r), "SIZE_INVALID");

  auto location = startUpload("app");
  FakeBodyReader stream(content, std::nullopt);  // the size is only discovered while reading
  auto patch = send("PATCH", location, {}, {}, &stream);
  EXPECT_EQ(patch.status, 413);
  EXPECT_FALSE(blobs_->exists(oci::digestOf(content)));
}

TEST_F(OciDistributionApiTest, PushToAMissingRepositoryIsNameUnknownUnlessAutoCreate) {
  auto r = send("POST", "/v2/nosuch/blobs/uploads/");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(errorCode(r), "NAME_UNKNOWN");

  makeApi({.autoCreateRepositories = true});
  auto digest = pushBlob("auto/created", "first push");
  EXPECT_TRUE(registry::findRepository(ctx(), "auto/created").ok());
  EXPECT_EQ(bodyOf(send("GET", "/v2/auto/created/blobs/" + digest)), "first push");
}

TEST_F(OciDistributionApiTest, InvalidRepositoryNameIsNameInvalid) {
  for (std::string path : {"/v2/UPPER/tags/list", "/v2/a..b/manifests/latest", "/v2/-x/blobs/uploads/"}) {
    auto r = send(path.find("uploads") != std::string::npos ? "POST" : "GET", path);
    EXPECT_EQ(r.status, 400) << path;
    EXPECT_EQ(errorCode(r), "NAME_INVALID") << path;
  }
}

// --- pull: blobs (end-2) ------------------------------------------------------

TEST_F(OciDistributionApiTest, HeadBlobHasHeadersButNoBody) {
  createRepo("app");
  auto digest = pushBlob("app", "0123456789");
  auto r = send("HEAD", "/v2/app/blobs/" + digest);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(header(r, "Content-Length"), "10");
  EXPECT_EQ(header(r, "Docker-Content-Digest"), digest);
  EXPECT_TRUE(r.body.empty());
  EXPECT_FALSE(r.stream);
}

TEST_F(OciDistributionApiTest, RangeRequestsGet206OrTheWholeBlob) {
  createRepo("app");
  auto digest = pushBlob("app", "0123456789");
  auto r = send("GET", "/v2/app/blobs/" + digest, {}, {{"range", "bytes=2-5"}});
  ASSERT_EQ(r.status, 206);
  EXPECT_EQ(header(r, "Content-Range"), "bytes 2-5/10");
  EXPECT_EQ(bodyOf(r), "2345");

  auto suffix = send("GET", "/v2/app/blobs/" + digest, {}, {{"range", "bytes=-3"}});
  ASSERT_EQ(suffix.status, 206);
  EXPECT_EQ(bodyOf(suffix), "789");

  auto multi = send("GET", "/v2/app/blobs/" + digest, {}, {{"range", "bytes=0-1,3-4"}});
  EXPECT_EQ(multi.status, 200);
  EXPECT_EQ(bodyOf(multi), "0123456789");
}

TEST_F(OciDistributionApiTest, UnsatisfiableRangeIs416) {
  createRepo("app");
  auto digest = pushBlob("app", "0123456789");
  auto r = send("GET", "/v2/app/blobs/" + digest, {}, {{"range", "bytes=10-"}});
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(header(r, "Content-Range"), "bytes */10");
}

TEST_F(OciDistributionApiTest, BlobIsServedOnlyFromRepositoriesItIsLinkedInto) {
  createRepo("repo-a");
  createRepo("repo-b");
  auto digest = pushBlob("repo-a", "private to a");
  auto r = send("GET", "/v2/repo-b/blobs/" + digest);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(errorCode(r), "BLOB_UNKNOWN");
  auto unknown = send("GET", "/v2/repo-a/blobs/" + oci::digestOf("never pushed").str());
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(errorCode(unknown), "BLOB_UNKNOWN");
  auto noRepo = send("GET", "/v2/nosuch/blobs/" + digest);
  EXPECT_EQ(noRepo.status, 404);
  EXPECT_EQ(errorCode(noRepo), "NAME_UNKNOWN");
  auto badDigest = send("GET", "/v2/repo-a/blobs/sha256:1234");
  EXPECT_EQ(badDigest.status, 400);
  EXPECT_EQ(errorCode(badDigest), "DIGEST_INVALID");
}

// --- push + pull: manifests (end-3, end-7) ----------------------------------------

TEST_F(OciDistributionApiTest, ManifestPushByTagAndPullByTagAndDigest) {
  createRepo("app");
  auto body = imageManifest("app", {"layer-1", "layer-2"}).dump(2);  // byte-exact, pretty-printed on purpose
  auto digest = oci::digestOf(body).str();
  auto put = putManifest("app", "v1", body);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(header(put, "Location"), "/v2/app/manifests/" + digest);
  EXPECT_EQ(header(put, "Docker-Content-Digest"), digest);
  EXPECT_FALSE(header(put, "OCI-Subject"));

  for (const std::string& ref : {std::string("v1"), digest}) {
    auto get = send("GET", "/v2/app/manifests/" + ref, {}, {{"accept", "application/vnd.oci.image.manifest.v1+json"}});
    ASSERT_EQ(get.status, 200) << ref;
    EXPECT_EQ(get.body, body);
    EXPECT_EQ(header(get, "Content-Type"), "application/vnd.oci.image.manifest.v1+json");
    EXPECT_EQ(header(get, "Docker-Content-Digest"), digest);
  }
  // Accept is honoured loosely: a client asking only for Docker types still gets the OCI manifest.
  auto docker = send("GET", "/v2/app/manifests/v1", {},
                     {{"accept", "application/vnd.docker.distribution.manifest.v2+json"}});
  EXPECT_EQ(docker.status, 200);

  auto head = send("HEAD", "/v2/app/manifests/v1");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(header(head, "Content-Length"), std::to_string(body.size()));
  EXPECT_TRUE(head.body.empty());
}

TEST_F(OciDistributionApiTest, ManifestPushByDigest) {
  createRepo("app");
  auto body = imageManifest("app", {}).dump();
  auto digest = oci::digestOf(body).str();
  auto put = putManifest("app", digest, body);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(send("GET", "/v2/app/manifests/" + digest).body, body);

  auto mismatch = putManifest("app", oci::digestOf("something else").str(), body);
  EXPECT_EQ(mismatch.status, 400);
  EXPECT_EQ(errorCode(mismatch), "DIGEST_INVALID");
}

TEST_F(OciDistributionApiTest, ManifestReferencingAnUnknownBlobIsManifestBlobUnknown) {
  createRepo("app");
  auto m = imageManifest("app", {});
  m["layers"].push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                         {"digest", oci::digestOf("never uploaded").str()},
                         {"size", 14}});
  auto r = putManifest("app", "v1", m.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(errorCode(r), "MANIFEST_BLOB_UNKNOWN");
}

TEST_F(OciDistributionApiTest, InvalidManifestIsManifestInvalid) {
  createRepo("app");
  auto r = putManifest("app", "v1", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(errorCode(r), "MANIFEST_INVALID");
  EXPECT_EQ(send("GET", "/v2/app/manifests/v1").status, 404);
}

TEST_F(OciDistributionApiTest, OversizedManifestIs413) {
  makeApi({.maxManifestBytes = 64});
  createRepo("app");
  auto r = putManifest("app", "v1", std::string(65, ' '));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(errorCode(r), "SIZE_INVALID");
  FakeBodyReader stream(std::string(100, ' '), std::nullopt);
  auto streamed = send("PUT", "/v2/app/manifests/v1", {}, {{"content-type", "application/json"}}, &stream);
  EXPECT_EQ(streamed.status, 413);
  EXPECT_LE(stream.consumed(), 65u + 64 * 1024);  // stopped reading, did not buffer it all
}

TEST_F(OciDistributionApiTest, ManifestReadThroughTheStreamWhenStreamed) {
  createRepo("app");
  auto body = imageManifest("app", {"l"}).dump();
  FakeBodyReader stream(body, body.size());
  auto r = send("PUT", "/v2/app/manifests/v1", {}, {{"content-type", "application/vnd.oci.image.manifest.v1+json"}},
                &stream);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(send("GET", "/v2/app/manifests/v1").body, body);
}

TEST_F(OciDistributionApiTest, InvalidReferencesAreRefused) {
  createRepo("app");
  auto tag = send("GET", "/v2/app/manifests/-bad");
  EXPECT_EQ(tag.status, 400);
  EXPECT_EQ(errorCode(tag), "TAG_INVALID");
  auto digest = send("GET", "/v2/app/manifests/sha256:zz");
  EXPECT_EQ(digest.status, 400);
  EXPECT_EQ(errorCode(digest), "DIGEST_INVALID");
}

TEST_F(OciDistributionApiTest, UnknownManifestAndRepository) {
  createRepo("app");
  auto r = send("GET", "/v2/app/manifests/latest");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(errorCode(r), "MANIFEST_UNKNOWN");
  auto repo = send("GET", "/v2/nosuch/manifests/latest");
  EXPECT_EQ(repo.status, 404);
  EXPECT_EQ(errorCode(repo), "NAME_UNKNOWN");
  auto push = putManifest("nosuch", "latest", "{}");
  EXPECT_EQ(push.status, 404);
  EXPECT_EQ(errorCode(push), "NAME_UNKNOWN");
}

TEST_F(OciDistributionApiTest, ImmutableTagCannotMove) {
  createRepo("app", "IMMUTABLE");
  auto first = imageManifest("app", {"one"}).dump();
  auto second = imageManifest("app", {"two"}).dump();
  ASSERT_EQ(putManifest("app", "v1", first).status, 201);
  EXPECT_EQ(putManifest("app", "v1", first).status, 201);  // same digest again: idempotent
  auto moved = putManifest("app", "v1", second);
  EXPECT_EQ(moved.status, 400);
  EXPECT_EQ(errorCode(moved), "TAG_INVALID");
}

// --- content discovery (end-8, end-12) --------------------------------------------

TEST_F(OciDistributionApiTest, TagsListIsLexicalAndPaginatedWithLink) {
  createRepo("ns/app");
  auto body = imageManifest("ns/app", {}).dump();
  for (std::string tag : {"b", "a", "c", "B", "d"}) ASSERT_EQ(putManifest("ns/app", tag, body).status, 201);

  auto all = send("GET", "/v2/ns/app/tags/list");
  ASSERT_EQ(all.status, 200);
  auto doc = json::parse(all.body);
  EXPECT_EQ(doc["name"], "ns/app");
  EXPECT_EQ(doc["tags"], json::array({"B", "a", "b", "c", "d"}));
  EXPECT_FALSE(header(all, "Link"));

  auto page1 = send("GET", "/v2/ns/app/tags/list?n=2");
  EXPECT_EQ(json::parse(page1.body)["tags"], json::array({"B", "a"}));
  EXPECT_EQ(header(page1, "Link"), "</v2/ns/app/tags/list?n=2&last=a>; rel=\"next\"");

  auto page2 = send("GET", "/v2/ns/app/tags/list?n=2&last=a");
  EXPECT_EQ(json::parse(page2.body)["tags"], json::array({"b", "c"}));
  auto page3 = send("GET", "/v2/ns/app/tags/list?n=2&last=c");
  EXPECT_EQ(json::parse(page3.body)["tags"], json::array({"d"}));
  EXPECT_FALSE(header(page3, "Link"));

  auto lastOnly = send("GET", "/v2/ns/app/tags/list?last=b");
  EXPECT_EQ(json::parse(lastOnly.body)["tags"], json::array({"c", "d"}));

  auto zero = send("GET", "/v2/ns/app/tags/list?n=0");
  EXPECT_EQ(json::parse(zero.body)["tags"], json::array());
  EXPECT_FALSE(header(zero, "Link"));

  EXPECT_EQ(send("GET", "/v2/ns/app/tags/list?n=-1").status, 400);
  EXPECT_EQ(send("GET", "/v2/ns/app/tags/list?n=abc").status, 400);
}

TEST_F(OciDistributionApiTest, TagsListOfAnEmptyOrMissingRepository) {
  createRepo("empty");
  auto r = send("GET", "/v2/empty/tags/list");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["tags"], json::array());
  auto missing = send("GET", "/v2/nosuch/tags/list");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(errorCode(missing), "NAME_UNKNOWN");
}

TEST_F(OciDistributionApiTest, ReferrersListsManifestsWithASubject) {
  createRepo("app");
  auto image = imageManifest("app", {"base"}).dump();
  auto imageDigest = oci::digestOf(image).str();
  ASSERT_EQ(putManifest("app", "v1", image).status, 201);
  json subject = {{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                  {"digest", imageDigest},
                  {"size", image.size()}};

  auto sbom = imageManifest("app", {"sbom"}, subject, "application/vnd.example.sbom.v1");
  sbom["annotations"] = {{"org.example.kind", "sbom"}};
  auto sbomBody = sbom.dump();
  auto put = putManifest("app", oci::digestOf(sbomBody).str(), sbomBody);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(header(put, "OCI-Subject"), imageDigest);
  auto sig = imageManifest("app", {"sig"}, subject, "application/vnd.example.signature.v1").dump();
  ASSERT_EQ(putManifest("app", oci::digestOf(sig).str(), sig).status, 201);

  auto all = send("GET", "/v2/app/referrers/" + imageDigest);
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(header(all, "Content-Type"), "application/vnd.oci.image.index.v1+json");
  EXPECT_FALSE(header(all, "OCI-Filters-Applied"));
  auto index = json::parse(all.body);
  EXPECT_EQ(index["mediaType"], "application/vnd.oci.image.index.v1+json");
  EXPECT_EQ(index["schemaVersion"], 2);
  ASSERT_EQ(index["manifests"].size(), 2u);

  auto filtered = send("GET", "/v2/app/referrers/" + imageDigest + "?artifactType=application%2Fvnd.example.sbom.v1");
  ASSERT_EQ(filtered.status, 200);
  EXPECT_EQ(header(filtered, "OCI-Filters-Applied"), "artifactType");
  auto only = json::parse(filtered.body)["manifests"];
  ASSERT_EQ(only.size(), 1u);
  EXPECT_EQ(only[0]["digest"], oci::digestOf(sbomBody).str());
  EXPECT_EQ(only[0]["artifactType"], "application/vnd.example.sbom.v1");
  EXPECT_EQ(only[0]["annotations"]["org.example.kind"], "sbom");
  EXPECT_EQ(only[0]["size"], sbomBody.size());
}

TEST_F(OciDistributionApiTest, ReferrersOfAnUnreferencedDigestIsAnEmptyIndexAndBadDigestIs400) {
  createRepo("app");
  auto none = send("GET", "/v2/app/referrers/" + oci::digestOf("nothing").str());
  ASSERT_EQ(none.status, 200);
  EXPECT_EQ(json::parse(none.body)["manifests"], json::array());
  auto bad = send("GET", "/v2/app/referrers/sha256:nothex");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(errorCode(bad), "DIGEST_INVALID");
}

TEST_F(OciDistributionApiTest, CatalogIsPaginated) {
  for (std::string name : {"zeta", "alpha", "mid/dle"}) createRepo(name);
  auto all = send("GET", "/v2/_catalog");
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(json::parse(all.body)["repositories"], json::array({"alpha", "mid/dle", "zeta"}));
  auto page = send("GET", "/v2/_catalog?n=1&last=alpha");
  EXPECT_EQ(json::parse(page.body)["repositories"], json::array({"mid/dle"}));
  EXPECT_EQ(header(page, "Link"), "</v2/_catalog?n=1&last=mid%2Fdle>; rel=\"next\"");
}

// --- content management (end-9, end-10) -------------------------------------------

TEST_F(OciDistributionApiTest, DeleteTagKeepsTheManifest) {
  createRepo("app");
  auto body = imageManifest("app", {}).dump();
  auto digest = oci::digestOf(body).str();
  ASSERT_EQ(putManifest("app", "v1", body).status, 201);
  EXPECT_EQ(send("DELETE", "/v2/app/manifests/v1").status, 202);
  auto gone = send("GET", "/v2/app/manifests/v1");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(errorCode(gone), "MANIFEST_UNKNOWN");
  EXPECT_EQ(send("GET", "/v2/app/manifests/" + digest).status, 200);
  EXPECT_EQ(json::parse(send("GET", "/v2/app/tags/list").body)["tags"], json::array());
}

TEST_F(OciDistributionApiTest, DeleteManifestByDigestRemovesItsTags) {
  createRepo("app");
  auto body = imageManifest("app", {}).dump();
  auto digest = oci::digestOf(body).str();
  ASSERT_EQ(putManifest("app", "v1", body).status, 201);
  ASSERT_EQ(putManifest("app", "v2", body).status, 201);
  EXPECT_EQ(send("DELETE", "/v2/app/manifests/" + digest).status, 202);
  EXPECT_EQ(send("GET", "/v2/app/manifests/" + digest).status, 404);
  EXPECT_EQ(send("GET", "/v2/app/manifests/v1").status, 404);
  EXPECT_EQ(send("GET", "/v2/app/manifests/v2").status, 404);
  auto again = send("DELETE", "/v2/app/manifests/" + digest);
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(errorCode(again), "MANIFEST_UNKNOWN");
}

TEST_F(OciDistributionApiTest, DeleteBlob) {
  createRepo("app");
  auto digest = pushBlob("app", "to delete");
  EXPECT_EQ(send("DELETE", "/v2/app/blobs/" + digest).status, 202);
  auto get = send("GET", "/v2/app/blobs/" + digest);
  EXPECT_EQ(get.status, 404);
  EXPECT_EQ(errorCode(get), "BLOB_UNKNOWN");
  auto again = send("DELETE", "/v2/app/blobs/" + digest);
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(errorCode(again), "BLOB_UNKNOWN");
}

// --- routing details ----------------------------------------------------------------------

TEST_F(OciDistributionApiTest, WrongMethodIs405WithAllow) {
  createRepo("app");
  auto r = send("POST", "/v2/app/manifests/v1");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), "GET, HEAD, PUT, DELETE");
  EXPECT_EQ(send("PUT", "/v2/app/blobs/uploads/").status, 405);
  EXPECT_EQ(send("GET", "/v2/app/nothing/here").status, 404);
}

TEST(OciDistributionApiStatic, HandlesAndStreamsBody) {
  EXPECT_TRUE(OciDistributionApi::handles("/v2/"));
  EXPECT_TRUE(OciDistributionApi::handles("/v2"));
  EXPECT_TRUE(OciDistributionApi::handles("/v2/a/tags/list"));
  EXPECT_FALSE(OciDistributionApi::handles("/v20"));
  EXPECT_FALSE(OciDistributionApi::handles("/"));

  EXPECT_TRUE(OciDistributionApi::streamsBody("POST", "/v2/a/blobs/uploads/?digest=sha256:00"));
  EXPECT_TRUE(OciDistributionApi::streamsBody("PATCH", "/v2/a/b/blobs/uploads/123"));
  EXPECT_TRUE(OciDistributionApi::streamsBody("PUT", "/v2/a/blobs/uploads/123?digest=x"));
  EXPECT_TRUE(OciDistributionApi::streamsBody("PUT", "/v2/a/manifests/latest"));
  EXPECT_FALSE(OciDistributionApi::streamsBody("GET", "/v2/a/blobs/uploads/123"));
  EXPECT_FALSE(OciDistributionApi::streamsBody("POST", "/"));
  EXPECT_FALSE(OciDistributionApi::streamsBody("GET", "/v2/a/blobs/sha256:00"));
}

}  // namespace
}  // namespace berth::api
