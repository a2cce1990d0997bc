#pragma once
// Images on a node: pulled through the OCI distribution API into a content
// store shared by all images, layers unpacked once, container roots stacked
// with overlayfs.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::images {

// ECS_IMAGE_PULL_BEHAVIOR.
enum class PullBehavior { kDefault, kAlways, kOnce, kPreferCached };

struct RegistryCredentials {
  std::string username;  // Basic auth / token-service credentials; empty = anonymous
  std::string password;
};

struct PullRequest {
  std::string image;  // as written in the container definition: [registry/]repo[:tag|@digest]
  PullBehavior behavior = PullBehavior::kDefault;
  std::optional<RegistryCredentials> credentials;
};

struct Image {
  std::string reference;             // normalized: registry/repo:tag or registry/repo@digest
  std::string manifestDigest;        // sha256:... of the platform manifest
  std::string configDigest;
  nlohmann::json config;             // the OCI image config's "config" object (Env, Entrypoint, Cmd, WorkingDir, User, StopSignal...)
  std::vector<std::string> layerDirs;  // unpacked layer directories, bottom first
  std::vector<std::string> layerDigests;  // blob digests of the layers, bottom first (same order)
};

class ImageStore {
 public:
  virtual ~ImageStore() = default;
  // Pulls (or reuses, per behavior) the image and unpacks its layers.
  // Errors carry a message suitable for "CannotPullContainerError: <message>".
  virtual Result<Image> pull(const PullRequest& request) = 0;
};

}  // namespace berth::images
