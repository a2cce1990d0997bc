#include "control/task_size.h"

#include <cctype>
#include <optional>
#include <string>

namespace berth::control {
namespace {

struct Unit {
  std::string_view suffix;  // lower case
  std::int64_t scale;
};

// Units per kind. The empty suffix is the bare integer form.
constexpr Unit kCpuUnits[] = {{"", 1}, {"vcpus", kCpuUnitsPerVcpu}, {"vcpu", kCpuUnitsPerVcpu}};
constexpr Unit kMemoryUnits[] = {{"", 1}, {"gib", 1024}, {"gb", 1024}, {"mib", 1}, {"mb", 1}};

// Enough digits for any realistic size while keeping every product below 2^63.
constexpr std::size_t kMaxIntegerDigits = 12;
constexpr std::size_t kMaxFractionDigits = 6;
// Values travel as Java ints in the ECS model; keep within int32.
constexpr std::int64_t kMaxValue = 2147483647;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool endsWithNoCase(std::string_view s, std::string_view lowerSuffix) {
  if (s.size() < lowerSuffix.size()) return false;
  auto tail = s.substr(s.size() - lowerSuffix.size());
  for (std::size_t i = 0; i < tail.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(tail[i])) != lowerSuffix[i]) return false;
  }
  return true;
}

// Exact decimal arithmetic: "0.25" * 1024 must give 256 without floating point
// rounding, and "0.1 vcpu" (102.4 units) must be rejected rather than truncated.
std::optional<std::int64_t> parseScaled(std::string_view text, const Unit* units, std::size_t unitCount) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  std::int64_t scale = 0;
  std::string_view number;
  // Longest suffix first is guaranteed by table order ("vcpus" before "vcpu").
  for (std::size_t i = 0; i < unitCount; ++i) {
    const Unit& u = units[i];
    if (u.suffix.empty()) continue;
    if (endsWithNoCase(text, u.suffix)) {
      scale = u.scale;
      number = trim(text.substr(0, text.size() - u.suffix.size()));
      break;
    }
  }
  if (scale == 0) {
    scale = units[0].scale;
    number = text;
  }
  if (number.empty()) return std::nullopt;

  const auto dot = number.find('.');
  std::string_view intPart = number.substr(0, dot);
  std::string_view fracPart = dot == std::string_view::npos ? std::string_view{} : number.substr(dot + 1);
  if (intPart.empty() && fracPart.empty()) return std::nullopt;
  if (intPart.size() > kMaxIntegerDigits || fracPart.size() > kMaxFractionDigits) return std::nullopt;

  std::int64_t ip = 0;
  for (char c : intPart) {
    if (c < '0' || c > '9') return std::nullopt;
    ip = ip * 10 + (c - '0');
  }
  std::int64_t fp = 0;
  std::int64_t denom = 1;
  for (char c : fracPart) {
    if (c < '0' || c > '9') return std::nullopt;
    fp = fp * 10 + (c - '0');
    denom *= 10;
  }
  if (ip > kMaxValue) return std::nullopt;
  const std::int64_t fracScaled = fp * scale;
  if (fracScaled % denom != 0) return std::nullopt;  // not a whole number of units
  const std::int64_t value = ip * scale + fracScaled / denom;
  if (value <= 0 || value > kMaxValue) return std::nullopt;
  return value;
}

}  // namespace

Result<std::int64_t> parseTaskCpu(std::string_view text) {
  auto v = parseScaled(text, kCpuUnits, std::size(kCpuUnits));
  if (!v) {
    return Error::make(ErrorCode::kInvalidParameter,
                       "Invalid 'cpu' setting for task. For more information, see the Troubleshooting "
                       "section of the Amazon ECS Developer Guide.",
                       "cpu");
  }
  return *v;
}

Result<std::int64_t> parseTaskMemory(std::string_view text) {
  auto v = parseScaled(text, kMemoryUnits, std::size(kMemoryUnits));
  if (!v) {
    return Error::make(ErrorCode::kInvalidParameter,
                       "Invalid 'memory' setting for task. For more information, see the Troubleshooting "
                       "section of the Amazon ECS Developer Guide.",
                       "memory");
  }
  return *v;
}

std::vector<std::int64_t> fargateMemoryOptions(std::int64_t cpu) {
  // (min, max, step) per cpu value; .25 vCPU is the one irregular row.
  struct Row {
    std::int64_t cpu, min, max, step;
  };
  constexpr Row kRows[] = {
      {512, 1024, 4096, 1024},      {1024, 2048, 8192, 1024},     {2048, 4096, 16384, 1024},
      {4096, 8192, 30720, 1024},    {8192, 16384, 61440, 4096},   {16384, 32768, 122880, 8192},
  };
  if (cpu == 256) return {512, 1024, 2048};
  for (const Row& r : kRows) {
    if (r.cpu != cpu) continue;
    std::vector<std::int64_t> out;
    for (std::int64_t m = r.min; m <= r.max; m += r.step) out.push_back(m);
    return out;
  }
  return {};
}

bool isFargateTaskSize(std::int64_t cpu, std::int64_t memoryMiB) {
  for (std::int64_t m : fargateMemoryOptions(cpu)) {
    if (m == memoryMiB) return true;
  }
  return false;
}

}  // namespace berth::control
