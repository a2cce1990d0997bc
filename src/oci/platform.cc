#include "oci/platform.h"

#include <cctype>

#include "oci/media_types.h"

namespace berth::oci {

Platform defaultPlatform() {
  Platform p;
  p.os = "linux";
  p.architecture = "amd64";
  return p;
}

Platform normalizePlatform(Platform p) {
  for (char& c : p.os) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (char& c : p.architecture) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (char& c : p.variant) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto& a = p.architecture;
  auto& v = p.variant;
  if (a == "x86_64" || a == "x86-64") {
    a = "amd64";
  } else if (a == "aarch64" || a == "arm64") {
    a = "arm64";
    if (v == "8") v = "v8";
  } else if (a == "armhf") {
    a = "arm";
    v = "v7";
  } else if (a == "armel") {
    a = "arm";
    v = "v6";
  } else if (a == "i386" || a == "i686") {
    a = "386";
  }
  if (a == "arm" && (v == "5" || v == "6" || v == "7" || v == "8")) v = "v" + v;
  // The baseline variant is what an unspecified variant means.
  if ((a == "amd64" && v == "v1") || (a == "arm64" && v == "v8")) v.clear();
  return p;
}

bool platformMatches(const Platform& haveIn, const Platform& wantIn) {
  Platform have = normalizePlatform(haveIn);
  Platform want = normalizePlatform(wantIn);
  if (have.os != want.os || have.architecture != want.architecture) return false;
  return have.variant.empty() || have.variant == want.variant;
}

Result<Descriptor> selectManifest(const Index& index, const Platform& wantIn) {
  Platform want = normalizePlatform(wantIn);
  const Descriptor* best = nullptr;
  int bestScore = 0;
  std::string available;
  for (const auto& d : index.manifests) {
    if (!d.platform || !isManifestMediaType(d.mediaType)) continue;
    Platform have = normalizePlatform(*d.platform);
    if (!available.empty()) available += ", ";
    available += have.str();
    if (!platformMatches(have, want)) continue;
    int score = have.variant == want.variant ? 2 : 1;
    if (score > bestScore) {
      best = &d;
      bestScore = score;
    }
  }
  if (best == nullptr) {
    return Error::make(ErrorCode::kNotFound,
                       "image has no manifest for platform " + want.str() +
                           (available.empty() ? std::string(" (no platforms listed)") : " (available: " + available + ")"));
  }
  return *best;
}

}  // namespace berth::oci
