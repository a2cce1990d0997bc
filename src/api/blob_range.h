#pragma once
// Byte ranges for blob downloads (RFC 9110 section 14 Range / Content-Range) and
// chunked uploads (distribution-spec "Pushing a blob in chunks": PATCH carries
// `Content-Range: <start>-<end>`, inclusive, no unit), and the BodySource that
// streams a range of a committed blob.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/http_types.h"
#include "blobstore/blob_store.h"

namespace berth::api::distribution {

struct ByteRange {
  std::uint64_t start = 0;
  std::uint64_t length = 0;  // > 0
  std::uint64_t end() const { return start + length - 1; }  // inclusive
};

enum class RangeOutcome {
  kWhole,          // no Range, or one we ignore (other unit, several ranges, malformed): 200 with everything
  kPartial,        // one satisfiable range: 206
  kUnsatisfiable,  // 416 with Content-Range: bytes */<size>
};

struct RangeDecision {
  RangeOutcome outcome = RangeOutcome::kWhole;
  ByteRange range;  // for kPartial
};

// Evaluates a request's Range header value against a blob of `size` bytes.
// Supports "bytes=a-b", "bytes=a-" and "bytes=-n" (suffix). A syntactically
// invalid header or a multi-range is ignored (RFC 9110 14.2: a server MAY
// ignore Range), so clients always get a correct answer.
RangeDecision evaluateRange(std::string_view header, std::uint64_t size);

// Inclusive upload chunk range "<start>-<end>" (a leading "bytes " or "bytes="
// is tolerated, as some clients send it). nullopt when malformed or end < start.
struct ChunkRange {
  std::uint64_t start = 0;
  std::uint64_t end = 0;  // inclusive
  std::uint64_t length() const { return end - start + 1; }
};
std::optional<ChunkRange> parseChunkRange(std::string_view header);

// The value of a `Range: 0-<last>` upload progress header, or nullopt for an
// empty upload (the header is then omitted: "0--1" is meaningless).
std::optional<std::string> uploadRangeHeader(std::uint64_t size);

// Streams [range.start, range.start+range.length) of an opened blob.
std::shared_ptr<BodySource> blobBodySource(std::unique_ptr<blobstore::BlobReader> reader, ByteRange range);

}  // namespace berth::api::distribution
