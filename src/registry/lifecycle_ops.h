#pragma once
// Lifecycle policy previews (ECR API) and the periodic application of every
// repository's lifecycle policy. Both evaluate with lifecycle_policy.h over the
// same facts, read from the image and tag documents (keys.h).
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/ecs_context.h"
#include "registry/lifecycle_policy.h"

namespace berth::registry {

// The repository's images with their tags (kRepositoryNotFound).
Result<std::vector<ImageFacts>> imageFactsOf(const control::EcsContext& ctx, std::string_view repository);

// StartLifecyclePolicyPreview: evaluates the given lifecyclePolicyText (or the
// repository's policy; none → LifecyclePolicyNotFoundException) now, stores the
// result (status COMPLETE) under keys::preview(repo) and answers
// {registryId, repositoryName, lifecyclePolicyText, status:"IN_PROGRESS"} as ECR does.
Result<nlohmann::json> startLifecyclePolicyPreview(control::EcsContext& ctx, const nlohmann::json& request);
// GetLifecyclePolicyPreview: {registryId, repositoryName, lifecyclePolicyText,
// status, previewResults:[{imageTags, imageDigest, imagePushedAt, action:{type:"EXPIRE"},
// appliedRulePriority}], summary:{expiringImageTotalCount}}; honours imageIds,
// filter.tagStatus, maxResults/nextToken. No preview → LifecyclePolicyPreviewNotFoundException.
Result<nlohmann::json> getLifecyclePolicyPreview(control::EcsContext& ctx, const nlohmann::json& request);

using ExpireImagesFn =
    std::function<Status(const std::string& repository, const std::vector<std::string>& digests)>;

struct LifecycleRunStats {
  std::size_t repositoriesEvaluated = 0;
  std::size_t imagesExpired = 0;
};

// Evaluates every repository that has a lifecycle policy and expires what it
// selects through `expire` (image_ops' deleteImages in production), then records
// lifecyclePolicyLastEvaluatedAt. Errors are logged per repository, not fatal.
LifecycleRunStats applyLifecyclePolicies(control::EcsContext& ctx, const ExpireImagesFn& expire);

}  // namespace berth::registry
