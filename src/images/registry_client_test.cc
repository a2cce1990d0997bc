#include "images/registry_client.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "images/image_store_impl.h"
#include "images/testing/fake_http_server.h"
#include "images/www_authenticate.h"
#include "oci/media_types.h"

namespace berth::images {
namespace {

namespace fs = std::filesystem;
using testing::FakeHttpServer;
using testing::FakeRequest;
using testing::FakeResponse;

TEST(WwwAuthenticateTest, ParsesChallenges) {
  auto c = parseWwwAuthenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(c[0].param("service"), "registry.docker.io");
  EXPECT_EQ(c[0].param("scope"), "repository:library/busybox:pull");

  auto multi = parseWwwAuthenticate(R"(Basic realm="Registry Realm", Bearer realm="http://x/t",SERVICE=reg, scope="a:b:pull,push")");
  ASSERT_EQ(multi.size(), 2u);
  EXPECT_EQ(multi[0].scheme, "basic");
  EXPECT_EQ(multi[0].param("realm"), "Registry Realm");
  EXPECT_EQ(multi[1].scheme, "bearer");
  EXPECT_EQ(multi[1].param("service"), "reg");
  EXPECT_EQ(multi[1].param("scope"), "a:b:pull,push");

  auto escaped = parseWwwAuthenticate(R"(Bearer realm="a\"b")");
  ASSERT_EQ(escaped.size(), 1u);
  EXPECT_EQ(escaped[0].param("realm"), "a\"b");
  EXPECT_TRUE(parseWwwAuthenticate("").empty());
  EXPECT_EQ(parseWwwAuthenticate("Basic").size(), 1u);
  // Garbage does not crash and yields nothing usable.
  for (auto& ch : parseWwwAuthenticate("=,,\"\"=\"")) EXPECT_TRUE(ch.param("realm").empty());
}

TEST(UrlTest, ParsesAndResolves) {
  auto u = Url::parse("http://127.0.0.1:5000/v2/x/blobs/sha256:1?a=b");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, "5000");
  EXPECT_EQ(u->target, "/v2/x/blobs/sha256:1?a=b");
  EXPECT_EQ(Url::parse("https://reg.io")->port, "443");
  EXPECT_EQ(Url::parse("http://[::1]:80/x")->hostPort(), "[::1]:80");
  EXPECT_EQ(u->resolve("/other")->str(), "http://127.0.0.1:5000/other");
  EXPECT_EQ(u->resolve("https://s3.example/b?sig=1")->str(), "https://s3.example:443/b?sig=1");
  EXPECT_EQ(u->resolve("//cdn.example/z")->str(), "http://cdn.example:80/z");
  EXPECT_EQ(u->resolve("rel")->str(), "http://127.0.0.1:5000/v2/x/blobs/rel");
  EXPECT_FALSE(Url::parse("ftp://x/").ok());
  EXPECT_FALSE(Url::parse("http://x:abc/").ok());
  EXPECT_EQ(base64Encode("user:pass"), "dXNlcjpwYXNz");
  EXPECT_EQ(base64Encode("a"), "YQ==");
  EXPECT_EQ(base64Encode("ab"), "YWI=");
  EXPECT_EQ(urlEncode("repository:a/b:pull"), "repository%3Aa%2Fb%3Apull");
}

// A registry that wants Bearer tokens from its own /token endpoint and redirects
// blob downloads to a separate "storage" server (another origin).
class BearerRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = std::make_unique<FakeHttpServer>([this](const FakeRequest& r) {
      FakeResponse out;
      if (r.target.starts_with("/blob?sig=ok")) out.body = blob_;
      else out.status = 403;
      return out;
    });
    registry_ = std::make_unique<FakeHttpServer>([this](const FakeRequest& r) { return handle(r); });
    base_ = *Url::parse("http://127.0.0.1:" + std::to_string(registry_->port()));
  }

