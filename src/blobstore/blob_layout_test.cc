#include "blobstore/blob_layout.h"

#include <gtest/gtest.h>

#include "common/random.h"

namespace berth::blobstore::layout {
namespace {

TEST(BlobLayout, GeneratedUploadIdsAreAccepted) {
  SeededRandom random(3);
  for (int i = 0; i < 200; ++i) {
    std::string id = random.uuid();
    EXPECT_TRUE(isUploadId(id)) << id;
  }
}

TEST(BlobLayout, HostileOrMalformedUploadIdsAreRefused) {
  for (const char* id : {"", "../x", "..", ".", "/etc/passwd", "uploads/../../x",
                         "0123456789ab-cdef-0123-4567-89abcdef0123",   // dashes in the wrong places
                         "01234567-89AB-cdef-0123-456789abcdef",       // uppercase
                         "01234567-89ab-cdef-0123-456789abcdef0",      // too long
                         "01234567-89ab-cdef-0123-456789abcde",        // too short
                         "01234567-89ab-cdef-0123-456789abcde/",       // separator
                         "01234567-89ab-cdef-0123-456789abcdeg"}) {   // not hex
    EXPECT_FALSE(isUploadId(id)) << id;
  }
  EXPECT_TRUE(isUploadId("01234567-89ab-cdef-0123-456789abcdef"));
}

TEST(BlobLayout, BlobPathsAreShardedByAlgorithmAndPrefix) {
  auto d256 = oci::digestOf("hello");
  EXPECT_EQ(blobRelPath(d256), "blobs/sha256/" + d256.hex().substr(0, 2) + "/" + d256.hex());
  auto d512 = oci::digestOf("hello", oci::DigestAlgorithm::kSha512);
  EXPECT_EQ(blobRelPath(d512), "blobs/sha512/" + d512.hex().substr(0, 2) + "/" + d512.hex());
}

TEST(BlobLayout, DigestFromEntryOnlyAcceptsWellFormedNamesInTheirShard) {
  auto d = oci::digestOf("hello");
  std::string shard = d.hex().substr(0, 2);
  auto parsed = digestFromEntry(oci::DigestAlgorithm::kSha256, shard, d.hex());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, d);

  std::string otherShard = shard == "00" ? "01" : "00";
  EXPECT_FALSE(digestFromEntry(oci::DigestAlgorithm::kSha256, otherShard, d.hex()));
  EXPECT_FALSE(digestFromEntry(oci::DigestAlgorithm::kSha512, shard, d.hex()));  // sha256 length under sha512/
  EXPECT_FALSE(digestFromEntry(oci::DigestAlgorithm::kSha256, shard, d.hex() + ".tmp"));
  std::string upper = d.hex();
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_FALSE(digestFromEntry(oci::DigestAlgorithm::kSha256, upper.substr(0, 2), upper));
}

}  // namespace
}  // namespace berth::blobstore::layout
