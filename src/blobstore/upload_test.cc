// Upload sessions: appends, offsets, limits, concurrency, cancel, hostile ids,
// digest verification and reloading after a restart.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "blobstore/blob_store.h"
#include "blobstore/testing/blob_store_fixture.h"

namespace berth::blobstore::test {
namespace {

namespace fs = std::filesystem;
constexpr std::size_t kMiB = 1024 * 1024;

// Serves `before`, then opens `entered` and blocks until `release` opens, then serves `after`.
ByteSource blockingSource(std::string before, Gate& entered, const Gate& release, std::string after = {}) {
  auto first = sourceOf(std::move(before));
  auto second = sourceOf(std::move(after));
  auto blocked = std::make_shared<bool>(false);
  return [=, &entered, &release](char* out, std::size_t max) -> Result<std::size_t> {
    if (!*blocked) {
      auto n = first(out, max);
      if (!n.ok() || *n > 0) return n;
      *blocked = true;
      entered.open();
      release.wait();
    }
    return second(out, max);
  };
}

class UploadTest : public BlobStoreTest {
 protected:
  void expectNothingVisible() {
    EXPECT_TRUE(store_->list().empty());
    EXPECT_EQ(countEntries(uploadsDir()), 0u);
  }
};

TEST_F(UploadTest, BeginCreatesAnEmptyUploadOnDisk) {
  auto u = store_->beginUpload();
  ASSERT_TRUE(u.ok()) << errorOf(u.error());
  EXPECT_EQ(u->size, 0u);
  EXPECT_EQ(u->startedAt, clock_.now());
  EXPECT_TRUE(fs::is_regular_file(uploadsDir() + "/" + u->id + "/data"));
  EXPECT_TRUE(fs::is_regular_file(uploadsDir() + "/" + u->id + "/started"));
  auto state = store_->uploadState(u->id);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->size, 0u);
  EXPECT_NE(store_->beginUpload()->id, u->id);
}

TEST_F(UploadTest, ChunkedAppendsAcrossBufferBoundariesCommit) {
  std::string content = patternBytes(3 * kMiB + 12345);
  std::string id = begin();
  // Uneven chunks and a source that hands out odd-sized pieces.
  std::size_t cuts[] = {0, 1, 700'000, 2 * kMiB + 3, content.size()};
  for (std::size_t i = 0; i + 1 < std::size(cuts); ++i) {
    auto n = store_->append(id, cuts[i], sourceOf(content.substr(cuts[i], cuts[i + 1] - cuts[i]), 77'777),
                            UINT64_MAX);
    ASSERT_TRUE(n.ok()) << errorOf(n.error());
    EXPECT_EQ(*n, cuts[i + 1]);
    EXPECT_EQ(store_->uploadState(id)->size, cuts[i + 1]);
  }
  auto digest = oci::digestOf(content);
  auto info = store_->commitUpload(id, digest, noPublish());
  ASSERT_TRUE(info.ok()) << errorOf(info.error());
  EXPECT_EQ(info->size, content.size());
  EXPECT_EQ(*store_->readSmall(digest, content.size()), content);
}

TEST_F(UploadTest, OffsetMismatchIsRangeNotSatisfiableAndAppendsNothing) {
  std::string id = begin();
  ASSERT_TRUE(store_->append(id, 0, sourceOf("abc"), UINT64_MAX).ok());
  int calls = 0;
  ByteSource counting = [&](char*, std::size_t) -> Result<std::size_t> {
    ++calls;
    return std::size_t{0};
  };
  for (std::uint64_t offset : {0u, 2u, 4u}) {
    auto n = store_->append(id, offset, counting, UINT64_MAX);
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.error().code, ErrorCode::kRangeNotSatisfiable);
    EXPECT_NE(n.error().message.find("offset 3"), std::string::npos) << n.error().message;
  }
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(store_->uploadState(id)->size, 3u);
  ASSERT_TRUE(store_->commitUpload(id, oci::digestOf("abc"), noPublish()).ok());
}

TEST_F(UploadTest, GrowingBeyondMaxTotalBytesCancelsTheUpload) {
  std::string id = begin();
  ASSERT_EQ(*store_->append(id, 0, sourceOf("123456"), 10), 6u);
  auto n = store_->append(id, 6, sourceOf("78901"), 10);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(store_->uploadState(id).error().code, ErrorCode::kUploadNotFound);
  expectNothingVisible();
}

TEST_F(UploadTest, ExactlyMaxTotalBytesIsAllowed) {
  std::string content = patternBytes(kMiB + 1);
  std::string id = begin();
  auto n = store_->append(id, 0, sourceOf(content), content.size());
  ASSERT_TRUE(n.ok()) << errorOf(n.error());
  EXPECT_EQ(*n, content.size());
}

TEST_F(UploadTest, OversizedLargeAppendIsCancelledWithoutFillingTheDisk) {
  std::string id = begin();
  auto n = store_->append(id, 0, sourceOf(patternBytes(3 * kMiB)), 2 * kMiB + 10);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, ErrorCode::kPayloadTooLarge);
  expectNothingVisible();
}

TEST_F(UploadTest, SourceErrorKeepsTheBytesReadBeforeIt) {
  std::string id = begin();
  auto n = store_->append(id, 0, failingAfter("hello", Error::make(ErrorCode::kIo, "client went away")), UINT64_MAX);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, ErrorCode::kIo);
  EXPECT_EQ(n.error().message, "client went away");
  EXPECT_EQ(store_->uploadState(id)->size, 5u);
  // File and hash agree: the client resumes and the commit verifies.
  ASSERT_TRUE(store_->append(id, 5, sourceOf("world"), UINT64_MAX).ok());
  auto info = store_->commitUpload(id, oci::digestOf("helloworld"), noPublish());
  ASSERT_TRUE(info.ok()) << errorOf(info.error());
  EXPECT_EQ(*store_->readSmall(info->digest, 100), "helloworld");
}

