// Garbage collection: grace period, references, upload expiry, and the digest
// lock that keeps sweep() from racing commits and reference records.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "blobstore/blob_store.h"
#include "blobstore/testing/blob_store_fixture.h"

namespace berth::blobstore::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// What the registry's metadata would say: the digests some manifest or layer record points at.
class References {
 public:
  void add(const oci::Digest& d) {
    std::lock_guard lock(mu_);
    refs_.insert(d.str());
  }
  bool has(const oci::Digest& d) const {
    std::lock_guard lock(mu_);
    return refs_.count(d.str()) != 0;
  }
  std::function<bool(const oci::Digest&)> predicate() const {
    return [this](const oci::Digest& d) { return has(d); };
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string> refs_;
};

const auto kNothingReferenced = [](const oci::Digest&) { return false; };

class SweepTest : public BlobStoreTest {};

TEST_F(SweepTest, UnreferencedBlobsAreRemovedOnlyAfterTheGracePeriod) {
  auto digest = put("orphan layer");
  clock_.advance(minutes(30));
  auto stats = store_->sweep(kNothingReferenced, hours(1), hours(24));
  EXPECT_EQ(stats.blobsExamined, 1u);
  EXPECT_EQ(stats.blobsRemoved, 0u);
  EXPECT_TRUE(store_->exists(digest));

  clock_.advance(minutes(30));  // exactly the grace period old
  stats = store_->sweep(kNothingReferenced, hours(1), hours(24));
  EXPECT_EQ(stats.blobsRemoved, 1u);
  EXPECT_EQ(stats.bytesRemoved, std::string("orphan layer").size());
  EXPECT_FALSE(store_->exists(digest));
  EXPECT_TRUE(store_->list().empty());
}

TEST_F(SweepTest, ReferencedBlobsAreKeptHoweverOld) {
  References refs;
  auto kept = put("referenced");
  auto dropped = put("unreferenced");
  refs.add(kept);
  clock_.advance(hours(24 * 365));
  auto stats = store_->sweep(refs.predicate(), hours(1), hours(24));
  EXPECT_EQ(stats.blobsExamined, 2u);
  EXPECT_EQ(stats.blobsRemoved, 1u);
  EXPECT_TRUE(store_->exists(kept));
  EXPECT_FALSE(store_->exists(dropped));
}

TEST_F(SweepTest, GraceRestartsWhenTheSameContentIsPushedAgain) {
  auto digest = put("re-pushed");
  clock_.advance(hours(2));
  put("re-pushed");
  clock_.advance(minutes(30));
  EXPECT_EQ(store_->sweep(kNothingReferenced, hours(1), hours(24)).blobsRemoved, 0u);
  EXPECT_TRUE(store_->exists(digest));
}

TEST_F(SweepTest, Sha512BlobsAreSweptToo) {
  std::string id = begin();
  ASSERT_TRUE(store_->append(id, 0, sourceOf("x"), UINT64_MAX).ok());
  auto digest = oci::digestOf("x", oci::DigestAlgorithm::kSha512);
  ASSERT_TRUE(store_->commitUpload(id, digest, noPublish()).ok());
  clock_.advance(hours(2));
  EXPECT_EQ(store_->sweep(kNothingReferenced, hours(1), hours(24)).blobsRemoved, 1u);
  EXPECT_FALSE(store_->exists(digest));
}

TEST_F(SweepTest, ReaderSurvivesTheSweepThatRemovesItsBlob) {
  std::string content = patternBytes(2 * 1024 * 1024);
  auto digest = put(content);
  auto reader = store_->openBlob(digest);
  ASSERT_TRUE(reader.ok());
  clock_.advance(hours(2));
  ASSERT_EQ(store_->sweep(kNothingReferenced, hours(1), hours(24)).blobsRemoved, 1u);
  ASSERT_FALSE(store_->exists(digest));

  std::string back(content.size(), '\0');
  std::size_t done = 0;
  while (done < back.size()) {
    auto n = (*reader)->readAt(done, back.data() + done, 100'000);
    ASSERT_TRUE(n.ok()) << errorOf(n.error());
    ASSERT_GT(*n, 0u);
    done += *n;
  }
  EXPECT_EQ(back, content);
}

TEST_F(SweepTest, UploadsExpireWhenUntouchedForTheExpiry) {
  std::string idle = begin();
  std::string active = begin();
  ASSERT_TRUE(store_->append(idle, 0, sourceOf("abc"), UINT64_MAX).ok());
  clock_.advance(minutes(50));
  ASSERT_TRUE(store_->append(active, 0, sourceOf("abc"), UINT64_MAX).ok());  // touched 50 minutes in
  clock_.advance(minutes(20));

  auto stats = store_->sweep(kNothingReferenced, hours(1), hours(1));
  EXPECT_EQ(stats.uploadsExpired, 1u);
  EXPECT_EQ(store_->uploadState(idle).error().code, ErrorCode::kUploadNotFound);
  EXPECT_FALSE(fs::exists(uploadsDir() + "/" + idle));
  EXPECT_EQ(store_->uploadState(active)->size, 3u);

  clock_.advance(hours(1));
  EXPECT_EQ(store_->sweep(kNothingReferenced, hours(1), hours(1)).uploadsExpired, 1u);
  EXPECT_EQ(countEntries(uploadsDir()), 0u);
}

TEST_F(SweepTest, UploadsFromBeforeARestartExpireByTheirLastAppend) {
  std::string id = begin();
  clock_.advance(minutes(40));
  ASSERT_TRUE(store_->append(id, 0, sourceOf("abc"), UINT64_MAX).ok());
  store_.reset();
  store_ = openStore();

  clock_.advance(minutes(40));  // 80 minutes since begin, 40 since the append
  EXPECT_EQ(store_->sweep(kNothingReferenced, hours(1), hours(1)).uploadsExpired, 0u);
  EXPECT_EQ(store_->uploadState(id)->size, 3u);

  store_.reset();
  store_ = openStore();
  clock_.advance(minutes(30));
  EXPECT_EQ(store_->sweep(kNothingReferenced, hours(1), hours(1)).uploadsExpired, 1u);
  EXPECT_EQ(store_->uploadState(id).error().code, ErrorCode::kUploadNotFound);
  EXPECT_EQ(countEntries(uploadsDir()), 0u);
}

TEST_F(SweepTest, CrashLeftoverUploadDirectoryIsRemovedOnceOld) {
  const std::string id = "01234567-89ab-4def-8123-456789abcdef";
  const std::string dir = uploadsDir() + "/" + id;
  fs::create_directories(dir);
  // Leftovers carry real mtimes; pin it to the fake clock's "now" for the test.
  struct timespec times[2] = {{std::chrono::system_clock::to_time_t(clock_.now()), 0},
                              {std::chrono::system_clock::to_time_t(clock_.now()), 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, dir.c_str(), times, 0), 0);
  EXPECT_EQ(store_->sweep(kNothingReferenced, hours(1), hours(1)).uploadsExpired, 0u);
  EXPECT_TRUE(fs::exists(dir));
  clock_.advance(hours(2));
  EXPECT_EQ(store_->sweep(kNothingReferenced, hours(1), hours(1)).uploadsExpired, 1u);
  EXPECT_FALSE(fs::exists(dir));
}

TEST_F(SweepTest, ForeignEntriesUnderUploadsAreLeftAlone) {
  fs::create_directories(uploadsDir() + "/not-an-upload");
  clock_.advance(hours(24 * 365));
  store_->sweep(kNothingReferenced, hours(1), hours(1));
  EXPECT_TRUE(fs::exists(uploadsDir() + "/not-an-upload"));
}

TEST_F(SweepTest, AnUploadBeingAppendedToIsNotExpired) {
  std::string id = begin();
  std::future<Result<std::uint64_t>> appender;
  Gate entered, release;
  auto blocked = std::make_shared<bool>(false);
  appender = std::async(std::launch::async, [&] {
    return store_->append(id, 0, [&, blocked](char* out, std::size_t) -> Result<std::size_t> {
      if (*blocked) return std::size_t{0};
      *blocked = true;
      entered.open();
      release.wait();
      out[0] = 'z';
      return std::size_t{1};
    }, UINT64_MAX);
  });
  ASSERT_TRUE(entered.waitFor());
  clock_.advance(hours(3));
  EXPECT_EQ(store_->sweep(kNothingReferenced, hours(1), hours(1)).uploadsExpired, 0u);
  release.open();
  ASSERT_TRUE(appender.get().ok());
  EXPECT_EQ(store_->uploadState(id)->size, 1u);
}

TEST_F(SweepTest, BlobPublishedDuringASweepIsNeverRemoved) {
  // Grace 0: only the digest lock stands between the sweeper and a blob whose
  // reference is being recorded by publish.
  References refs;
  std::string id = begin();
  ASSERT_TRUE(store_->append(id, 0, sourceOf("fresh layer"), UINT64_MAX).ok());
  auto digest = oci::digestOf("fresh layer");

  std::future<SweepStats> sweeper;
  auto info = store_->commitUpload(id, digest, [&](const BlobInfo& blob) -> Status {
    // The blob is already visible; start a sweep now and give it every chance
    // to see "unreferenced" before the reference is recorded.
    sweeper = std::async(std::launch::async, [&] { return store_->sweep(refs.predicate(), seconds(0), hours(1)); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    refs.add(blob.digest);
    return okStatus();
  });
  ASSERT_TRUE(info.ok()) << errorOf(info.error());
  auto stats = sweeper.get();
  EXPECT_EQ(stats.blobsExamined, 1u);
  EXPECT_EQ(stats.blobsRemoved, 0u);
  EXPECT_TRUE(store_->exists(digest));
}

TEST_F(SweepTest, WithBlobLockedKeepsTheSweeperOutUntilTheReferenceIsRecorded) {
  // A cross-repository mount: check the blob exists, then record a reference.
  References refs;
  auto digest = put("mounted layer");
  clock_.advance(hours(2));
  std::future<SweepStats> sweeper;
  bool existedWhileLocked = false;
  auto st = store_->withBlobLocked(digest, [&]() -> Status {
    sweeper = std::async(std::launch::async, [&] { return store_->sweep(refs.predicate(), hours(1), hours(1)); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    existedWhileLocked = store_->exists(digest);
    refs.add(digest);
    return okStatus();
  });
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(existedWhileLocked);
  EXPECT_EQ(sweeper.get().blobsRemoved, 0u);
  EXPECT_TRUE(store_->exists(digest));
}

TEST_F(SweepTest, WithBlobLockedReturnsTheFunctionsStatus) {
  auto st = store_->withBlobLocked(oci::digestOf("x"), [] { return Status(Error::make(ErrorCode::kDenied, "no")); });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kDenied);
}

TEST_F(SweepTest, ConcurrentPushesAndSweepsNeverLoseAPublishedBlob) {
  References refs;
  std::atomic<bool> done{false};
  auto sweeper = std::async(std::launch::async, [&] {
    std::size_t sweeps = 0;
    while (!done) {
      store_->sweep(refs.predicate(), seconds(0), hours(1));
      ++sweeps;
    }
    return sweeps;
  });
  constexpr int kThreads = 4;
  std::vector<std::thread> pushers;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    pushers.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        // Few distinct contents, so pushes of the same blob overlap.
        std::string content = "layer-" + std::to_string((t + i) % 3);
        auto u = store_->beginUpload();
        if (!u.ok() || !store_->append(u->id, 0, sourceOf(content), UINT64_MAX).ok()) {
          ++failures;
          continue;
        }
        auto info = store_->commitUpload(u->id, oci::digestOf(content), [&](const BlobInfo& b) -> Status {
          refs.add(b.digest);
          return okStatus();
        });
        if (!info.ok()) ++failures;
      }
    });
  }
  for (auto& p : pushers) p.join();
  done = true;
  EXPECT_GT(sweeper.get(), 0u);
  EXPECT_EQ(failures.load(), 0);
  for (int k = 0; k < 3; ++k) {
    auto digest = oci::digestOf("layer-" + std::to_string(k));
    EXPECT_TRUE(refs.has(digest));
    EXPECT_TRUE(store_->exists(digest)) << digest.str();
  }
}

}  // namespace
}  // namespace berth::blobstore::test
