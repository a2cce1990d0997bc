#pragma once
// Validation and normalisation of ECS RegisterTaskDefinition requests.
// Pure functions: no I/O, no clock, no randomness.
#include <cstddef>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::control {

// ECS service quota "Containers per task definition".
inline constexpr std::size_t kMaxContainersPerTaskDefinition = 10;
// Placement constraints per task (task definition + RunTask/CreateService).
inline constexpr std::size_t kMaxTaskPlacementConstraints = 10;

// Input: the RegisterTaskDefinition request body (ECS model botocore 1.29).
// JSON types are normally checked by the model-driven api layer already, but
// this function never throws on unexpected types: a wrong type becomes a
// kInvalidParameter error, an explicit JSON null is treated as "absent".
//
// Output: the task definition document to store, i.e. every request field
// that belongs to the TaskDefinition shape, normalised the way
// DescribeTaskDefinition reports it:
//  - fields not in the model are dropped, `tags` is dropped (stored apart);
//  - task cpu/memory become integer strings ("1 vCPU" -> "1024", "1GB" -> "1024");
//  - containers get essential=true, cpu=0, empty portMappings/environment/
//    mountPoints/volumesFrom; port mappings get protocol "tcp" and a hostPort
//    (containerPort for awsvpc/host, 0 = dynamic for bridge); health checks get
//    interval 30 / timeout 5 / retries 3;
//  - volumes and placementConstraints default to [];
//  - networkMode is reported only when the request set it (AWS omits the
//    implicit bridge default);
//  - compatibilities: "EC2" always, "FARGATE" when the definition would pass
//    Fargate validation, "EXTERNAL" when it would pass ECS Anywhere validation;
//  - requiresAttributes: the container-instance capabilities the definition
//    needs (docker-remote-api versions, logging drivers, task-eni, ecr-auth...).
// The caller adds taskDefinitionArn, revision, status, registeredAt, registeredBy.
//
// Errors use ErrorCode::kClient (ECS ClientException) for rule violations and
// ErrorCode::kInvalidParameter (InvalidParameterException) for malformed values,
// with AWS's wording where it is known; Error::context names the offending field.
Result<nlohmann::json> normalizeTaskDefinition(const nlohmann::json& request);

}  // namespace berth::control