TEST_F(UploadTest, SourceErrorAfterSeveralBuffersKeepsEverythingRead) {
  std::string first = patternBytes(kMiB + kMiB / 2, 3);
  std::string rest = patternBytes(100'000, 4);
  std::string id = begin();
  auto n = store_->append(id, 0, failingAfter(first, Error::make(ErrorCode::kIo, "reset"), 65'536), UINT64_MAX);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(store_->uploadState(id)->size, first.size());
  ASSERT_TRUE(store_->append(id, first.size(), sourceOf(rest), UINT64_MAX).ok());
  ASSERT_TRUE(store_->commitUpload(id, oci::digestOf(first + rest), noPublish()).ok());
}

TEST_F(UploadTest, ConcurrentAppendAndCommitAreRefusedWhileAnAppendRuns) {
  std::string id = begin();
  std::future<Result<std::uint64_t>> appender;
  Gate entered, release;
  appender = std::async(std::launch::async, [&] {
    return store_->append(id, 0, blockingSource("abc", entered, release, "def"), UINT64_MAX);
  });
  ASSERT_TRUE(entered.waitFor());

  auto second = store_->append(id, 0, sourceOf("xyz"), UINT64_MAX);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kUploadInvalid);
  auto commit = store_->commitUpload(id, oci::digestOf("abcdef"), noPublish());
  ASSERT_FALSE(commit.ok());
  EXPECT_EQ(commit.error().code, ErrorCode::kUploadInvalid);
  EXPECT_TRUE(store_->uploadState(id).ok());  // status queries are not blocked by the append

  release.open();
  auto first = appender.get();
  ASSERT_TRUE(first.ok()) << errorOf(first.error());
  EXPECT_EQ(*first, 6u);
  // The refused requests changed nothing.
  ASSERT_TRUE(store_->commitUpload(id, oci::digestOf("abcdef"), noPublish()).ok());
}

TEST_F(UploadTest, CancelDuringAnAppendStopsIt) {
  std::string id = begin();
  std::future<Result<std::uint64_t>> appender;
  Gate entered, release;
  appender = std::async(std::launch::async, [&] {
    return store_->append(id, 0, blockingSource(patternBytes(kMiB + 10), entered, release, "x"), UINT64_MAX);
  });
  ASSERT_TRUE(entered.waitFor());
  ASSERT_TRUE(store_->cancelUpload(id).ok());
  release.open();
  auto result = appender.get();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUploadNotFound);
  expectNothingVisible();
}

TEST_F(UploadTest, CancelledUploadIsGone) {
  std::string id = begin();
  ASSERT_TRUE(store_->append(id, 0, sourceOf("abc"), UINT64_MAX).ok());
  ASSERT_TRUE(store_->cancelUpload(id).ok());
  EXPECT_EQ(store_->uploadState(id).error().code, ErrorCode::kUploadNotFound);
  EXPECT_EQ(store_->append(id, 3, sourceOf("d"), UINT64_MAX).error().code, ErrorCode::kUploadNotFound);
  EXPECT_EQ(store_->commitUpload(id, oci::digestOf("abc"), noPublish()).error().code, ErrorCode::kUploadNotFound);
  EXPECT_EQ(store_->cancelUpload(id).error().code, ErrorCode::kUploadNotFound);
  expectNothingVisible();
}

TEST_F(UploadTest, FinishedUploadIdIsGone) {
  std::string id = begin();
  ASSERT_TRUE(store_->append(id, 0, sourceOf("abc"), UINT64_MAX).ok());
  ASSERT_TRUE(store_->commitUpload(id, oci::digestOf("abc"), noPublish()).ok());
  EXPECT_EQ(store_->uploadState(id).error().code, ErrorCode::kUploadNotFound);
  EXPECT_EQ(store_->append(id, 3, sourceOf("d"), UINT64_MAX).error().code, ErrorCode::kUploadNotFound);
  EXPECT_EQ(store_->commitUpload(id, oci::digestOf("abc"), noPublish()).error().code, ErrorCode::kUploadNotFound);
}

TEST_F(UploadTest, HostileUploadIdsNeverReachTheFilesystem) {
  // root/evil looks exactly like an upload directory; "../evil" would name it.
  const std::string evil = root() + "/evil";
  fs::create_directories(evil);
  std::ofstream(evil + "/data") << "abc";
  std::ofstream(evil + "/started") << "1";
  for (const std::string& id : std::vector<std::string>{"../evil", "../evil/", "./../evil", "", "..", "uploads",
                                                      "/etc", std::string(36, 'a')}) {
    EXPECT_EQ(store_->uploadState(id).error().code, ErrorCode::kUploadNotFound) << id;
    EXPECT_EQ(store_->append(id, 3, sourceOf("d"), UINT64_MAX).error().code, ErrorCode::kUploadNotFound) << id;
    EXPECT_EQ(store_->commitUpload(id, oci::digestOf("abc"), noPublish()).error().code,
              ErrorCode::kUploadNotFound)
        << id;
    EXPECT_EQ(store_->cancelUpload(id).error().code, ErrorCode::kUploadNotFound) << id;
  }
  EXPECT_TRUE(fs::exists(evil + "/data"));
  EXPECT_EQ(fs::file_size(evil + "/data"), 3u);
  EXPECT_TRUE(store_->list().empty());
}

TEST_F(UploadTest, SymlinkedUploadDirectoryIsNotFollowed) {
  TempDir outside;
  std::ofstream(outside.path() + "/data") << "abc";
  const std::string id = "01234567-89ab-4def-8123-456789abcdef";
  fs::create_directory_symlink(outside.path(), uploadsDir() + "/" + id);
  EXPECT_EQ(store_->uploadState(id).error().code, ErrorCode::kUploadNotFound);
  EXPECT_EQ(store_->cancelUpload(id).error().code, ErrorCode::kUploadNotFound);
  EXPECT_EQ(fs::file_size(outside.path() + "/data"), 3u);
}

TEST_F(UploadTest, SymlinkedDataFileIsNotFollowed) {
  TempDir outside;
  std::ofstream(outside.path() + "/target") << "abc";
  const std::string id = "01234567-89ab-4def-8123-456789abcdef";
  fs::create_directories(uploadsDir() + "/" + id);
  fs::create_symlink(outside.path() + "/target", uploadsDir() + "/" + id + "/data");
  EXPECT_EQ(store_->uploadState(id).error().code, ErrorCode::kUploadNotFound);
  EXPECT_EQ(store_->append(id, 3, sourceOf("d"), UINT64_MAX).error().code, ErrorCode::kUploadNotFound);
  EXPECT_EQ(fs::file_size(outside.path() + "/target"), 3u);
}

TEST_F(UploadTest, WrongDigestDiscardsTheUpload) {
  std::string id = begin();
  ASSERT_TRUE(store_->append(id, 0, sourceOf("abc"), UINT64_MAX).ok());
  auto claimed = oci::digestOf("abd");
  auto info = store_->commitUpload(id, claimed, [](const BlobInfo&) -> Status {
    ADD_FAILURE() << "publish must not run for content that does not match";
    return okStatus();
  });
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kDigestInvalid);
  EXPECT_NE(info.error().message.find(oci::digestOf("abc").str()), std::string::npos) << info.error().message;
  EXPECT_NE(info.error().message.find(claimed.str()), std::string::npos) << info.error().message;
  EXPECT_FALSE(store_->exists(claimed));
  EXPECT_FALSE(store_->exists(oci::digestOf("abc")));
  EXPECT_EQ(store_->uploadState(id).error().code, ErrorCode::kUploadNotFound);
  expectNothingVisible();
}

