#pragma once
// What a registry needs from a pushed manifest or index: its media type and
// the content it references. Lenient where a registry must be (any config and
// layer media types, so OCI artifacts are accepted; unknown fields ignored)
// and strict where it matters (well-formed descriptors and digests, one
// media type the body and the Content-Type agree on, no schema 1).
// oci/manifest.h is the strict parser for images a node will run.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::registry {

struct ContentRef {
  std::string mediaType;
  std::string digest;  // validated "<algorithm>:<hex>"
  std::int64_t size = 0;
  // A layer that lives elsewhere (descriptor "urls": Windows foreign layers,
  // non-distributable content): not expected in the registry.
  bool external = false;
};

struct ManifestRefs {
  std::string mediaType;  // one of the four manifest/index media types
  // Neither the body nor the Content-Type named it; it was told from the shape.
  bool mediaTypeInferred = false;
  bool isIndex = false;
  std::optional<ContentRef> config;    // manifests only
  std::vector<ContentRef> layers;      // manifests only
  std::vector<ContentRef> manifests;   // indexes only
  std::optional<std::string> subject;  // OCI 1.1 subject digest
  // OCI 1.1 artifactType; for a manifest without one, its config media type
  // (the referrers API reports that, distribution-spec "Listing Referrers").
  std::string artifactType;
  nlohmann::json annotations;  // object, or null when absent

  // Config and layers that must be present in the repository, without duplicates, in order.
  std::vector<std::string> requiredBlobs() const;
};

// `contentType` is the HTTP Content-Type or ECR's imageManifestMediaType (may be
// empty or generic such as application/json). Errors: kPayloadTooLarge above
// 4 MiB; kManifestInvalid for everything else (not JSON, schema 1, media type
// conflict or unsupported, malformed descriptors).
Result<ManifestRefs> parseManifestRefs(std::string_view body, std::string_view contentType);

// The media type part of a Content-Type header ("type/subtype", parameters and blanks dropped).
std::string_view mediaTypeOf(std::string_view contentType);

}  // namespace berth::registry
