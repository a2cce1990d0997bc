// End to end against the real CNCF distribution registry (Debian's
// docker-registry) on a loopback port, with a busybox image built from Debian's
// busybox-static by tests/images/build_busybox_image.sh and pushed with skopeo.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "images/http_client.h"
#include "images/image_store_impl.h"
#include "images/overlay.h"
#include "images/testing/tar_builder.h"
#include "oci/media_types.h"

#ifndef BERTH_IMAGES_TEST_DIR
#error "BERTH_IMAGES_TEST_DIR must point at tests/images"
#endif

namespace berth::images {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Registry {
  std::string work;
  std::string port;
  pid_t pid = -1;

  bool start(const std::string& dir, const std::string& htpasswd = "") {
    work = dir;
    auto [rc, out] = run(std::string(BERTH_IMAGES_TEST_DIR) + "/start_registry.sh " + dir + " " + htpasswd);
    if (rc != 0) {
      ADD_FAILURE() << "start_registry.sh failed: " << out;
      return false;
    }
    port = slurp(dir + "/registry.port");
    while (!port.empty() && (port.back() == '\n')) port.pop_back();
    pid = std::stoi(slurp(dir + "/registry.pid"));
    return true;
  }
  void stop() {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (::kill(pid, 0) == 0) ::kill(pid, SIGKILL);
    pid = -1;
  }
  std::string host() const { return "127.0.0.1:" + port; }
};

// Shared for the suite: one image build and one registry.
struct Suite {
  std::string dir;
  Registry registry;
  std::string ociDigest, dockerDigest, zstdDigest;
  std::string setupError;
};
Suite* suite = nullptr;

std::string manifestDigestOf(const std::string& host, const std::string& repoTag) {
  auto [rc, out] = run("skopeo inspect --raw --tls-verify=false docker://" + host + "/" + repoTag +
                       " | sha256sum | cut -d' ' -f1");
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return rc == 0 ? "sha256:" + out : "";
}

class ImageStoreE2eTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    suite = new Suite;
    char tmpl[] = "/tmp/berth-e2e-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      suite->setupError = "mkdtemp failed";
      return;
    }
    suite->dir = tmpl;
    auto [rc, out] = run(std::string(BERTH_IMAGES_TEST_DIR) + "/build_busybox_image.sh " + suite->dir + "/layout");
    if (rc != 0) {
      suite->setupError = "build_busybox_image.sh failed: " + out;
      return;
    }
    if (!suite->registry.start(suite->dir + "/registry")) {
      suite->setupError = "registry did not start";
      return;
    }
    const std::string h = suite->registry.host();
    const std::string src = "oci:" + suite->dir + "/layout:busybox";
    // zstd first: skopeo reuses a blob the registry already has instead of
    // recompressing, so the gzip pushes must come after it.
    for (const std::string& args :
         {"--dest-tls-verify=false --dest-compress --dest-compress-format zstd " + src + " docker://" + h +
              "/test/zbusybox:zstd",
          "--dest-tls-verify=false " + src + " docker://" + h + "/test/busybox:latest",
          "--dest-tls-verify=false --format v2s2 " + src + " docker://" + h + "/test/busybox:v2s2"}) {
      auto [prc, pout] = run("skopeo copy -q " + args);
      if (prc != 0) {
        suite->setupError = "skopeo copy failed: " + pout;
        return;
      }
    }
    suite->ociDigest = manifestDigestOf(h, "test/busybox:latest");
    suite->dockerDigest = manifestDigestOf(h, "test/busybox:v2s2");
    suite->zstdDigest = manifestDigestOf(h, "test/zbusybox:zstd");
  }

  static void TearDownTestSuite() {
    suite->registry.stop();
    if (!suite->dir.empty()) fs::remove_all(suite->dir);
    delete suite;
    suite = nullptr;
  }

 protected:
  void SetUp() override {
    ASSERT_TRUE(suite->setupError.empty()) << suite->setupError;
    char tmpl[] = "/tmp/berth-e2e-case-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    store_ = openStore(dir_ + "/store");
  }

  void TearDown() override {
    for (const auto& c : containers_) EXPECT_TRUE(removeRootfs(c).ok());
    store_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::unique_ptr<ImageStoreImpl> openStore(const std::string& root, std::map<std::string, std::string> overrides = {}) {
    ImageStoreOptions o;
    o.root = root;
    o.registryOverride = std::move(overrides);
    o.syncLayers = false;  // tests: the fsync path is exercised by content_store_test
    auto s = ImageStoreImpl::open(o);
    EXPECT_TRUE(s.ok());
    return s.ok() ? std::move(*s) : nullptr;
  }

  std::string ref(const std::string& repoTag) const { return suite->registry.host() + "/" + repoTag; }

  std::string container(const std::string& name) {
    containers_.push_back(dir_ + "/containers/" + name);
    return containers_.back();
  }

  // Registry pushes over the distribution API (monolithic upload), for content
  // skopeo would refuse to produce.
  std::string pushBlob(const std::string& repo, const std::string& bytes) {
    HttpClient http;
    HttpRequest post;
    post.method = "POST";
    post.url = *Url::parse("http://" + suite->registry.host() + "/v2/" + repo + "/blobs/uploads/");
    auto started = http.send(post);
    EXPECT_TRUE(started.ok());
    EXPECT_EQ(started->status, 202) << started->body;
    std::string location = started->header("location");
    std::string digest = oci::digestOf(bytes).str();
    HttpRequest put;
    put.method = "PUT";
    put.url = *post.url.resolve(location + (location.find('?') == std::string::npos ? "?" : "&") +
                                "digest=" + urlEncode(digest));
    put.headers.emplace_back("Content-Type", "application/octet-stream");
    put.body = bytes;
    auto done = http.send(put);
    EXPECT_TRUE(done.ok());
    EXPECT_EQ(done->status, 201) << done->body;
    return digest;
  }

  void pushManifest(const std::string& repo, const std::string& tag, std::string_view mediaType,
                    const std::string& body) {
    HttpClient http;
    HttpRequest put;
    put.method = "PUT";
    put.url = *Url::parse("http://" + suite->registry.host() + "/v2/" + repo + "/manifests/" + tag);
    put.headers.emplace_back("Content-Type", std::string(mediaType));
    put.body = body;
    auto r = http.send(put);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 201) << r->body;
  }

  // Pushes a one-layer image whose layer is `layerBytes` (tar+gzip).
  std::string pushSingleLayerImage(const std::string& repo, const std::string& tag, const std::string& layerBytes) {
    std::string layerDigest = pushBlob(repo, layerBytes);
    json config = {{"architecture", "amd64"},
                   {"os", "linux"},
                   {"config", {{"Cmd", {"sh"}}}},
                   {"rootfs", {{"type", "layers"}, {"diff_ids", {oci::digestOf("diff").str()}}}}};
    std::string configBytes = config.dump();
    std::string configDigest = pushBlob(repo, configBytes);
    json manifest = {
        {"schemaVersion", 2},
        {"mediaType", oci::kOciManifest},
        {"config", {{"mediaType", oci::kOciConfig}, {"digest", configDigest}, {"size", configBytes.size()}}},
        {"layers", {{{"mediaType", oci::kOciLayerTarGzip}, {"digest", layerDigest}, {"size", layerBytes.size()}}}}};
    pushManifest(repo, tag, oci::kOciManifest, manifest.dump());
    return layerDigest;
  }

  std::string tarGz(const std::vector<testing::TarEntry>& entries) {
    std::string path = dir_ + "/tmp-layer.tgz";
    testing::writeTar(path, entries, testing::TarCompression::kGzip);
    std::string bytes = slurp(path);
    fs::remove(path);
    return bytes;
  }

  void expectRunsInRootfs(const std::string& merged) {
    struct stat st;
    ASSERT_EQ(::stat((merged + "/bin/busybox").c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(::access((merged + "/bin/busybox").c_str(), X_OK), 0);
    EXPECT_EQ(fs::read_symlink(merged + "/bin/sh"), "busybox");
    auto [rc, out] = run("chroot " + merged + " /bin/sh -c 'echo hello from $(uname -s)'");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, "hello from Linux\n");
  }

  std::string dir_;
  std::unique_ptr<ImageStoreImpl> store_;
  std::vector<std::string> containers_;
};

