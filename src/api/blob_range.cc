#include "api/blob_range.h"

#include <algorithm>
#include <charconv>
#include <limits>

namespace berth::api::distribution {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whole string must be decimal digits that fit in 64 bits.
std::optional<std::uint64_t> parseU64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

class BlobRangeSource final : public BodySource {
 public:
  BlobRangeSource(std::unique_ptr<blobstore::BlobReader> reader, ByteRange range)
      : reader_(std::move(reader)), range_(range) {}
  std::uint64_t length() const override { return range_.length; }
  Result<std::size_t> read(char* out, std::size_t max) override {
    std::uint64_t left = range_.length - done_;
    if (left == 0) return std::size_t{0};
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, max));
    auto n = reader_->readAt(range_.start + done_, out, want);
    if (!n.ok()) return n;
    done_ += *n;
    return n;
  }

 private:
  std::unique_ptr<blobstore::BlobReader> reader_;
  ByteRange range_;
  std::uint64_t done_ = 0;
};

}  // namespace

RangeDecision evaluateRange(std::string_view header, std::uint64_t size) {
  header = trim(header);
  constexpr std::string_view kUnit = "bytes=";
  if (header.substr(0, kUnit.size()) != kUnit) return {};
  auto spec = trim(header.substr(kUnit.size()));
  if (spec.find(',') != std::string_view::npos) return {};
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return {};
  auto first = trim(spec.substr(0, dash));
  auto last = trim(spec.substr(dash + 1));

  if (first.empty()) {  // suffix: the last n bytes
    auto n = parseU64(last);
    if (!n) return {};
    if (*n == 0 || size == 0) return {RangeOutcome::kUnsatisfiable, {}};
    std::uint64_t len = std::min(*n, size);
    return {RangeOutcome::kPartial, {size - len, len}};
  }
  auto start = parseU64(first);
  if (!start) return {};
  std::optional<std::uint64_t> end;
  if (!last.empty()) {
    end = parseU64(last);
    if (!end || *end < *start) return {};  // invalid syntax per RFC 9110 14.1.1: ignore
  }
  if (*start >= size) return {RangeOutcome::kUnsatisfiable, {}};
  std::uint64_t endIncl = end ? std::min(*end, size - 1) : size - 1;
  return {RangeOutcome::kPartial, {*start, endIncl - *start + 1}};
}

std::optional<ChunkRange> parseChunkRange(std::string_view header) {
  header = trim(header);
  for (std::string_view prefix : {"bytes=", "bytes "})
    if (header.substr(0, prefix.size()) == prefix) header = trim(header.substr(prefix.size()));
  auto dash = header.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto start = parseU64(header.substr(0, dash));
  auto end = parseU64(header.substr(dash + 1));
  if (!start || !end || *end < *start) return std::nullopt;
  // length() = end - start + 1 must not wrap.
  if (*start == 0 && *end == std::numeric_limits<std::uint64_t>::max()) return std::nullopt;
  return ChunkRange{*start, *end};
}

std::optional<std::string> uploadRangeHeader(std::uint64_t size) {
  if (size == 0) return std::nullopt;
  return "0-" + std::to_string(size - 1);
}

std::shared_ptr<BodySource> blobBodySource(std::unique_ptr<blobstore::BlobReader> reader, ByteRange range) {
  return std::make_shared<BlobRangeSource>(std::move(reader), range);
}

}  // namespace berth::api::distribution
