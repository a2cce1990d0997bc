#pragma once
// ImageStoreImpl: the real ImageStore. Resolves the reference to a registry
// endpoint, pulls through RegistryClient into the ContentStore (every blob
// verified while streaming), unpacks layers once, and records the image so the
// ECS_IMAGE_PULL_BEHAVIOR modes work across agent restarts:
//   default       pull; if the pull fails and the image is cached, use the cache
//   always        pull; a failed pull fails
//   once          pull only if no previous pull of this reference is recorded
//   prefer-cached use the cached image if present, else pull
// (docs.aws.amazon.com/AmazonECS/latest/developerguide/pull-behavior.html)
#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "images/content_store.h"
#include "images/http_client.h"
#include "images/image_store.h"
#include "oci/manifest.h"
#include "oci/reference.h"

namespace berth::images {

struct ImageStoreOptions {
  std::string root;  // content store root (blobs, layers, image records)
  // Registry (as written in references, e.g. "123456789012.dkr.ecr.us-east-1.amazonaws.com"
  // or "docker.io") → base URL to use instead ("http://127.0.0.1:8080"). Lets the
  // agent send ECR-style names to Berth's own registry.
  std::map<std::string, std::string> registryOverride;
  // Consulted before registryOverride: a base URL for registries the caller
  // resolves itself (the agent: Berth's own registry under its ECR names).
  std::function<std::optional<std::string>(std::string_view registry)> resolveRegistry;
  // Credentials for a registry when the pull request carries none.
  std::function<std::optional<RegistryCredentials>(std::string_view registry)> credentialsFor;
  // Registries ("host[:port]") reached over plain http. localhost, 127.0.0.0/8 and
  // ::1 are always plain http, like Docker's default insecure set.
  std::vector<std::string> insecureRegistries;
  HttpClientOptions http;
  oci::Platform platform;  // empty = linux/amd64
  bool syncLayers = true;
  const Clock* clock = nullptr;  // not owned; nullptr = system clock
};

class ImageStoreImpl final : public ImageStore {
 public:
  static Result<std::unique_ptr<ImageStoreImpl>> open(ImageStoreOptions options);

  Result<Image> pull(const PullRequest& request) override;
  // The recorded image for a reference, without any network access (kNotFound).
  Result<Image> cached(const std::string& image);
  // Base URL the reference's registry is reached at.
  Result<std::string> endpointFor(const oci::Reference& ref) const;

  ContentStore& contentStore() { return *store_; }

 private:
  ImageStoreImpl(ImageStoreOptions options, std::unique_ptr<ContentStore> store);
  Result<Image> pullRemote(const oci::Reference& ref, const PullRequest& request);
  Result<Image> loadCached(const std::string& key);
  Result<Image> imageFromRecord(const ImageRecord& record);

  ImageStoreOptions options_;
  std::unique_ptr<ContentStore> store_;
  SystemClock systemClock_;
  const Clock* clock_;
};

}  // namespace berth::images
