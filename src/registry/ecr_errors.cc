#include "registry/ecr_errors.h"

namespace berth::registry::ecr_errors {
namespace {

std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

// "[a, b]" as ECR lists digests in its messages.
std::string bracketList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += items[i];
  }
  return out + "]";
}

}  // namespace

Error invalidParameter(std::string message) { return Error::make(ErrorCode::kInvalidParameter, std::move(message)); }

Error repositoryNotFound(std::string_view registryId, std::string_view repository) {
  return Error::make(ErrorCode::kRepositoryNotFound, "The repository with name " + q(repository) +
                                                         " does not exist in the registry with id " + q(registryId),
                     std::string(repository));
}

Error repositoryAlreadyExists(std::string_view registryId, std::string_view repository) {
  return Error::make(ErrorCode::kRepositoryAlreadyExists, "The repository with name " + q(repository) +
                                                              " already exists in the registry with id " +
                                                              q(registryId),
                     std::string(repository));
}

Error repositoryNotEmpty(std::string_view registryId, std::string_view repository) {
  return Error::make(ErrorCode::kRepositoryNotEmpty,
                     "The repository with name " + q(repository) + " in registry with id " + q(registryId) +
                         " cannot be deleted because it still contains images",
                     std::string(repository));
}

Error repositoryPolicyNotFound(std::string_view registryId, std::string_view repository) {
  return Error::make(ErrorCode::kRepositoryPolicyNotFound,
                     "Repository policy does not exist for the repository with name " + q(repository) +
                         " in the registry with id " + q(registryId),
                     std::string(repository));
}

Error lifecyclePolicyNotFound(std::string_view registryId, std::string_view repository) {
  return Error::make(ErrorCode::kLifecyclePolicyNotFound,
                     "Lifecycle policy does not exist for the repository with name " + q(repository) +
                         " in the registry with id " + q(registryId),
                     std::string(repository));
}

Error imageNotFound(std::string_view registryId, std::string_view repository, const std::optional<std::string>& digest,
                    const std::optional<std::string>& tag) {
  std::string id = "{imageDigest:" + q(digest.value_or("null")) + ", imageTag:" + q(tag.value_or("null")) + "}";
  return Error::make(ErrorCode::kImageNotFound, "The image with imageId " + id +
                                                    " does not exist within the repository with name " +
                                                    q(repository) + " in the registry with id " + q(registryId),
                     std::string(repository));
}

Error requestedImageNotFound() { return Error::make(ErrorCode::kImageNotFound, std::string(kReasonImageNotFound)); }

Error imageTagAlreadyExists(std::string_view repository, std::string_view tag) {
  return Error::make(ErrorCode::kImageTagAlreadyExists,
                     "The image tag " + q(tag) + " already exists in the " + q(repository) +
                         " repository and cannot be overwritten because the repository is immutable.",
                     std::string(tag));
}

Error imageAlreadyExists(std::string_view registryId, std::string_view repository, std::string_view digest,
                         const std::optional<std::string>& tag) {
  return Error::make(ErrorCode::kImageAlreadyExists,
                     "Image with digest " + q(digest) + " and tag " + q(tag.value_or("null")) +
                         " already exists in the repository with name " + q(repository) + " in registry with id " +
                         q(registryId),
                     std::string(digest));
}

Error imageDigestDoesNotMatch(std::string_view provided, std::string_view computed) {
  return Error::make(ErrorCode::kImageDigestDoesNotMatch,
                     "Provided image digest " + q(provided) + " does not match the digest of the image manifest " +
                         q(computed),
                     std::string(provided));
}

Error layersNotFound(std::string_view registryId, std::string_view repository, const std::vector<std::string>& digests) {
  return Error::make(ErrorCode::kLayersNotFound,
                     "Layers with digests " + q(bracketList(digests)) +
                         " required for pushing image into repository with name " + q(repository) +
                         " in the registry with id " + q(registryId) + " do not exist",
                     digests.empty() ? std::string() : digests.front());
}

Error referencedImagesNotFound(std::string_view registryId, std::string_view repository,
                               const std::vector<std::string>& digests) {
  return Error::make(ErrorCode::kReferencedImagesNotFound,
                     "Images with digests " + q(bracketList(digests)) +
                         " required for pushing image into repository with name " + q(repository) +
                         " in the registry with id " + q(registryId) + " do not exist",
                     digests.empty() ? std::string() : digests.front());
}

Error blobUnknown(std::string_view digest) {
  return Error::make(ErrorCode::kBlobUnknown, "blob unknown to registry", std::string(digest));
}

std::string reasonInvalidDigest() {
  return "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'";
}

std::string reasonTagDoesNotMatchDigest() { return "Invalid request parameters: image tag does not match digest"; }

std::string reasonReferencedByManifestList(const std::vector<std::string>& parents) {
  return "Requested image referenced by manifest list: " + bracketList(parents);
}

}  // namespace berth::registry::ecr_errors