TEST_F(UploadTest, TruncatedUploadLeavesNothingVisible) {
  std::string content = patternBytes(3 * kMiB);
  std::string id = begin();
  ASSERT_TRUE(store_->append(id, 0, sourceOf(content.substr(0, 2 * kMiB)), UINT64_MAX).ok());
  auto info = store_->commitUpload(id, oci::digestOf(content), noPublish());
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kDigestInvalid);
  EXPECT_FALSE(store_->exists(oci::digestOf(content)));
  expectNothingVisible();
}

TEST_F(UploadTest, CommitWithoutADigestIsRefused) {
  std::string id = begin();
  auto info = store_->commitUpload(id, oci::Digest(), noPublish());
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kDigestInvalid);
}

TEST_F(UploadTest, RestartReloadsAnUploadAndCommitStillVerifies) {
  std::string first = patternBytes(2 * kMiB + 333, 5);
  std::string second = patternBytes(1000, 6);
  std::string id = begin();
  auto startedAt = clock_.now();
  ASSERT_TRUE(store_->append(id, 0, sourceOf(first), UINT64_MAX).ok());
  clock_.advance(std::chrono::minutes(10));

  store_.reset();
  store_ = openStore();
  auto state = store_->uploadState(id);
  ASSERT_TRUE(state.ok()) << errorOf(state.error());
  EXPECT_EQ(state->size, first.size());
  EXPECT_EQ(state->startedAt, startedAt);

  EXPECT_EQ(store_->append(id, 0, sourceOf(second), UINT64_MAX).error().code, ErrorCode::kRangeNotSatisfiable);
  ASSERT_TRUE(store_->append(id, first.size(), sourceOf(second), UINT64_MAX).ok());
  auto info = store_->commitUpload(id, oci::digestOf(first + second), noPublish());
  ASSERT_TRUE(info.ok()) << errorOf(info.error());
  EXPECT_EQ(*store_->readSmall(info->digest, 4 * kMiB), first + second);
}