TEST_F(ImageStoreE2eTest, PullsOciImageByTagUnpacksAndMountsRunnableRootfs) {
  auto img = store_->pull({ref("test/busybox:latest"), PullBehavior::kAlways, std::nullopt});
  ASSERT_TRUE(img.ok()) << img.error().message;
  EXPECT_EQ(img->reference, ref("test/busybox:latest"));
  EXPECT_EQ(img->manifestDigest, suite->ociDigest);
  ASSERT_EQ(img->layerDirs.size(), 1u);
  EXPECT_EQ(img->config["Cmd"], json({"sh"}));
  EXPECT_TRUE(fs::exists(img->layerDirs[0] + "/bin/busybox"));

  auto rootfs = mountOverlay(*img, container("c1"));
  ASSERT_TRUE(rootfs.ok()) << rootfs.error().message;
  expectRunsInRootfs(rootfs->merged);
  // The container's writes stay in its upper dir.
  auto [rc, out] = run("chroot " + rootfs->merged + " /bin/sh -c 'echo data > /tmp/x'");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(slurp(rootfs->upper + "/tmp/x"), "data\n");
  EXPECT_FALSE(fs::exists(img->layerDirs[0] + "/tmp/x"));
}

TEST_F(ImageStoreE2eTest, PullsDockerSchema2ByTagAndByDigestSharingLayers) {
  auto byTag = store_->pull({ref("test/busybox:v2s2"), PullBehavior::kAlways, std::nullopt});
  ASSERT_TRUE(byTag.ok()) << byTag.error().message;
  EXPECT_EQ(byTag->manifestDigest, suite->dockerDigest);
  EXPECT_NE(suite->dockerDigest, suite->ociDigest);
  auto rec = store_->contentStore().getImage(ref("test/busybox:v2s2"));
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->manifestMediaType, oci::kDockerManifest);
  EXPECT_EQ(rec->layerMediaTypes[0], oci::kDockerLayerTarGzip);

  auto byDigest = store_->pull({ref("test/busybox@" + suite->dockerDigest), PullBehavior::kAlways, std::nullopt});
  ASSERT_TRUE(byDigest.ok()) << byDigest.error().message;
  EXPECT_EQ(byDigest->manifestDigest, suite->dockerDigest);
  EXPECT_EQ(byDigest->reference, ref("test/busybox@" + suite->dockerDigest));

  // Same layer blob as the OCI variant: unpacked once, shared.
  auto oci = store_->pull({ref("test/busybox:latest"), PullBehavior::kAlways, std::nullopt});
  ASSERT_TRUE(oci.ok());
  EXPECT_EQ(oci->layerDirs, byTag->layerDirs);
  std::size_t layerDirs = 0;
  for (auto it = fs::directory_iterator(store_->contentStore().root() + "/layers/sha256"); it != fs::directory_iterator(); ++it) ++layerDirs;
  EXPECT_EQ(layerDirs, 1u);
}

