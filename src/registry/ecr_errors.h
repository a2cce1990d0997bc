#pragma once
// ECR's error messages, worded as ECR words them (the api layer picks the
// exception name from the code; clients and scripts match on these texts).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::registry::ecr_errors {

Error invalidParameter(std::string message);
Error repositoryNotFound(std::string_view registryId, std::string_view repository);
Error repositoryAlreadyExists(std::string_view registryId, std::string_view repository);
Error repositoryNotEmpty(std::string_view registryId, std::string_view repository);
Error repositoryPolicyNotFound(std::string_view registryId, std::string_view repository);
Error lifecyclePolicyNotFound(std::string_view registryId, std::string_view repository);
// DescribeImages / ECR API: names the image id as ECR prints it,
// "{imageDigest:'…', imageTag:'…'}" with 'null' for a missing member.
Error imageNotFound(std::string_view registryId, std::string_view repository,
                    const std::optional<std::string>& digest, const std::optional<std::string>& tag);
// The /v2/ manifest endpoints (MANIFEST_UNKNOWN): ECR says only this.
Error requestedImageNotFound();
Error imageTagAlreadyExists(std::string_view repository, std::string_view tag);
Error imageAlreadyExists(std::string_view registryId, std::string_view repository, std::string_view digest,
                         const std::optional<std::string>& tag);
Error imageDigestDoesNotMatch(std::string_view provided, std::string_view computed);
Error layersNotFound(std::string_view registryId, std::string_view repository, const std::vector<std::string>& digests);
Error referencedImagesNotFound(std::string_view registryId, std::string_view repository,
                               const std::vector<std::string>& digests);
Error blobUnknown(std::string_view digest);

// BatchGetImage / BatchDeleteImage failure reasons.
inline constexpr std::string_view kReasonImageNotFound = "Requested image not found";
inline constexpr std::string_view kReasonMissingDigestAndTag =
    "Invalid request parameters: both tag and digest cannot be null";
std::string reasonInvalidDigest();
std::string reasonTagDoesNotMatchDigest();
std::string reasonReferencedByManifestList(const std::vector<std::string>& parents);

}  // namespace berth::registry::ecr_errors
