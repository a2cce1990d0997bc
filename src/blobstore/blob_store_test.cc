// Opening the store and reading committed blobs; committing (visibility,
// permissions, duplicates, sha512, empty blob, publish).
#include "blobstore/blob_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <latch>
#include <thread>

#include "blobstore/testing/blob_store_fixture.h"

namespace berth::blobstore::test {
namespace {

namespace fs = std::filesystem;

TEST(BlobStoreOpen, CreatesTheLayout) {
  TempDir dir;
  FakeClock clock;
  SeededRandom random(1);
  auto store = BlobStore::open(dir.path() + "/a/b", clock, random);
  ASSERT_TRUE(store.ok()) << errorOf(store.error());
  for (const char* sub : {"blobs/sha256", "blobs/sha512", "uploads"}) {
    EXPECT_TRUE(fs::is_directory(dir.path() + "/a/b/" + sub)) << sub;
  }
}

TEST(BlobStoreOpen, RootThatIsAFileIsAnIoError) {
  TempDir dir;
  std::ofstream(dir.path() + "/file") << "x";
  FakeClock clock;
  SeededRandom random(1);
  auto store = BlobStore::open(dir.path() + "/file", clock, random);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::kIo);
  EXPECT_NE(store.error().message.find(dir.path() + "/file"), std::string::npos) << store.error().message;
}

TEST(BlobStoreOpen, RefusesASymlinkedLayoutDirectory) {
  TempDir dir;
  fs::create_directories(dir.path() + "/root");
  fs::create_directories(dir.path() + "/elsewhere");
  fs::create_directory_symlink(dir.path() + "/elsewhere", dir.path() + "/root/blobs");
  FakeClock clock;
  SeededRandom random(1);
  auto store = BlobStore::open(dir.path() + "/root", clock, random);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::kIo);
  EXPECT_NE(store.error().message.find("symlink"), std::string::npos) << store.error().message;
  EXPECT_EQ(countEntries(dir.path() + "/elsewhere"), 0u);
}

TEST(BlobStoreOpen, EmptyRootIsAnIoError) {
  FakeClock clock;
  SeededRandom random(1);
  auto store = BlobStore::open("", clock, random);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::kIo);
}

TEST_F(BlobStoreTest, CommittedBlobIsReadableAndReadOnly) {
  std::string content = "hello, registry";
  auto digest = put(content);

  ASSERT_TRUE(store_->exists(digest));
  auto size = store_->stat(digest);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, content.size());
  auto small = store_->readSmall(digest, 1024);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(*small, content);

  struct stat st;
  ASSERT_EQ(::stat(blobPath(digest).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444u);
  // Nothing of the upload is left behind.
  EXPECT_EQ(countEntries(uploadsDir()), 0u);
}

TEST_F(BlobStoreTest, OpenBlobReadsAtOffsets) {
  std::string content = patternBytes(3 * 1024 * 1024 + 17);
  auto digest = put(content);
  auto reader = store_->openBlob(digest);
  ASSERT_TRUE(reader.ok()) << errorOf(reader.error());
  EXPECT_EQ((*reader)->size(), content.size());

  std::string buf(100, '\0');
  auto n = (*reader)->readAt(1'000'000, buf.data(), buf.size());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 100u);
  EXPECT_EQ(buf, content.substr(1'000'000, 100));

  // A read straddling the end returns the tail, then 0 at the end.
  n = (*reader)->readAt(content.size() - 10, buf.data(), buf.size());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 10u);
  EXPECT_EQ(buf.substr(0, 10), content.substr(content.size() - 10));
  n = (*reader)->readAt(content.size(), buf.data(), buf.size());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_F(BlobStoreTest, ReaderOutlivesTheStore) {
  auto digest = put("still here");
  auto reader = store_->openBlob(digest);
  ASSERT_TRUE(reader.ok());
  store_.reset();
  char buf[32];
  auto n = (*reader)->readAt(0, buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "still here");
}

TEST_F(BlobStoreTest, MissingBlobIsBlobUnknown) {
  auto digest = oci::digestOf("never pushed");
  EXPECT_FALSE(store_->exists(digest));
  auto size = store_->stat(digest);
  ASSERT_FALSE(size.ok());
  EXPECT_EQ(size.error().code, ErrorCode::kBlobUnknown);
  auto reader = store_->openBlob(digest);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.error().code, ErrorCode::kBlobUnknown);
  auto small = store_->readSmall(digest, 10);
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.error().code, ErrorCode::kBlobUnknown);
}