TEST_F(ImageStoreE2eTest, PullsZstdLayers) {
  auto img = store_->pull({ref("test/zbusybox:zstd"), PullBehavior::kAlways, std::nullopt});
  ASSERT_TRUE(img.ok()) << img.error().message;
  EXPECT_EQ(img->manifestDigest, suite->zstdDigest);
  EXPECT_NE(suite->zstdDigest, suite->ociDigest);
  auto rec = store_->contentStore().getImage(ref("test/zbusybox:zstd"));
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->layerMediaTypes[0], oci::kOciLayerTarZstd);
  auto rootfs = mountOverlay(*img, container("z"));
  ASSERT_TRUE(rootfs.ok()) << rootfs.error().message;
  expectRunsInRootfs(rootfs->merged);
}

TEST_F(ImageStoreE2eTest, MultiArchIndexResolvesToLinuxAmd64) {
  auto size = [](const std::string& host, const std::string& repoTag) {
    auto [rc, out] = run("skopeo inspect --raw --tls-verify=false docker://" + host + "/" + repoTag + " | wc -c");
    return std::stoll(out);
  };
  const std::string h = suite->registry.host();
  // arm64 listed first (pointing at the Docker manifest), amd64 second (OCI).
  json index = {{"schemaVersion", 2},
                {"mediaType", oci::kOciIndex},
                {"manifests",
                 {{{"mediaType", oci::kDockerManifest},
                   {"digest", suite->dockerDigest},
                   {"size", size(h, "test/busybox:v2s2")},
                   {"platform", {{"os", "linux"}, {"architecture", "arm64"}, {"variant", "v8"}}}},
                  {{"mediaType", oci::kOciManifest},
                   {"digest", suite->ociDigest},
                   {"size", size(h, "test/busybox:latest")},
                   {"platform", {{"os", "linux"}, {"architecture", "amd64"}}}}}}};
  pushManifest("test/busybox", "multi", oci::kOciIndex, index.dump());
  auto img = store_->pull({ref("test/busybox:multi"), PullBehavior::kAlways, std::nullopt});
  ASSERT_TRUE(img.ok()) << img.error().message;
  EXPECT_EQ(img->manifestDigest, suite->ociDigest);

  json armOnly = index;
  armOnly["manifests"].erase(1);
  pushManifest("test/busybox", "arm-only", oci::kOciIndex, armOnly.dump());
  auto arm = store_->pull({ref("test/busybox:arm-only"), PullBehavior::kAlways, std::nullopt});
  ASSERT_FALSE(arm.ok());
  EXPECT_NE(arm.error().message.find("no manifest for platform linux/amd64"), std::string::npos)
      << arm.error().message;
}

