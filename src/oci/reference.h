#pragma once
// Image references with Docker's normalisation rules
// (github.com/distribution/reference: normalize.go, reference.go):
//   busybox                       → docker.io/library/busybox:latest
//   user/app                      → docker.io/user/app:latest
//   localhost/app, host:5000/app  → the first component is a registry when it is
//   my.reg.io/app@sha256:...        "localhost" or contains '.' or ':' (or uppercase)
// An ECR name (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME) is just a reference
// here; redirecting it to Berth's registry is the puller's job (registryOverride).
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "oci/digest.h"

namespace berth::oci {

inline constexpr std::string_view kDockerHubDomain = "docker.io";
inline constexpr std::string_view kDockerHubEndpointHost = "registry-1.docker.io";

struct Reference {
  std::string registry;    // "docker.io", "127.0.0.1:5000", "[::1]:5000"
  std::string repository;  // "library/busybox"
  std::string tag;         // empty when pinned by digest only
  std::optional<Digest> digest;

  // Parses and normalises; errors are kInvalidParameter naming the problem.
  static Result<Reference> parse(std::string_view text);

  // "registry/repository[:tag][@digest]" — the canonical, fully-qualified form.
  std::string str() const;
  // What to ask the registry for: the digest if pinned, else the tag.
  std::string manifestReference() const { return digest ? digest->str() : tag; }
  // Host part of `registry` without the port ("[::1]:5000" → "::1").
  std::string registryHost() const;
};

}  // namespace berth::oci
