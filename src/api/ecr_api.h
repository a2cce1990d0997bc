#pragma once
// The ECR service (AmazonEC2ContainerRegistry_V20150921) on the JSON 1.1 router:
// repositories, images, the layer API, policies, lifecycle, tagging and
// GetAuthorizationToken (the login for the /v2/ registry endpoints).
#include <atomic>
#include <string>

#include "api/json_protocol_router.h"
#include "api/registry_token.h"
#include "control/ecs_context.h"
#include "registry/layer_ops.h"

namespace berth::api {

inline constexpr const char* kEcrTargetPrefix = "AmazonEC2ContainerRegistry_V20150921";

// ECR's exception names for berth error codes.
AwsError ecrError(const Error& error);

struct EcrServiceDeps {
  control::EcsContext& ctx;
  registry::LayerUploadApi& layers;
  const RegistryTokens& tokens;
  // GetAuthorizationToken's proxyEndpoint: where clients reach the registry
  // ("http://127.0.0.1:8080"; Berth's registry is this server, not *.amazonaws.com).
  std::string proxyEndpoint;
};

// Every implemented operation bound to `deps` (which must outlive the router).
JsonService makeEcrService(EcrServiceDeps deps);

}  // namespace berth::api
