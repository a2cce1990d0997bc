#pragma once
// ECR repositories: the ECR API operations on repositories and their policies
// and tags, and the lookups the OCI distribution endpoints share. JSON ops take
// the request document shaped as the botocore ECR model's <Op>Request (types
// already checked by the protocol layer) and return the <Op>Response document.
// See keys.h for the stored documents.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "control/ecs_context.h"
#include "registry/repository_name.h"  // isValidRepositoryName, isValidTag, registryHost, repositoryArn

namespace berth::registry {

using control::EcsContext;

// The repository document, or kRepositoryNotFound with ECR's message
// ("The repository with name 'X' does not exist in the registry with id 'ACCOUNT'").
Result<nlohmann::json> findRepository(const EcsContext& ctx, std::string_view name);
// Checks a request's optional "registryId" names this account (else kRepositoryNotFound / kInvalidParameter as ECR does).
Status checkRegistryId(const EcsContext& ctx, const nlohmann::json& request);

// The repository a JSON request names: "registryId" checked, "repositoryName"
// validated (kInvalidParameter with ECR's pattern message), then looked up.
struct RepositoryRef {
  std::string name;
  control::CachedObject stored;  // the ecr/repos/<name> document and its revisions
};
Result<RepositoryRef> repositoryFromRequest(const EcsContext& ctx, const nlohmann::json& request);
// The ECR Repository shape of a stored repository document.
nlohmann::json renderRepository(const nlohmann::json& stored);
// Read-modify-write of the repository the request names: `mutate` edits a copy
// of its document (called again on every retry), which is committed with a
// compare on the revision it was read at. Returns the document as committed.
Result<nlohmann::json> mutateRepository(EcsContext& ctx, const nlohmann::json& request,
                                        const std::function<Status(nlohmann::json& doc)>& mutate);

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