TEST_F(ImageStoreE2eTest, WrongDigestReferenceIsRefused) {
  auto img = store_->pull({ref("test/busybox@sha256:" + std::string(64, '0')), PullBehavior::kAlways, std::nullopt});
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.error().code, ErrorCode::kNotFound);
  EXPECT_NE(img.error().message.find("MANIFEST_UNKNOWN"), std::string::npos) << img.error().message;
  EXPECT_TRUE(fs::is_empty(store_->contentStore().root() + "/blobs/sha256"));
}

TEST_F(ImageStoreE2eTest, BlobCorruptedInRegistryStorageIsRefusedAndLeavesNothing) {
  std::string layer = tarGz({testing::TarEntry::file("bin/app", "genuine app", 0755)});
  std::string digest = pushSingleLayerImage("test/corrupt", "v1", layer);
  // Flip bytes in the registry's stored copy (same size, so only the hash differs).
  std::string hex = digest.substr(7);
  std::string data = suite->registry.work + "/storage/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" +
                     hex + "/data";
  ASSERT_TRUE(fs::exists(data));
  std::string tampered = layer;
  tampered[tampered.size() / 2] ^= 0x5a;
  std::ofstream(data, std::ios::binary | std::ios::trunc) << tampered;

  auto img = store_->pull({ref("test/corrupt:v1"), PullBehavior::kAlways, std::nullopt});
  ASSERT_FALSE(img.ok());
  EXPECT_NE(img.error().message.find("digest mismatch"), std::string::npos) << img.error().message;
  auto d = *oci::Digest::parse(digest);
  EXPECT_FALSE(store_->contentStore().hasBlob(d));
  EXPECT_FALSE(store_->contentStore().hasLayer(d));
  EXPECT_TRUE(fs::is_empty(store_->contentStore().root() + "/ingest"));
  EXPECT_TRUE(fs::is_empty(store_->contentStore().root() + "/layers/sha256"));
  EXPECT_TRUE(fs::is_empty(store_->contentStore().root() + "/images"));
}

