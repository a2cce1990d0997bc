#pragma once
// Where the registry keeps its state in the store, and what each document holds.
// Repository names contain '/', so keys that put something after the name use
// a separator no repository name can contain ('@' before a digest, ':' before
// a tag), which keeps prefix scans of one repository exact.
//
// ecr/repos/<name>  (one per repository)
//   { "repositoryName", "repositoryArn", "registryId", "repositoryUri",
//     "createdAt": <epoch seconds, double>, "imageTagMutability": "MUTABLE"|"IMMUTABLE",
//     "imageScanningConfiguration": {"scanOnPush": bool},
//     "encryptionConfiguration": {"encryptionType": "AES256"|"KMS", "kmsKey"?},
//     "tags": [{"Key","Value"}],
//     "policyText"?: string, "lifecyclePolicyText"?: string,
//     "lifecyclePolicyLastEvaluatedAt"?: <epoch seconds> }
//
// ecr/images/<name>@<digest>  (one per manifest or index in the repository)
//   { "imageDigest": "sha256:…", "imageManifestMediaType": string,
//     "artifactMediaType"?: string (config media type, ECR's field),
//     "artifactType"?: string (OCI 1.1 artifactType, for referrers),
//     "manifest": string (the bytes exactly as pushed),
//     "imageSizeInBytes": int (sum of config+layer sizes; for an index the largest
//       of its images', as ECR reports a manifest list),
//     "imagePushedAt": <epoch seconds, double>,
//     "lastRecordedPullTime"?: <epoch seconds>,
//     "blobs": ["sha256:…"] (config + layers that must be linked; layers with
//       "urls" live elsewhere and are not listed),
//     "children": ["sha256:…"] (index entries' manifests),
//     "subject"?: "sha256:…",
//     "annotations"?: {…} }
//   Tags are NOT in this document (a tag move would touch two images); see below.
//
// ecr/tags/<name>:<tag>  → { "imageDigest": "sha256:…", "updatedAt": <epoch seconds> }
//
// ecr/links/<name>@<digest>  (a blob usable in this repository: uploaded to it,
//   mounted into it, or referenced by one of its manifests)
//   → { "size": int, "linkedAt": <epoch seconds>, "referencedAt"?: <epoch seconds>,
//       "mediaType"?: string (as the last manifest referencing it described it) }
//   Putting a manifest rewrites ("touches") the links it references, so a link
//   pruner that compares on the link's revision never removes a link that a
//   manifest committed after the pruner looked.
//
// ecr/lifecycle-previews/<name> → { "status": "IN_PROGRESS"|"COMPLETE"|"FAILED",
//   "lifecyclePolicyText", "previewResults": [...], "summary": {...}, "startedAt" }
#include <string>
#include <string_view>

namespace berth::registry::keys {

inline constexpr std::string_view kRepoPrefix = "ecr/repos/";
inline constexpr std::string_view kImagePrefix = "ecr/images/";
inline constexpr std::string_view kTagPrefix = "ecr/tags/";
inline constexpr std::string_view kLinkPrefix = "ecr/links/";
inline constexpr std::string_view kPreviewPrefix = "ecr/lifecycle-previews/";

inline std::string repo(std::string_view name) { return std::string(kRepoPrefix).append(name); }
inline std::string image(std::string_view name, std::string_view digest) {
  return std::string(kImagePrefix).append(name).append("@").append(digest);
}
inline std::string imagesOf(std::string_view name) { return std::string(kImagePrefix).append(name).append("@"); }
inline std::string tag(std::string_view name, std::string_view tag) {
  return std::string(kTagPrefix).append(name).append(":").append(tag);
}
inline std::string tagsOf(std::string_view name) { return std::string(kTagPrefix).append(name).append(":"); }
inline std::string link(std::string_view name, std::string_view digest) {
  return std::string(kLinkPrefix).append(name).append("@").append(digest);
}
inline std::string linksOf(std::string_view name) { return std::string(kLinkPrefix).append(name).append("@"); }
inline std::string preview(std::string_view name) { return std::string(kPreviewPrefix).append(name); }

}  // namespace berth::registry::keys
