#include "api/blob_range.h"

#include <gtest/gtest.h>

#include <cstring>

namespace berth::api::distribution {
namespace {

TEST(BlobRange, NoOrIgnoredRangeServesEverything) {
  EXPECT_EQ(evaluateRange("", 10).outcome, RangeOutcome::kWhole);
  EXPECT_EQ(evaluateRange("items=0-1", 10).outcome, RangeOutcome::kWhole);
  EXPECT_EQ(evaluateRange("bytes=0-1,4-5", 10).outcome, RangeOutcome::kWhole);  // multi-range: ignored
  EXPECT_EQ(evaluateRange("bytes=5-2", 10).outcome, RangeOutcome::kWhole);      // invalid: ignored
  EXPECT_EQ(evaluateRange("bytes=x-", 10).outcome, RangeOutcome::kWhole);
}

TEST(BlobRange, SatisfiableRanges) {
  auto d = evaluateRange("bytes=2-5", 10);
  ASSERT_EQ(d.outcome, RangeOutcome::kPartial);
  EXPECT_EQ(d.range.start, 2u);
  EXPECT_EQ(d.range.length, 4u);
  EXPECT_EQ(d.range.end(), 5u);

  d = evaluateRange("bytes=7-", 10);
  ASSERT_EQ(d.outcome, RangeOutcome::kPartial);
  EXPECT_EQ(d.range.start, 7u);
  EXPECT_EQ(d.range.length, 3u);

  d = evaluateRange("bytes=8-100", 10);  // end clamped to the size
  ASSERT_EQ(d.outcome, RangeOutcome::kPartial);
  EXPECT_EQ(d.range.end(), 9u);

  d = evaluateRange("bytes=-3", 10);  // suffix
  ASSERT_EQ(d.outcome, RangeOutcome::kPartial);
  EXPECT_EQ(d.range.start, 7u);
  EXPECT_EQ(d.range.length, 3u);

  d = evaluateRange("bytes=-30", 10);
  ASSERT_EQ(d.outcome, RangeOutcome::kPartial);
  EXPECT_EQ(d.range.start, 0u);
  EXPECT_EQ(d.range.length, 10u);
}

TEST(BlobRange, Unsatisfiable) {
  EXPECT_EQ(evaluateRange("bytes=10-", 10).outcome, RangeOutcome::kUnsatisfiable);
  EXPECT_EQ(evaluateRange("bytes=0-", 0).outcome, RangeOutcome::kUnsatisfiable);
  EXPECT_EQ(evaluateRange("bytes=-0", 10).outcome, RangeOutcome::kUnsatisfiable);
  EXPECT_EQ(evaluateRange("bytes=18446744073709551615-", 10).outcome, RangeOutcome::kUnsatisfiable);
  // Larger than 64 bits: malformed, ignored.
  EXPECT_EQ(evaluateRange("bytes=99999999999999999999-", 10).outcome, RangeOutcome::kWhole);
}

TEST(BlobRange, ChunkRanges) {
  auto c = parseChunkRange("0-1023");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->start, 0u);
  EXPECT_EQ(c->length(), 1024u);
  EXPECT_TRUE(parseChunkRange("bytes 5-5"));
  EXPECT_TRUE(parseChunkRange("bytes=5-9"));
  EXPECT_FALSE(parseChunkRange("5-4"));
  EXPECT_FALSE(parseChunkRange("5"));
  EXPECT_FALSE(parseChunkRange("-5"));
  EXPECT_FALSE(parseChunkRange("a-b"));
  EXPECT_FALSE(parseChunkRange("0-18446744073709551615"));  // length would wrap
}

TEST(BlobRange, UploadRangeHeader) {
  EXPECT_FALSE(uploadRangeHeader(0));
  EXPECT_EQ(uploadRangeHeader(1), "0-0");
  EXPECT_EQ(uploadRangeHeader(10), "0-9");
}

class StringReader final : public blobstore::BlobReader {
 public:
  explicit StringReader(std::string data) : data_(std::move(data)) {}
  std::uint64_t size() const override { return data_.size(); }
  Result<std::size_t> readAt(std::uint64_t offset, char* out, std::size_t max) override {
    if (offset >= data_.size()) return std::size_t{0};
    std::size_t n = std::min<std::size_t>(max, data_.size() - offset);
    std::memcpy(out, data_.data() + offset, n);
    return n;
  }

 private:
  std::string data_;
};

TEST(BlobRange, BodySourceStreamsExactlyTheRange) {
  auto source = blobBodySource(std::make_unique<StringReader>("0123456789"), ByteRange{3, 5});
  EXPECT_EQ(source->length(), 5u);
  std::string got;
  char buf[2];
  while (true) {
    auto n = source->read(buf, sizeof buf);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    got.append(buf, *n);
  }
  EXPECT_EQ(got, "34567");
}

}  // namespace
}  // namespace berth::api::distribution