TEST_F(ImageStoreE2eTest, HostileLayersFromTheRegistryAreRefused) {
  // A sentinel directory next to the store: nothing may ever appear in it.
  std::string outside = dir_ + "/outside";
  fs::create_directories(outside);
  std::ofstream(outside + "/secret") << "original";
  struct Case {
    std::string name;
    std::vector<testing::TarEntry> entries;
    std::string why;
  };
  std::vector<Case> cases = {
      {"traversal", {testing::TarEntry::file("../../../outside/evil", "x")}, "'..'"},
      {"absolute", {testing::TarEntry::file(outside + "/evil", "x")}, "absolute path"},
      {"symlink-escape",
       {testing::TarEntry::symlink("etc", outside), testing::TarEntry::file("etc/evil", "x")},
       "symlink escape"},
      {"relative-symlink-escape",
       {testing::TarEntry::symlink("up", "../../../../../../.."), testing::TarEntry::file("up/" + outside.substr(1) + "/evil", "x")},
       "symlink escape"},
      {"hardlink-escape", {testing::TarEntry::hardlink("shadow", "/etc/shadow")}, "absolute path"},
      {"device", {testing::TarEntry::device(testing::TarEntry::kChar, "dev/kmem", 1, 2)}, "character device"},
      {"block-device", {testing::TarEntry::device(testing::TarEntry::kBlock, "dev/sda", 8, 0)}, "block device"},
  };
  for (const auto& c : cases) {
    std::vector<testing::TarEntry> entries = {testing::TarEntry::file("bin/ok", "fine")};
    entries.insert(entries.end(), c.entries.begin(), c.entries.end());
    std::string digest = pushSingleLayerImage("test/hostile", c.name, tarGz(entries));
    auto img = store_->pull({ref("test/hostile:" + c.name), PullBehavior::kAlways, std::nullopt});
    ASSERT_FALSE(img.ok()) << c.name << " was accepted";
    EXPECT_NE(img.error().message.find(c.why), std::string::npos) << c.name << ": " << img.error().message;
    EXPECT_FALSE(store_->contentStore().hasLayer(*oci::Digest::parse(digest))) << c.name;
    auto rec = store_->contentStore().getImage(ref("test/hostile:" + c.name));
    EXPECT_FALSE(rec.ok()) << c.name;
  }
  std::set<std::string> after;
  for (const auto& e : fs::directory_iterator(outside)) after.insert(e.path().filename().string());
  EXPECT_EQ(after, std::set<std::string>{"secret"});
  EXPECT_EQ(slurp(outside + "/secret"), "original");
  EXPECT_TRUE(fs::is_empty(store_->contentStore().root() + "/layers/sha256"));
  EXPECT_FALSE(fs::exists("/etc/evil"));
  EXPECT_FALSE(fs::exists("/dev/kmem") && fs::exists(store_->contentStore().root() + "/dev/kmem"));
}

TEST_F(ImageStoreE2eTest, PullBehaviorsWhenTheRegistryIsDown) {
  const std::string image = ref("test/busybox:latest");
  auto first = store_->pull({image, PullBehavior::kDefault, std::nullopt});
  ASSERT_TRUE(first.ok()) << first.error().message;
  // Reopen the same root (an agent restart) with the registry "down": same
  // reference, endpoint redirected to a closed port.
  store_.reset();
  store_ = openStore(dir_ + "/store", {{suite->registry.host(), "http://127.0.0.1:1"}});
  auto dflt = store_->pull({image, PullBehavior::kDefault, std::nullopt});
  ASSERT_TRUE(dflt.ok()) << "default falls back to the cache: " << dflt.error().message;
  EXPECT_EQ(dflt->manifestDigest, first->manifestDigest);
  EXPECT_EQ(dflt->layerDirs, first->layerDirs);
  EXPECT_EQ(dflt->config, first->config);
  auto always = store_->pull({image, PullBehavior::kAlways, std::nullopt});
  ASSERT_FALSE(always.ok());
  EXPECT_NE(always.error().message.find("cannot connect"), std::string::npos) << always.error().message;
  EXPECT_TRUE(store_->pull({image, PullBehavior::kOnce, std::nullopt}).ok());
  EXPECT_TRUE(store_->pull({image, PullBehavior::kPreferCached, std::nullopt}).ok());
  // Never-pulled images have nothing to fall back to.
  for (auto b : {PullBehavior::kDefault, PullBehavior::kOnce, PullBehavior::kPreferCached}) {
    EXPECT_FALSE(store_->pull({ref("test/busybox:v2s2"), b, std::nullopt}).ok());
  }
}

TEST_F(ImageStoreE2eTest, OnceKeepsTheRecordedImageWhenTheTagMoves) {
  const std::string h = suite->registry.host();
  auto copy = [&](const std::string& from, const std::string& to) {
    auto [rc, out] = run("skopeo copy -q --src-tls-verify=false --dest-tls-verify=false docker://" + h + "/" + from +
                         " docker://" + h + "/" + to);
    ASSERT_EQ(rc, 0) << out;
  };
  copy("test/busybox:latest", "test/moving:tag");
  const std::string image = ref("test/moving:tag");
  auto first = store_->pull({image, PullBehavior::kOnce, std::nullopt});
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->manifestDigest, suite->ociDigest);
  copy("test/busybox:v2s2", "test/moving:tag");  // the tag now names another manifest
  for (auto b : {PullBehavior::kOnce, PullBehavior::kPreferCached}) {
    auto again = store_->pull({image, b, std::nullopt});
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->manifestDigest, suite->ociDigest);
  }
  for (auto b : {PullBehavior::kDefault, PullBehavior::kAlways}) {
    auto fresh = store_->pull({image, b, std::nullopt});
    ASSERT_TRUE(fresh.ok());
    EXPECT_EQ(fresh->manifestDigest, suite->dockerDigest);
  }
}