TEST_F(BlobStoreTest, ReadSmallRefusesBlobsAboveTheCap) {
  auto digest = put("0123456789");
  auto tooBig = store_->readSmall(digest, 9);
  ASSERT_FALSE(tooBig.ok());
  EXPECT_EQ(tooBig.error().code, ErrorCode::kPayloadTooLarge);
  auto exact = store_->readSmall(digest, 10);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(*exact, "0123456789");
}

TEST_F(BlobStoreTest, EmptyBlobWorks) {
  std::string id = begin();
  auto empty = oci::digestOf("");
  ASSERT_EQ(empty.str(), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto info = store_->commitUpload(id, empty, noPublish());
  ASSERT_TRUE(info.ok()) << errorOf(info.error());
  EXPECT_EQ(info->size, 0u);
  EXPECT_TRUE(store_->exists(empty));
  auto small = store_->readSmall(empty, 0);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(*small, "");
  auto reader = store_->openBlob(empty);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->size(), 0u);
  char c;
  auto n = (*reader)->readAt(0, &c, 1);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_F(BlobStoreTest, Sha512BlobsLiveUnderTheirOwnDirectory) {
  std::string content = patternBytes(2 * 1024 * 1024 + 5);
  std::string id = begin();
  ASSERT_TRUE(store_->append(id, 0, sourceOf(content), UINT64_MAX).ok());
  auto digest = oci::digestOf(content, oci::DigestAlgorithm::kSha512);
  auto info = store_->commitUpload(id, digest, noPublish());
  ASSERT_TRUE(info.ok()) << errorOf(info.error());
  EXPECT_TRUE(fs::is_regular_file(blobPath(digest)));
  EXPECT_NE(blobPath(digest).find("/blobs/sha512/"), std::string::npos);
  EXPECT_TRUE(store_->exists(digest));
  EXPECT_FALSE(store_->exists(oci::digestOf(content)));  // stored once, under the digest it was pushed with
  auto back = store_->readSmall(digest, content.size());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, content);
}

TEST_F(BlobStoreTest, Sha512CommitStillVerifiesContent) {
  std::string id = begin();
  ASSERT_TRUE(store_->append(id, 0, sourceOf("actual"), UINT64_MAX).ok());
  auto wrong = oci::digestOf("claimed", oci::DigestAlgorithm::kSha512);
  auto info = store_->commitUpload(id, wrong, noPublish());
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kDigestInvalid);
  EXPECT_TRUE(store_->list().empty());
}

TEST_F(BlobStoreTest, ListReportsEveryBlobSorted) {
  std::vector<oci::Digest> digests = {put("a"), put("bb"), put("ccc")};
  std::string id = begin();
  ASSERT_TRUE(store_->append(id, 0, sourceOf("dddd"), UINT64_MAX).ok());
  auto d512 = oci::digestOf("dddd", oci::DigestAlgorithm::kSha512);
  ASSERT_TRUE(store_->commitUpload(id, d512, noPublish()).ok());
  // An upload in progress is not a blob.
  std::string pending = begin();
  ASSERT_TRUE(store_->append(pending, 0, sourceOf("pending"), UINT64_MAX).ok());

  auto blobs = store_->list();
  ASSERT_EQ(blobs.size(), 4u);
  std::sort(digests.begin(), digests.end(), [](auto& a, auto& b) { return a.hex() < b.hex(); });
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(blobs[i].digest, digests[i]);
  EXPECT_EQ(blobs[3].digest, d512);
  EXPECT_EQ(blobs[3].size, 4u);
  EXPECT_FALSE(store_->exists(oci::digestOf("pending")));
}

TEST_F(BlobStoreTest, ListIgnoresStrayFilesAndSymlinks) {
  auto digest = put("real");
  fs::create_directories(root() + "/blobs/sha256/zz");
  std::ofstream(root() + "/blobs/sha256/zz/not-a-digest") << "x";
  std::ofstream(root() + "/blobs/sha256/stray") << "x";
  auto other = oci::digestOf("outside");
  TempDir outside;
  std::ofstream(outside.path() + "/" + other.hex()) << "outside";
  fs::create_directory_symlink(outside.path(), root() + "/blobs/sha256/" + other.hex().substr(0, 2) + "x");
  auto blobs = store_->list();
  ASSERT_EQ(blobs.size(), 1u);
  EXPECT_EQ(blobs[0].digest, digest);
}

TEST_F(BlobStoreTest, SymlinkedShardIsNotFollowed) {
  // Someone plants blobs/sha256/<shard> -> a directory outside the root that
  // holds a file named like the digest. The store must not serve it.
  auto digest = oci::digestOf("secret");
  TempDir outside;
  std::ofstream(outside.path() + "/" + digest.hex()) << "secret";
  fs::create_directory_symlink(outside.path(), root() + "/blobs/sha256/" + digest.hex().substr(0, 2));
  EXPECT_FALSE(store_->exists(digest));
  auto reader = store_->openBlob(digest);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.error().code, ErrorCode::kBlobUnknown);
  EXPECT_TRUE(store_->list().empty());
}

