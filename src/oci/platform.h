#pragma once
// Choosing the manifest for this node from an image index (multi-arch image).
#include "common/result.h"
#include "oci/manifest.h"

namespace berth::oci {

// The platform Berth nodes run: linux/amd64.
Platform defaultPlatform();

// Canonical GOARCH spelling and default variant: x86_64 → amd64, aarch64 → arm64
// (variant v8), armhf/armel → arm (v7/v6), amd64 variant "v1" == "" etc.
Platform normalizePlatform(Platform p);

// Whether an image built for `have` runs on `want` (same os and architecture;
// a variant is compatible when equal, or when `have` names none).
bool platformMatches(const Platform& have, const Platform& want);

// Picks the index entry for `want`: an exact variant match beats an entry with no
// variant; ties go to the first entry (index order is the publisher's preference).
// Entries without a platform are skipped (e.g. attestation manifests), as are
// nested indexes. kNotFound lists the platforms that were available.
Result<Descriptor> selectManifest(const Index& index, const Platform& want);

}  // namespace berth::oci
