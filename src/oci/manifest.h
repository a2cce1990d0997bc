#pragma once
// Image manifests, indexes and configs (OCI image-spec manifest.md, image-index.md,
// config.md; Docker v2 schema 2 has the same shape). Parsing validates what Berth
// relies on and never throws: malformed input is a Result error.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "oci/digest.h"

namespace berth::oci {

struct Platform {
  std::string os;            // "linux"
  std::string architecture;  // GOARCH spelling: "amd64", "arm64"
  std::string variant;       // "v8", "v7", "v3"... empty when unspecified
  std::string osVersion;
  std::vector<std::string> osFeatures;
  std::string str() const;  // "linux/amd64[/variant]"
};

struct Descriptor {
  std::string mediaType;
  Digest digest;
  std::int64_t size = 0;
  std::vector<std::string> urls;
  std::optional<Platform> platform;  // only in index entries
  nlohmann::json annotations = nlohmann::json::object();
};

struct Manifest {
  std::string mediaType;  // kOciManifest or kDockerManifest
  Descriptor config;
  std::vector<Descriptor> layers;  // bottom first, each with a supported layer media type
};

struct Index {
  std::string mediaType;  // kOciIndex or kDockerManifestList
  std::vector<Descriptor> manifests;
};

struct ImageConfig {
  Platform platform;
  nlohmann::json config = nlohmann::json::object();  // Env, Entrypoint, Cmd, WorkingDir, User, StopSignal...
  std::vector<Digest> diffIds;                      // rootfs.diff_ids, bottom first
};

// Manifests and indexes larger than this are refused (OCI distribution spec
// suggests registries accept at least 4 MiB; anything larger is hostile).
inline constexpr std::size_t kMaxManifestBytes = 4 * 1024 * 1024;
// Image configs are bounded too: they are held in memory and in records.
inline constexpr std::size_t kMaxConfigBytes = 8 * 1024 * 1024;

// Parses a manifest or an index. `contentType` is the HTTP Content-Type (may be
// empty or a generic "application/json"); the body's own "mediaType" decides when
// present, and a conflicting specific Content-Type is an error (type confusion).
Result<std::variant<Manifest, Index>> parseManifestOrIndex(std::string_view body, std::string_view contentType = {});
Result<Manifest> parseManifest(std::string_view body, std::string_view contentType = {});
Result<Index> parseIndex(std::string_view body, std::string_view contentType = {});
Result<ImageConfig> parseImageConfig(std::string_view body);

}  // namespace berth::oci
