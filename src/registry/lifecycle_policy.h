#pragma once
// ECR lifecycle policies: parsing with ECR's validation rules, and the pure
// evaluation that decides which images expire. The same evaluation serves the
// periodic run and the preview, so a preview always matches what the run would
// expire at the same instant.
//
// Semantics (ECR User Guide, "Lifecycle policy evaluation rules"):
// - rules apply in ascending rulePriority (unique); a "tagStatus":"any" rule must
//   carry the highest priority; at most one rule selects "untagged";
// - tagged rules need tagPrefixList or tagPatternList (not both); untagged rules
//   have neither; patterns use '*' wildcards (at most 4 per pattern); with
//   several prefixes/patterns an image must match all of them (each by some tag);
// - countType imageCountMoreThan keeps the newest countNumber images the rule
//   selects and expires the rest; sinceImagePushed expires images pushed more
//   than countNumber countUnit(s) ago (countUnit "days", required only here);
// - an image is expired by at most one rule; once a rule of higher priority
//   (lower number) selects an image, lower-priority rules do not expire it, but it
//   still counts toward their imageCountMoreThan totals;
// - oldest imagePushedAt goes first; ties broken by digest for determinism.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::registry {

enum class TagStatus { kTagged, kUntagged, kAny };
enum class CountType { kImageCountMoreThan, kSinceImagePushed };

struct LifecycleRule {
  int rulePriority = 0;
  std::string description;
  TagStatus tagStatus = TagStatus::kAny;
  std::vector<std::string> tagPrefixList;
  std::vector<std::string> tagPatternList;
  CountType countType = CountType::kImageCountMoreThan;
  std::string countUnit;  // "days" for sinceImagePushed
  long long countNumber = 0;
};

struct LifecyclePolicy {
  std::vector<LifecycleRule> rules;  // sorted by rulePriority
};

// kInvalidParameter with ECR's wording: "Invalid parameter at 'LifecyclePolicyText'
// failed to satisfy constraint: 'Lifecycle policy validation failure: <detail>'".
Result<LifecyclePolicy> parseLifecyclePolicy(std::string_view text);

struct ImageFacts {
  std::string digest;
  std::vector<std::string> tags;
  double pushedAt = 0;  // epoch seconds
  long long sizeInBytes = 0;
  std::string manifestMediaType;
  std::string artifactMediaType;
};

struct Expiration {
  std::string digest;
  std::vector<std::string> tags;
  double pushedAt = 0;
  int rulePriority = 0;
  long long sizeInBytes = 0;
  std::string manifestMediaType;
  std::string artifactMediaType;
};

// Which images the policy expires at `nowEpochSeconds`, oldest first.
std::vector<Expiration> evaluateLifecyclePolicy(const LifecyclePolicy& policy, const std::vector<ImageFacts>& images,
                                                double nowEpochSeconds);

}  // namespace berth::registry
