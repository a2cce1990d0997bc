#include "api/ecr_api.h"

#include <cstdlib>

#include "api/oci_distribution_api.h"
#include "api/service_model.h"
#include "registry/image_ops.h"
#include "registry/lifecycle_ops.h"
#include "registry/repository_ops.h"

namespace berth::api {

AwsError ecrError(const Error& e) {
  auto as = [&](const char* type) { return AwsError{type, 400, e.message}; };
  switch (e.code) {
    case ErrorCode::kInvalidParameter:
    case ErrorCode::kManifestInvalid:
    case ErrorCode::kNameInvalid:
    case ErrorCode::kTagInvalid:
    case ErrorCode::kPayloadTooLarge:
    case ErrorCode::kDenied:
    case ErrorCode::kClient: return as("InvalidParameterException");
    case ErrorCode::kRepositoryNotFound: return as("RepositoryNotFoundException");
    case ErrorCode::kRepositoryAlreadyExists: return as("RepositoryAlreadyExistsException");
    case ErrorCode::kRepositoryNotEmpty: return as("RepositoryNotEmptyException");
    case ErrorCode::kImageNotFound: return as("ImageNotFoundException");
    case ErrorCode::kImageAlreadyExists: return as("ImageAlreadyExistsException");
    case ErrorCode::kImageTagAlreadyExists: return as("ImageTagAlreadyExistsException");
    case ErrorCode::kImageDigestDoesNotMatch: return as("ImageDigestDoesNotMatchException");
    // Only the layer API produces this on the ECR side (content vs layerDigests).
    case ErrorCode::kDigestInvalid: return as("InvalidLayerException");
    case ErrorCode::kLayersNotFound:
    case ErrorCode::kBlobUnknown: return as("LayersNotFoundException");
    case ErrorCode::kReferencedImagesNotFound: return as("ReferencedImagesNotFoundException");
    case ErrorCode::kUploadNotFound: return as("UploadNotFoundException");
    case ErrorCode::kUploadInvalid:
    case ErrorCode::kRangeNotSatisfiable: {
      // The layer API puts registryId, repositoryName, uploadId and
      // lastValidByteReceived in the context so clients can resume.
      AwsError out = as("InvalidLayerPartException");
      if (!e.context.empty() && e.context.front() == '{') {
        auto fields = nlohmann::json::parse(e.context, nullptr, false);
        if (fields.is_object()) out.fields = std::move(fields);
      }
      return out;
    }
    case ErrorCode::kEmptyUpload: return as("EmptyUploadException");
    case ErrorCode::kLayerPartTooSmall: return as("LayerPartTooSmallException");
    case ErrorCode::kLayerAlreadyExists: return as("LayerAlreadyExistsException");
    case ErrorCode::kLayerInaccessible: return as("LayerInaccessibleException");
    case ErrorCode::kLifecyclePolicyNotFound: return as("LifecyclePolicyNotFoundException");
    case ErrorCode::kLifecyclePolicyPreviewNotFound: return as("LifecyclePolicyPreviewNotFoundException");
    case ErrorCode::kLifecyclePolicyPreviewInProgress: return as("LifecyclePolicyPreviewInProgressException");
    case ErrorCode::kRepositoryPolicyNotFound: return as("RepositoryPolicyNotFoundException");
    case ErrorCode::kTooManyTags: return as("TooManyTagsException");
    case ErrorCode::kInvalidTagParameter: return as("InvalidTagParameterException");
    case ErrorCode::kUnsupported: return as("UnsupportedImageTypeException");
    case ErrorCode::kLimitExceeded: return as("LimitExceededException");
    default: return {"ServerException", 500, e.message.empty() ? "An internal error occurred." : e.message};
  }
}

JsonService makeEcrService(EcrServiceDeps deps) {
  JsonService s;
  const ServiceModel* model = ServiceModel::byTargetPrefix(kEcrTargetPrefix);
  if (!model) std::abort();  // compiled in; missing = build defect
  bindServiceModel(s, *model);
  s.mapError = ecrError;
  auto& ctx = deps.ctx;
  auto bind = [&ctx](Result<nlohmann::json> (*fn)(control::EcsContext&, const nlohmann::json&)) {
    return [&ctx, fn](const nlohmann::json& req, const SigV4Identity&) { return fn(ctx, req); };
  };
  auto* layers = &deps.layers;
  auto layerOp = [layers](Result<nlohmann::json> (registry::LayerUploadApi::*fn)(const nlohmann::json&)) {
    return [layers, fn](const nlohmann::json& req, const SigV4Identity&) { return (layers->*fn)(req); };
  };
  s.operations = {
      {"CreateRepository", bind(registry::createRepository)},
      {"DescribeRepositories", bind(registry::describeRepositories)},
      {"DeleteRepository", bind(registry::deleteRepository)},
      {"PutImageTagMutability", bind(registry::putImageTagMutability)},
      {"PutImageScanningConfiguration", bind(registry::putImageScanningConfiguration)},
      {"SetRepositoryPolicy", bind(registry::setRepositoryPolicy)},
      {"GetRepositoryPolicy", bind(registry::getRepositoryPolicy)},
      {"DeleteRepositoryPolicy", bind(registry::deleteRepositoryPolicy)},
      {"PutLifecyclePolicy", bind(registry::putLifecyclePolicy)},
      {"GetLifecyclePolicy", bind(registry::getLifecyclePolicy)},
      {"DeleteLifecyclePolicy", bind(registry::deleteLifecyclePolicy)},
      {"StartLifecyclePolicyPreview", bind(registry::startLifecyclePolicyPreview)},
      {"GetLifecyclePolicyPreview", bind(registry::getLifecyclePolicyPreview)},
      {"TagResource", bind(registry::tagResource)},
      {"UntagResource", bind(registry::untagResource)},
      {"ListTagsForResource", bind(registry::listTagsForResource)},
      {"ListImages", bind(registry::listImages)},
      {"DescribeImages", bind(registry::describeImages)},
      {"BatchGetImage", bind(registry::batchGetImage)},
      {"BatchDeleteImage", bind(registry::batchDeleteImage)},
      {"PutImage", bind(registry::putImage)},
      {"BatchCheckLayerAvailability", bind(registry::batchCheckLayerAvailability)},
      {"InitiateLayerUpload", layerOp(&registry::LayerUploadApi::initiateLayerUpload)},
      {"UploadLayerPart", layerOp(&registry::LayerUploadApi::uploadLayerPart)},
      {"CompleteLayerUpload", layerOp(&registry::LayerUploadApi::completeLayerUpload)},
  };
  const RegistryTokens* tokens = &deps.tokens;
  control::EcsContext* c = &ctx;
  // ECR answers with a pre-signed S3 URL that needs no other credentials; ours
  // is pre-signed with the caller's registry password (blob reads only).
  s.operations["GetDownloadUrlForLayer"] = [layers, tokens, c](const nlohmann::json& req,
                                                               const SigV4Identity& caller) -> Result<nlohmann::json> {
    auto r = layers->getDownloadUrlForLayer(req);
    if (!r.ok()) return r;
    auto token = tokens->issue(caller.accessKeyId, c->clock.now());
    if (!token.ok()) return token.takeError();
    auto& url = (*r)["downloadUrl"];
    url = url.get<std::string>() + "?" + OciDistributionApi::kDownloadTokenParam + "=" + token->password;
    return r;
  };
  s.operations["GetAuthorizationToken"] = [tokens, c, proxy = deps.proxyEndpoint](
                                              const nlohmann::json&, const SigV4Identity& caller) -> Result<nlohmann::json> {
    auto token = tokens->issue(caller.accessKeyId, c->clock.now());
    if (!token.ok()) return token.takeError();
    double expiresAt = std::chrono::duration<double>(token->expiresAt.time_since_epoch()).count();
    return nlohmann::json{{"authorizationData", nlohmann::json::array({{{"authorizationToken", token->authorizationToken},
                                                                        {"expiresAt", expiresAt},
                                                                        {"proxyEndpoint", proxy}}})}};
  };
  return s;
}

}  // namespace berth::api
