#include "blobstore/blob_layout.h"

namespace berth::blobstore::layout {
namespace {

bool isLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

bool isUploadId(std::string_view id) {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    bool dashPosition = i == 8 || i == 13 || i == 18 || i == 23;
    if (dashPosition ? id[i] != '-' : !isLowerHex(id[i])) return false;
  }
  return true;
}

std::string_view algorithmDir(oci::DigestAlgorithm algorithm) {
  return algorithm == oci::DigestAlgorithm::kSha256 ? "sha256" : "sha512";
}

std::string shardName(const oci::Digest& digest) { return digest.hex().substr(0, 2); }

std::string blobRelPath(const oci::Digest& digest) {
  return std::string(kBlobsDir) + "/" + std::string(algorithmDir(digest.algorithm())) + "/" + shardName(digest) + "/" +
         digest.hex();
}

std::optional<oci::Digest> digestFromEntry(oci::DigestAlgorithm algorithm, std::string_view shard,
                                           std::string_view name) {
  if (name.substr(0, 2) != shard) return std::nullopt;
  auto parsed = oci::Digest::parse(std::string(algorithmDir(algorithm)) + ":" + std::string(name));
  if (!parsed.ok()) return std::nullopt;
  return std::move(parsed).value();
}

}  // namespace berth::blobstore::layout