  FakeResponse handle(const FakeRequest& r) {
    FakeResponse out;
    std::string self = "http://127.0.0.1:" + std::to_string(registry_->port());
    if (r.target.starts_with("/token")) {
      if (requireCreds_ && r.header("authorization") != "Basic " + base64Encode("user:pass")) {
        out.status = 401;
        return out;
      }
      if (r.target.find("scope=repository%3Aapp%3Apull") == std::string::npos) {
        out.status = 400;
        return out;
      }
      out.body = R"({"token":"tok-)" + std::to_string(++issued_) + R"(","expires_in":300})";
      return out;
    }
    if (r.header("authorization") != "Bearer tok-" + std::to_string(issued_) || issued_ == 0) {
      out.status = 401;
      out.headers.push_back({"WWW-Authenticate", "Bearer realm=\"" + self +
                                                     "/token\",service=\"fake-registry\",scope=\"repository:app:pull\""});
      out.body = R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})";
      return out;
    }
    if (r.target == "/v2/app/manifests/latest") {
      out.headers.push_back({"Content-Type", std::string(oci::kOciManifest)});
      out.body = manifest_;
      return out;
    }
    if (r.target.starts_with("/v2/app/blobs/")) {
      out.status = 307;
      out.headers.push_back({"Location", "http://localhost:" + std::to_string(storage_->port()) + "/blob?sig=ok"});
      return out;
    }
    out.status = 404;
    return out;
  }

  RegistryClient client(std::optional<RegistryCredentials> creds) {
    RegistryClientOptions o;
    o.credentials = std::move(creds);
    return RegistryClient(base_, o, clock_);
  }

  FakeClock clock_;
  std::unique_ptr<FakeHttpServer> registry_, storage_;
  Url base_;
  bool requireCreds_ = true;
  int issued_ = 0;
  std::string manifest_ = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":1},"layers":[]})";
  std::string blob_ = "blob bytes from object storage";
};

TEST_F(BearerRegistryTest, FetchesTokenCachesItAndStripsAuthOnCrossHostRedirect) {
  auto c = client(RegistryCredentials{"user", "pass"});
  auto m = c.getManifest("app", "latest");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->body, manifest_);
  EXPECT_EQ(m->digest, oci::digestOf(manifest_));
  EXPECT_EQ(c.tokenFetchesForTest(), 1);

  std::string got;
  BodySink sink = [&](std::string_view s) {
    got.append(s);
    return okStatus();
  };
  ASSERT_TRUE(c.getBlob("app", oci::digestOf(blob_), sink).ok());
  EXPECT_EQ(got, blob_);
  EXPECT_EQ(c.tokenFetchesForTest(), 1) << "token for the same scope must be reused";

  // The registry saw the token; the storage host never saw any credentials.
  auto regReqs = registry_->requests();
  EXPECT_EQ(regReqs.back().header("authorization"), "Bearer tok-1");
  auto storageReqs = storage_->requests();
  ASSERT_EQ(storageReqs.size(), 1u);
  EXPECT_EQ(storageReqs[0].header("authorization"), "");

  // After expiry the client is challenged again and fetches a new token.
  clock_.advance(std::chrono::seconds(400));
  ASSERT_TRUE(c.getManifest("app", "latest").ok());
  EXPECT_EQ(c.tokenFetchesForTest(), 2);
}

TEST_F(BearerRegistryTest, WrongCredentialsAreReported) {
  auto c = client(RegistryCredentials{"user", "wrong"});
  auto m = c.getManifest("app", "latest");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("refused the credentials"), std::string::npos) << m.error().message;
}

TEST_F(BearerRegistryTest, AnonymousTokens) {
  requireCreds_ = false;
  auto c = client(std::nullopt);
  auto m = c.getManifest("app", "latest");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_TRUE(registry_->requests()[1].header("authorization").empty());  // the token request: anonymous
}

TEST(BasicRegistryTest, RetriesWithBasicCredentials) {
  FakeHttpServer reg([](const FakeRequest& r) {
    FakeResponse out;
    if (r.header("authorization") != "Basic " + base64Encode("alice:s3cret")) {
      out.status = 401;
      out.headers.push_back({"WWW-Authenticate", "Basic realm=\"test\""});
      return out;
    }
    return out;  // 200 for /v2/
  });
  FakeClock clock;
  Url base = *Url::parse("http://127.0.0.1:" + std::to_string(reg.port()));
  RegistryClientOptions with;
  with.credentials = RegistryCredentials{"alice", "s3cret"};
  RegistryClient ok(base, with, clock);
  EXPECT_TRUE(ok.ping().ok());
  EXPECT_TRUE(ok.ping().ok());
  RegistryClient anon(base, {}, clock);
  auto st = anon.ping();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("requires authentication"), std::string::npos) << st.error().message;
}