TEST_F(ImageStoreE2eTest, EcrStyleNameIsRedirectedByRegistryOverride) {
  store_.reset();
  store_ = openStore(dir_ + "/store",
                     {{"123456789012.dkr.ecr.us-east-1.amazonaws.com", "http://" + suite->registry.host()}});
  auto img = store_->pull(
      {"123456789012.dkr.ecr.us-east-1.amazonaws.com/test/busybox:latest", PullBehavior::kAlways, std::nullopt});
  ASSERT_TRUE(img.ok()) << img.error().message;
  EXPECT_EQ(img->reference, "123456789012.dkr.ecr.us-east-1.amazonaws.com/test/busybox:latest");
  EXPECT_EQ(img->manifestDigest, suite->ociDigest);
  auto ep = store_->endpointFor(*oci::Reference::parse("quay.io/x/y"));
  EXPECT_EQ(*ep, "https://quay.io");
  EXPECT_EQ(*store_->endpointFor(*oci::Reference::parse("busybox")), "https://registry-1.docker.io");
  EXPECT_EQ(*store_->endpointFor(*oci::Reference::parse("localhost:5000/x")), "http://localhost:5000");
}

TEST_F(ImageStoreE2eTest, ConcurrentPullsOfTheSameImage) {
  std::vector<std::thread> threads;
  std::vector<Result<Image>> results(4, Error::make(ErrorCode::kInternal, "not run"));
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { results[i] = store_->pull({ref("test/busybox:latest"), PullBehavior::kAlways, std::nullopt}); });
  }
  for (auto& t : threads) t.join();
  for (auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->layerDirs, results[0]->layerDirs);
  }
  EXPECT_TRUE(fs::is_empty(store_->contentStore().root() + "/ingest"));
}

TEST_F(ImageStoreE2eTest, BasicAuthRegistry) {
  // bcrypt hash via Debian's python3 crypt module (htpasswd from apache2-utils is not installed).
  auto [rc, hash] = run("/usr/bin/python3 -W ignore -c \"import crypt; print(crypt.crypt('s3cret', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))\"");
  if (rc != 0 || !hash.starts_with("$2")) GTEST_SKIP() << "no bcrypt available to write an htpasswd file: " << hash;
  while (!hash.empty() && hash.back() == '\n') hash.pop_back();
  std::ofstream(dir_ + "/htpasswd") << "alice:" << hash << "\n";
  Registry authed;
  ASSERT_TRUE(authed.start(dir_ + "/authreg", dir_ + "/htpasswd"));
  struct Stop {
    Registry& r;
    ~Stop() { r.stop(); }
  } stop{authed};
  auto [prc, pout] = run("skopeo copy -q --dest-tls-verify=false --dest-creds alice:s3cret oci:" + suite->dir +
                         "/layout:busybox docker://" + authed.host() + "/private/busybox:latest");
  ASSERT_EQ(prc, 0) << pout;
  const std::string image = authed.host() + "/private/busybox:latest";
  auto anon = store_->pull({image, PullBehavior::kAlways, std::nullopt});
  ASSERT_FALSE(anon.ok());
  EXPECT_NE(anon.error().message.find("requires authentication"), std::string::npos) << anon.error().message;
  auto wrong = store_->pull({image, PullBehavior::kAlways, RegistryCredentials{"alice", "nope"}});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("refused the credentials"), std::string::npos) << wrong.error().message;
  auto ok = store_->pull({image, PullBehavior::kAlways, RegistryCredentials{"alice", "s3cret"}});
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->manifestDigest, suite->ociDigest);
}

}  // namespace
}  // namespace berth::images
