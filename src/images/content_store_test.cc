#include "images/content_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "images/testing/tar_builder.h"

namespace berth::images {
namespace {

namespace fs = std::filesystem;

std::size_t countEntries(const fs::path& dir) {
  std::size_t n = 0;
  for (auto it = fs::directory_iterator(dir); it != fs::directory_iterator(); ++it) ++n;
  return n;
}

class ContentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-cs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto s = ContentStore::open(dir_ + "/store");
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void expectNoBlobsOrTemps() {
    EXPECT_EQ(countEntries(store_->root() + "/blobs/sha256"), 0u);
    EXPECT_EQ(countEntries(store_->root() + "/ingest"), 0u);
  }

  oci::Digest storeLayer(const std::vector<testing::TarEntry>& entries) {
    std::string tar = dir_ + "/layer.tgz";
    testing::writeTar(tar, entries, testing::TarCompression::kGzip);
    std::ifstream in(tar, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    oci::Digest d = oci::digestOf(bytes);
    EXPECT_TRUE(store_->putBlob(d, bytes).ok());
    return d;
  }

  std::string dir_;
  std::unique_ptr<ContentStore> store_;
};

TEST_F(ContentStoreTest, StoresVerifiedBlob) {
  std::string data = "hello blob";
  auto d = oci::digestOf(data);
  ASSERT_TRUE(store_->putBlob(d, data).ok());
  EXPECT_TRUE(store_->hasBlob(d));
  auto back = store_->readBlob(d, 1024);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, data);
  EXPECT_EQ(countEntries(store_->root() + "/ingest"), 0u);
  EXPECT_FALSE(store_->readBlob(d, 3).ok());  // size cap
}

TEST_F(ContentStoreTest, WrongDigestIsRefusedAndLeavesNothing) {
  auto claimed = oci::digestOf("what the manifest promised");
  auto st = store_->putBlob(claimed, "something else entirely");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidParameter);
  EXPECT_NE(st.error().message.find("digest mismatch"), std::string::npos) << st.error().message;
  EXPECT_FALSE(store_->hasBlob(claimed));
  expectNoBlobsOrTemps();
}

TEST_F(ContentStoreTest, StreamingWrongDigestAndOversizeLeaveNothing) {
  std::string data(1 << 20, 'x');
  auto d = oci::digestOf(data);
  {
    auto w = store_->beginWrite(d, static_cast<std::int64_t>(data.size()));
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->write(data.substr(0, 1000)).ok());
    ASSERT_TRUE((*w)->write(std::string(data.size() - 1000, 'y')).ok());  // tampered tail
    auto st = (*w)->commit();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("digest mismatch"), std::string::npos);
  }
  {
    auto w = store_->beginWrite(d, 10);
    ASSERT_TRUE(w.ok());
    auto st = (*w)->write(data.substr(0, 11));
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("larger than its descriptor size"), std::string::npos);
  }
  {
    auto w = store_->beginWrite(d, static_cast<std::int64_t>(data.size()));
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->write(data.substr(0, 5)).ok());
    // Abandoned (connection dropped): destructor cleans up.
  }
  {
    auto w = store_->beginWrite(d, static_cast<std::int64_t>(data.size()) + 1);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->write(data).ok());
    EXPECT_FALSE((*w)->commit().ok());  // short
  }
  expectNoBlobsOrTemps();
}

TEST_F(ContentStoreTest, ConcurrentWritersOfTheSameBlob) {
  std::string data(3 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131);
  auto d = oci::digestOf(data);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto w = store_->beginWrite(d, static_cast<std::int64_t>(data.size()));
      if (!w.ok()) return;
      for (std::size_t off = 0; off < data.size(); off += 65536) {
        if (!(*w)->write(std::string_view(data).substr(off, 65536)).ok()) return;
      }
      if ((*w)->commit().ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  auto back = store_->readBlob(d, data.size());
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == data);
  EXPECT_EQ(countEntries(store_->root() + "/blobs/sha256"), 1u);
  EXPECT_EQ(countEntries(store_->root() + "/ingest"), 0u);
}

TEST_F(ContentStoreTest, LayerIsUnpackedOnceUnderConcurrency) {
  auto d = storeLayer({testing::TarEntry::file("bin/tool", "tool", 0755)});
  std::vector<std::thread> threads;
  std::vector<std::string> paths(6);
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      auto p = store_->ensureUnpacked(d);
      if (p.ok()) paths[t] = *p;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& p : paths) EXPECT_EQ(p, store_->layerPath(d));
  EXPECT_TRUE(fs::exists(store_->layerPath(d) + "/bin/tool"));
  EXPECT_EQ(countEntries(store_->root() + "/layers/sha256"), 1u);  // no temp dirs left
}

TEST_F(ContentStoreTest, HostileLayerLeavesNoLayerDir) {
  auto d = storeLayer({testing::TarEntry::symlink("l", dir_), testing::TarEntry::file("l/evil", "x")});
  auto p = store_->ensureUnpacked(d);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("symlink escape"), std::string::npos) << p.error().message;
  EXPECT_NE(p.error().message.find(d.str()), std::string::npos);
  EXPECT_FALSE(store_->hasLayer(d));
  EXPECT_EQ(countEntries(store_->root() + "/layers/sha256"), 0u);
  EXPECT_FALSE(fs::exists(dir_ + "/evil"));
}

TEST_F(ContentStoreTest, ImageRecordsSurviveReopen) {
  ImageRecord r;
  r.reference = "127.0.0.1:5000/test/busybox:latest";
  r.manifestDigest = oci::digestOf("m");
  r.manifestMediaType = "application/vnd.oci.image.manifest.v1+json";
  r.configDigest = oci::digestOf("c");
  r.layers = {oci::digestOf("l1"), oci::digestOf("l2")};
  r.layerMediaTypes = {"a", "b"};
  ASSERT_TRUE(store_->putImage(r).ok());
  store_.reset();
  auto reopened = ContentStore::open(dir_ + "/store");
  ASSERT_TRUE(reopened.ok());
  auto back = (*reopened)->getImage(r.reference);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->manifestDigest, r.manifestDigest);
  EXPECT_EQ(back->layers, r.layers);
  EXPECT_EQ(back->layerMediaTypes, r.layerMediaTypes);
  auto missing = (*reopened)->getImage("127.0.0.1:5000/test/other:latest");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace berth::images
