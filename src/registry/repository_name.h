#pragma once
// Names in ECR: repository names, image tags, the registry host and the
// repository ARN. Pure functions, no state.
#include <string>
#include <string_view>

#include "control/ecs_context.h"

namespace berth::registry {

// ECR repository name: 2–256 chars, lowercase path components separated by
// '/', each [a-z0-9]+ with single '.', '_' or '-' (also "__" and runs of '-', as
// the OCI name grammar allows) between alphanumerics.
bool isValidRepositoryName(std::string_view name);
// OCI tag: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
bool isValidTag(std::string_view tag);

// "<account>.dkr.ecr.<region>.amazonaws.com" — the host in repositoryUri.
std::string registryHost(const control::AccountInfo& account);
std::string repositoryArn(const control::AccountInfo& account, std::string_view name);

// ECR's InvalidParameterException texts for names that fail the patterns.
inline constexpr std::string_view kRepositoryNamePattern =
    "[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*";
inline constexpr std::string_view kImageTagPattern = "[a-zA-Z0-9-_.]+";
std::string invalidRepositoryNameMessage();
std::string invalidImageTagMessage();

}  // namespace berth::registry
