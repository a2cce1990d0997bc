#pragma once
// Task-level size strings of RegisterTaskDefinition ("cpu", "memory") and the
// Fargate size table. ECS accepts either plain integers ("1024") or unit forms
// ("1 vCPU", ".25 vcpu", "1GB", "0.5 GB") and stores the integer form
// (CPU units, MiB) at registration (ECS API RegisterTaskDefinition cpu/memory docs).
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::control {

// CPU units: 1024 units = 1 vCPU.
inline constexpr std::int64_t kCpuUnitsPerVcpu = 1024;
// EC2 task-level cpu range. The 2023 API docs say 128..10240; newer docs allow
// up to 192 vCPU. We accept the wider range since the instance decides.
inline constexpr std::int64_t kMinTaskCpu = 128;
inline constexpr std::int64_t kMaxTaskCpu = 196608;

// Parses a task-level cpu string into CPU units. Accepted: "1024", "1 vCPU",
// "1vcpu", ".25 vCPU", "2 vcpus" (unit case-insensitive, whitespace optional).
// The value must be a positive whole number of units (".1 vcpu" = 102.4 fails).
// Errors: kInvalidParameter with AWS's "Invalid 'cpu' setting for task." text.
Result<std::int64_t> parseTaskCpu(std::string_view text);

// Parses a task-level memory string into MiB. Accepted: "512", "1GB", "1 GB",
// "0.5 gb", "1GiB", "512 MiB", "512MB" (GB and GiB both mean 1024 MiB, as ECS
// documents "1GB" = 1024). Errors: kInvalidParameter "Invalid 'memory' setting for task."
Result<std::int64_t> parseTaskMemory(std::string_view text);

// True when (cpu units, memory MiB) is a Linux Fargate task size
// (reference/ecs-tasks.md §5; 8 and 16 vCPU need platform 1.4.0, assumed).
bool isFargateTaskSize(std::int64_t cpu, std::int64_t memoryMiB);

// Memory sizes (MiB) Fargate offers for a task cpu value; empty if the cpu
// value itself is not a Fargate size.
std::vector<std::int64_t> fargateMemoryOptions(std::int64_t cpu);

}  // namespace berth::control