TEST_F(BlobStoreTest, SymlinkedBlobFileIsNotFollowed) {
  auto digest = oci::digestOf("secret");
  TempDir outside;
  std::ofstream(outside.path() + "/target") << "secret";
  fs::create_directories(root() + "/blobs/sha256/" + digest.hex().substr(0, 2));
  fs::create_symlink(outside.path() + "/target", blobPath(digest));
  EXPECT_FALSE(store_->exists(digest));
  EXPECT_EQ(store_->readSmall(digest, 100).error().code, ErrorCode::kBlobUnknown);
  EXPECT_TRUE(store_->list().empty());

  // A real commit of that content replaces the planted link with the blob.
  EXPECT_EQ(put("secret"), digest);
  EXPECT_FALSE(fs::is_symlink(blobPath(digest)));
  EXPECT_EQ(*store_->readSmall(digest, 100), "secret");
  std::ifstream target(outside.path() + "/target");
  std::string kept((std::istreambuf_iterator<char>(target)), std::istreambuf_iterator<char>());
  EXPECT_EQ(kept, "secret");
}

TEST_F(BlobStoreTest, PublishRunsWithTheBlobVisibleAndItsErrorIsReturned) {
  std::string id = begin();
  ASSERT_TRUE(store_->append(id, 0, sourceOf("layer"), UINT64_MAX).ok());
  auto digest = oci::digestOf("layer");
  bool visibleDuringPublish = false;
  auto info = store_->commitUpload(id, digest, [&](const BlobInfo& blob) -> Status {
    EXPECT_EQ(blob.digest, digest);
    EXPECT_EQ(blob.size, 5u);
    visibleDuringPublish = store_->exists(digest);
    return Error::make(ErrorCode::kRepositoryNotFound, "repository went away");
  });
  EXPECT_TRUE(visibleDuringPublish);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kRepositoryNotFound);
  // The blob stays (the sweeper collects it if nothing references it) and the upload is gone.
  EXPECT_TRUE(store_->exists(digest));
  EXPECT_EQ(store_->uploadState(id).error().code, ErrorCode::kUploadNotFound);
  EXPECT_EQ(countEntries(uploadsDir()), 0u);
}

TEST_F(BlobStoreTest, SameContentCommittedTwiceKeepsOneBlobAndRefreshesItsAge) {
  auto digest = put("shared layer");
  clock_.advance(std::chrono::hours(5));
  auto again = put("shared layer");
  EXPECT_EQ(again, digest);
  EXPECT_EQ(store_->list().size(), 1u);
  EXPECT_EQ(countEntries(uploadsDir()), 0u);
  struct stat st;
  ASSERT_EQ(::stat(blobPath(digest).c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, std::chrono::system_clock::to_time_t(clock_.now()));
}

TEST_F(BlobStoreTest, TwoThreadsCommittingTheSameContentBothSucceed) {
  const std::string content = patternBytes(5 * 1024 * 1024);
  const auto digest = oci::digestOf(content);
  constexpr int kThreads = 4;
  std::vector<std::string> ids;
  for (int i = 0; i < kThreads; ++i) {
    ids.push_back(begin());
    ASSERT_TRUE(store_->append(ids.back(), 0, sourceOf(content, 65536), UINT64_MAX).ok());
  }
  std::atomic<int> inPublish{0}, maxInPublish{0}, published{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  std::vector<Result<BlobInfo>> results(kThreads, Error::make(ErrorCode::kInternal, "not run"));
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = store_->commitUpload(ids[i], digest, [&](const BlobInfo&) -> Status {
        int now = ++inPublish;
        maxInPublish = std::max(maxInPublish.load(), now);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        --inPublish;
        ++published;
        return okStatus();
      });
    });
  }
  for (auto& t : threads) t.join();
  for (auto& r : results) {
    ASSERT_TRUE(r.ok()) << errorOf(r.error());
    EXPECT_EQ(r->size, content.size());
  }
  EXPECT_EQ(published.load(), kThreads);  // every caller gets to record its reference
  EXPECT_EQ(maxInPublish.load(), 1);      // ...one at a time, under the digest's lock
  EXPECT_EQ(store_->list().size(), 1u);
  EXPECT_EQ(*store_->readSmall(digest, content.size()), content);
  EXPECT_EQ(countEntries(uploadsDir()), 0u);
}

}  // namespace
}  // namespace berth::blobstore::test
