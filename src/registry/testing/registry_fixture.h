#pragma once
// Test fixture for the registry: EcsFixture (real SQLite store, state cache,
// FakeClock) plus builders for repositories, linked blobs, manifests and indexes.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/testing/ecs_fixture.h"
#include "oci/digest.h"
#include "oci/media_types.h"
#include "registry/image_ops.h"
#include "registry/repository_ops.h"

namespace berth::registry::test {

using control::test::kAccount;
using control::test::mustOk;

struct Blob {
  std::string digest;
  std::int64_t size = 0;
};

inline Blob blobOf(const std::string& content) {
  return Blob{oci::digestOf(content).str(), static_cast<std::int64_t>(content.size())};
}

inline nlohmann::json descriptor(std::string_view mediaType, const Blob& b) {
  return nlohmann::json{{"mediaType", mediaType}, {"digest", b.digest}, {"size", b.size}};
}

class RegistryFixture : public control::test::EcsFixture {
 protected:
  nlohmann::json createRepo(const std::string& name, const std::string& mutability = "MUTABLE") {
    return mustOk(createRepository(ctx(), {{"repositoryName", name}, {"imageTagMutability", mutability}}),
                  "CreateRepository " + name);
  }

  Blob linked(const std::string& repo, const std::string& content) {
    Blob b = blobOf(content);
    mustOk(linkBlob(ctx(), repo, b.digest, static_cast<std::uint64_t>(b.size)), "linkBlob");
    return b;
  }

  // An image manifest over the given config and layers (already linked or not).
  static std::string manifestBody(const Blob& config, const std::vector<Blob>& layers,
                                  std::string_view mediaType = oci::kOciManifest,
                                  std::string_view configType = oci::kOciConfig,
                                  nlohmann::json extra = nlohmann::json::object()) {
    nlohmann::json m = {{"schemaVersion", 2}, {"mediaType", mediaType}, {"config", descriptor(configType, config)}};
    nlohmann::json ls = nlohmann::json::array();
    for (const auto& l : layers)
      ls.push_back(descriptor(mediaType == oci::kDockerManifest ? oci::kDockerLayerTarGzip : oci::kOciLayerTarGzip, l));
    m["layers"] = ls;
    m.update(extra);
    return m.dump();
  }

  static std::string indexBody(const std::vector<Blob>& manifests, std::string_view mediaType = oci::kOciIndex) {
    nlohmann::json ms = nlohmann::json::array();
    std::string_view childType = mediaType == oci::kDockerManifestList ? oci::kDockerManifest : oci::kOciManifest;
    for (const auto& m : manifests) ms.push_back(descriptor(childType, m));
    return nlohmann::json{{"schemaVersion", 2}, {"mediaType", mediaType}, {"manifests", ms}}.dump();
  }

  // Links a config and one layer derived from `seed` and returns the manifest.
  std::string imageBody(const std::string& repo, const std::string& seed, std::string_view mediaType = oci::kOciManifest) {
    Blob config = linked(repo, "config-" + seed);
    Blob layer = linked(repo, "layer-" + seed);
    return manifestBody(config, {layer}, mediaType,
                        mediaType == oci::kDockerManifest ? oci::kDockerConfig : oci::kOciConfig);
  }

  Result<PutManifestResult> put(const std::string& repo, const std::string& reference, const std::string& body,
                                const std::string& contentType = "") {
    return putManifest(ctx(), PutManifestRequest{repo, reference, contentType, body, std::nullopt, false});
  }

  // Pushes a fresh image (config + one layer from `seed`) under `reference`; returns its digest.
  std::string pushImage(const std::string& repo, const std::string& reference, const std::string& seed) {
    return mustOk(put(repo, reference, imageBody(repo, seed)), "putManifest " + reference).digest;
  }
};

}  // namespace berth::registry::test