TEST(ManifestFetchTest, VerifiesDigestsAndSize) {
  std::string body = R"({"schemaVersion":2})";
  std::string claimed = oci::digestOf("something else").str();
  FakeHttpServer reg([&](const FakeRequest& r) {
    FakeResponse out;
    if (r.target.find("/manifests/huge") != std::string::npos) {
      out.body = std::string(5 * 1024 * 1024, ' ');
      return out;
    }
    if (r.target.find("/manifests/lying-tag") != std::string::npos) {
      out.headers.push_back({"Docker-Content-Digest", claimed});
    }
    out.body = body;
    return out;
  });
  FakeClock clock;
  RegistryClient c(*Url::parse("http://127.0.0.1:" + std::to_string(reg.port())), {}, clock);
  auto byDigest = c.getManifest("app", oci::digestOf(body).str());
  ASSERT_TRUE(byDigest.ok());
  auto wrong = c.getManifest("app", oci::digestOf("other").str());
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("digest mismatch"), std::string::npos);
  auto lying = c.getManifest("app", "lying-tag");
  ASSERT_FALSE(lying.ok());
  EXPECT_NE(lying.error().message.find("Docker-Content-Digest"), std::string::npos);
  auto huge = c.getManifest("app", "huge");
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().code, ErrorCode::kPayloadTooLarge);
}

TEST(HttpClientTest, TimesOut) {
  FakeHttpServer slow([](const FakeRequest&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return FakeResponse{};
  });
  HttpClientOptions o;
  o.ioTimeout = std::chrono::milliseconds(200);
  HttpClient client(o);
  HttpRequest req;
  req.url = *Url::parse("http://127.0.0.1:" + std::to_string(slow.port()) + "/");
  auto r = client.send(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("timed out"), std::string::npos);
  // Connection refused is a prompt kIo error.
  req.url = *Url::parse("http://127.0.0.1:1/");
  auto refused = client.send(req);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kIo);
}

// A registry whose layer bytes do not match the manifest's digest: the pull must
// fail and leave nothing in the content store.
TEST(WrongDigestPullTest, BlobMismatchLeavesNothing) {
  std::string layerClaimed = "the real layer";
  std::string layerServed = "tampered layer";
  std::string config = R"({"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[")" +
                       oci::digestOf("x").str() + R"("]}})";
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", oci::kOciManifest},
      {"config", {{"mediaType", oci::kOciConfig}, {"digest", oci::digestOf(config).str()}, {"size", config.size()}}},
      {"layers",
       {{{"mediaType", oci::kOciLayerTarGzip},
         {"digest", oci::digestOf(layerClaimed).str()},
         {"size", layerServed.size()}}}}};
  std::string manifestBody = manifest.dump();
  FakeHttpServer reg([&](const FakeRequest& r) {
    FakeResponse out;
    if (r.target == "/v2/evil/app/manifests/v1") {
      out.headers.push_back({"Content-Type", std::string(oci::kOciManifest)});
      out.body = manifestBody;
    } else if (r.target == "/v2/evil/app/blobs/" + oci::digestOf(config).str()) {
      out.body = config;
    } else if (r.target == "/v2/evil/app/blobs/" + oci::digestOf(layerClaimed).str()) {
      out.body = layerServed;
    } else {
      out.status = 404;
    }
    return out;
  });
  char tmpl[] = "/tmp/berth-wrongdigest-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  ImageStoreOptions o;
  o.root = dir + "/store";
  o.registryOverride["registry.example.com"] = "http://127.0.0.1:" + std::to_string(reg.port());
  auto store = ImageStoreImpl::open(o);
  ASSERT_TRUE(store.ok());
  auto img = (*store)->pull({"registry.example.com/evil/app:v1", PullBehavior::kAlways, std::nullopt});
  ASSERT_FALSE(img.ok());
  EXPECT_NE(img.error().message.find("digest mismatch"), std::string::npos) << img.error().message;
  EXPECT_NE(img.error().message.find("registry.example.com/evil/app:v1"), std::string::npos);
  auto& cs = (*store)->contentStore();
  EXPECT_FALSE(cs.hasBlob(oci::digestOf(layerClaimed)));
  EXPECT_FALSE(cs.hasLayer(oci::digestOf(layerClaimed)));
  EXPECT_TRUE(fs::is_empty(o.root + "/ingest"));
  EXPECT_TRUE(fs::is_empty(o.root + "/layers/sha256"));
  EXPECT_TRUE(fs::is_empty(o.root + "/images"));
  // The default behaviour has no cache to fall back to either.
  EXPECT_FALSE((*store)->pull({"registry.example.com/evil/app:v1", PullBehavior::kDefault, std::nullopt}).ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace berth::images
