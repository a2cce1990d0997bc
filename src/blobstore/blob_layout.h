#pragma once
// Names inside the store's root (see blob_store.h for the layout). Everything
// that becomes a path component is produced or validated here, so nothing a
// client sends (upload ids, digests) can name a path outside the layout.
#include <optional>
#include <string>
#include <string_view>

#include "oci/digest.h"

namespace berth::blobstore::layout {

inline constexpr const char* kBlobsDir = "blobs";
inline constexpr const char* kUploadsDir = "uploads";
inline constexpr const char* kDataFile = "data";
inline constexpr const char* kStartedFile = "started";
// Committed blobs are immutable; the mode says so to anyone looking at the disk.
inline constexpr unsigned kBlobMode = 0444;

// Upload ids are lowercase RFC 4122 UUIDs ("8-4-4-4-12" hex), as Random::uuid()
// makes them. Anything else ("../x", "", uppercase) is refused before any path is built.
bool isUploadId(std::string_view id);

// "sha256" / "sha512": the directory under blobs/ for an algorithm.
std::string_view algorithmDir(oci::DigestAlgorithm algorithm);
// First two hex characters: spreads blobs over 256 directories per algorithm.
std::string shardName(const oci::Digest& digest);
// "blobs/sha256/ab/<hex>" relative to the root (for messages and tests).
std::string blobRelPath(const oci::Digest& digest);
// Turns an entry found at blobs/<alg>/<shard>/<name> back into a digest;
// nullopt for anything that is not a well-formed blob name in the right shard.
std::optional<oci::Digest> digestFromEntry(oci::DigestAlgorithm algorithm, std::string_view shard,
                                           std::string_view name);

}  // namespace berth::blobstore::layout