TEST_F(UploadTest, RestartedUploadWithWrongContentFailsVerification) {
  std::string id = begin();
  ASSERT_TRUE(store_->append(id, 0, sourceOf("abc"), UINT64_MAX).ok());
  store_.reset();
  store_ = openStore();
  auto info = store_->commitUpload(id, oci::digestOf("abd"), noPublish());
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kDigestInvalid);
  expectNothingVisible();
}

TEST_F(UploadTest, ReplayedRandomSeedAfterRestartDoesNotReuseALiveUploadId) {
  TempDir dir;
  SeededRandom firstRandom(99);
  auto first = BlobStore::open(dir.path(), clock_, firstRandom);
  ASSERT_TRUE(first.ok());
  auto existing = (*first)->beginUpload();
  ASSERT_TRUE(existing.ok());
  ASSERT_TRUE((*first)->append(existing->id, 0, sourceOf("keep me"), UINT64_MAX).ok());
  first->reset();

  SeededRandom replayed(99);
  auto second = BlobStore::open(dir.path(), clock_, replayed);
  ASSERT_TRUE(second.ok());
  auto fresh = (*second)->beginUpload();
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE(fresh->id, existing->id);
  EXPECT_EQ((*second)->uploadState(existing->id)->size, 7u);
}

TEST_F(UploadTest, DirectoryLeftWithoutDataIsNotAnUpload) {
  // What a crash between creating the directory and its data file leaves.
  const std::string id = "01234567-89ab-4def-8123-456789abcdef";
  fs::create_directories(uploadsDir() + "/" + id);
  EXPECT_EQ(store_->uploadState(id).error().code, ErrorCode::kUploadNotFound);
  EXPECT_EQ(store_->append(id, 0, sourceOf("a"), UINT64_MAX).error().code, ErrorCode::kUploadNotFound);
}

TEST_F(UploadTest, ManyConcurrentUploadsStayIndependent) {
  constexpr int kThreads = 6;
  std::vector<std::thread> threads;
  std::vector<std::string> failures(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        std::string content = patternBytes(50'000 + static_cast<std::size_t>(t * 1000 + i), t * 10 + i);
        auto u = store_->beginUpload();
        if (!u.ok()) return void(failures[t] = errorOf(u.error()));
        std::size_t half = content.size() / 2;
        auto a = store_->append(u->id, 0, sourceOf(content.substr(0, half)), UINT64_MAX);
        auto b = store_->append(u->id, half, sourceOf(content.substr(half)), UINT64_MAX);
        if (!a.ok() || !b.ok()) return void(failures[t] = "append failed");
        auto c = store_->commitUpload(u->id, oci::digestOf(content), noPublish());
        if (!c.ok()) return void(failures[t] = errorOf(c.error()));
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& f : failures) EXPECT_EQ(f, "");
  EXPECT_EQ(store_->list().size(), static_cast<std::size_t>(kThreads * 5));
  EXPECT_EQ(countEntries(uploadsDir()), 0u);
}

}  // namespace
}  // namespace berth::blobstore::test
