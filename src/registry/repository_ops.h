#pragma once
// ECR repositories: the ECR API operations on repositories and their policies
// and tags, and the lookups the OCI distribution endpoints share. JSON ops take
// the request document shaped as the botocore ECR model's <Op>Request (types
// already checked by the protocol layer) and return the <Op>Response document.
// See keys.h for the stored documents.
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "control/ecs_context.h"

namespace berth::registry {

using control::EcsContext;

// ECR repository name: 2–256 chars, lowercase path components separated by
// '/', each [a-z0-9]+ with single '.', '_' or '-' (also "__" and runs of '-', as
// the OCI name grammar allows) between alphanumerics.
bool isValidRepositoryName(std::string_view name);
// OCI tag: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
bool isValidTag(std::string_view tag);

// "<account>.dkr.ecr.<region>.amazonaws.com" — the host in repositoryUri.
std::string registryHost(const control::AccountInfo& account);
std::string repositoryArn(const control::AccountInfo& account, std::string_view name);

// The repository document, or kRepositoryNotFound with ECR's message
// ("The repository with name 'X' does not exist in the registry with id 'ACCOUNT'").
Result<nlohmann::json> findRepository(const EcsContext& ctx, std::string_view name);
// Checks a request's optional "registryId" names this account (else kRepositoryNotFound / kInvalidParameter as ECR does).
Status checkRegistryId(const EcsContext& ctx, const nlohmann::json& request);

Result<nlohmann::json> createRepository(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> describeRepositories(EcsContext& ctx, const nlohmann::json& request);
// Without "force" a repository that still holds images is kRepositoryNotEmpty;
// with it, images, tags, blob links and the lifecycle preview go too.
Result<nlohmann::json> deleteRepository(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> putImageTagMutability(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> putImageScanningConfiguration(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> setRepositoryPolicy(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> getRepositoryPolicy(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> deleteRepositoryPolicy(EcsContext& ctx, const nlohmann::json& request);
// Put validates the text with parseLifecyclePolicy (lifecycle_policy.h).
Result<nlohmann::json> putLifecyclePolicy(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> getLifecyclePolicy(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> deleteLifecyclePolicy(EcsContext& ctx, const nlohmann::json& request);
// Tagging on repository ARNs (ECR shapes: "resourceArn", "tags":[{"Key","Value"}], "tagKeys").
Result<nlohmann::json> tagResource(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> untagResource(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> listTagsForResource(EcsContext& ctx, const nlohmann::json& request);

}  // namespace berth::registry
